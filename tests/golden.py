"""Golden files: the expected representations of the test content (tests/fixtures/content), byte for byte.

`make golden` (python -m tests.golden) is the only thing that writes them; review the diff
before committing. `test_golden.py` compares.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from syndicate import urls
from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot

GOLDEN = Path(__file__).resolve().parent / "golden"
CONTENT = Path(__file__).resolve().parent / "fixtures" / "content"


def expected_files() -> dict[str, bytes]:
    """Path below tests/golden -> bytes, for every representation of the test content
    (the embed script is code, not content: tests/test_embed.py covers it)."""
    snapshot = build_snapshot(load_catalog(CONTENT))
    return {
        urls.file_path(path): rep.body
        for path, rep in snapshot.representations.items()
        if not rep.format.startswith(("embed", "page-"))
    }


def main() -> None:
    if GOLDEN.is_dir():
        shutil.rmtree(GOLDEN)
    for relative, body in sorted(expected_files().items()):
        target = GOLDEN / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        print(f"wrote tests/golden/{relative}")


if __name__ == "__main__":
    main()
