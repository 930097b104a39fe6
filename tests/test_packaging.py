"""The package as `pip install` installs it (not the checkout the tests import): a deployment
gets every file the service reads. `make test` installs it in `.venv-deploy` from this tree,
as docs/deployment.md does.
"""

from __future__ import annotations

from pathlib import Path

from syndicate import __version__
from tests.live import DEPLOY_PYTHON, ROOT, python_for

SOURCE = ROOT / "syndicate"


def files(top: Path) -> set[str]:
    return {
        str(path.relative_to(top))
        for path in top.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def installed_package() -> Path:
    python_for("nobody")  # skips (fails under CI) without the deployment's Python
    found = sorted((DEPLOY_PYTHON.parent.parent / "lib").glob("python3*/site-packages/syndicate"))
    assert found, "syndicate is not installed in the deployment's environment"
    return found[0]


def test_the_installed_package_holds_every_file_of_the_source_tree():
    tracked = files(SOURCE)
    missing = sorted(tracked - files(installed_package()))
    assert not missing, (
        f"not installed by pip (pyproject.toml's package-data), or the install is older than "
        f"the tree (make .venv-deploy/.installed): {missing}"
    )


def test_the_installed_package_is_this_version():
    text = (installed_package() / "__init__.py").read_text()
    assert __version__ in text
