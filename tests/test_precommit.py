"""Our `.pre-commit-hooks.yaml`, run by pre-commit itself as a content repository runs it:
valid content passes, a mistake or a removed item stops the commit with the located
message, a newly published item is recorded in published.json (the commit stops once, as
for every hook that fixes files, and passes with the record added)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"  # installed by `make test`


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org", *args],
        cwd=repo, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """This project as the repository a content repository names in its pre-commit
    configuration (what pre-commit installs from: the package and the hooks file, as in the
    working tree), the revision, and pre-commit's cache, shared by the module so that the
    hook's environment is built once."""
    folder = tmp_path_factory.mktemp("syndicate-tool")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "syndicate", folder / "syndicate",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "syndicate")
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()
    return folder, revision, tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def repo(tmp_path: Path, tool: tuple[Path, str, Path]) -> Iterator[Path]:
    """A content repository whose pre-commit configuration runs our hook, as the docs say."""
    folder = tmp_path / "content-repo"
    folder.mkdir()
    git(folder, "init", "-q")
    shutil.copytree(SAMPLE, folder / "feeds_config")
    (folder / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {tool[0]}\n    rev: {tool[1]}\n    hooks:\n"
        "      - id: syndicate-check\n"
    )
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "content")
    yield folder


def hook(repo: Path, tool: tuple[Path, str, Path]) -> subprocess.CompletedProcess[str]:
    """`pre-commit run` in the content repository, on what is staged."""
    environment = {**os.environ, "PRE_COMMIT_HOME": str(tool[2])}
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files"],
        cwd=repo, env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_valid_content_passes(repo: Path, tool: tuple[Path, str, Path]):
    result = hook(repo, tool)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "syndicate check" in result.stdout and "Passed" in result.stdout


def test_a_mistake_stops_the_commit_with_its_location(repo: Path, tool: tuple[Path, str, Path]):
    events = repo / "feeds_config" / "items" / "harm-reduction" / "events.yaml"
    events.write_text(events.read_text().replace("type: events", "type: event", 1))
    git(repo, "add", "-A")
    result = hook(repo, tool)
    assert result.returncode == 1
    assert "feeds_config/items/harm-reduction/events.yaml:" in result.stdout
    assert "unknown type 'event' (did you mean 'events'?)" in result.stdout


def test_a_removed_item_stops_the_commit(repo: Path, tool: tuple[Path, str, Path]):
    (repo / "feeds_config" / "items" / "drug-policy" / "reform-conference.yaml").unlink()
    git(repo, "add", "-A")
    result = hook(repo, tool)
    assert result.returncode == 1
    assert "was published and is no longer in the content" in result.stdout


def test_a_new_item_is_recorded_and_then_the_commit_passes(
    repo: Path, tool: tuple[Path, str, Path]
):
    item = repo / "feeds_config" / "items" / "harm-reduction" / "a-new-voice.yaml"
    item.write_text(
        "item:\n  id: a-new-voice\n  type: voices\n  title: A New Voice\n  summary: New.\n"
        "  url: https://www.opensocietyfoundations.org/voices/a-new-voice\n"
        "  published: 2026-11-01T09:00\n  topics: [harm-reduction]\n"
    )
    git(repo, "add", "-A")
    first = hook(repo, tool)
    assert first.returncode == 1 and "files were modified by this hook" in first.stdout
    assert '"a-new-voice"' in (repo / "feeds_config" / "published.json").read_text()
    git(repo, "add", "-A")
    assert hook(repo, tool).returncode == 0


def test_the_documented_configuration_names_our_hook():
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    doc = (ROOT / "docs" / "content.md").read_text()
    example = doc.split("```yaml\nrepos:", 1)[1].split("```", 1)[0]
    documented = yaml.safe_load("repos:" + example)["repos"][0]["hooks"][0]
    assert documented["id"] == hooks[0]["id"] == "syndicate-check"
