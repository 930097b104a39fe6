"""The same content gives the same bytes: across calls, processes, time zones and locales,
and whatever file names the editors chose. Ids never depend on titles, URLs or files."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot, strong_etag
from tests.conftest import CONTENT, ROOT

DIGEST_SCRIPT = """
import hashlib, sys
from pathlib import Path
from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot
snapshot = build_snapshot(load_catalog(Path(sys.argv[1])))
for path, rep in sorted(snapshot.representations.items()):
    print(path, hashlib.sha256(rep.body).hexdigest(), hashlib.sha256(rep.gzip_body).hexdigest(), rep.etag)
"""


# Locales whose rules differ where code often depends on them by accident: Turkish dotless i
# in case mapping, German dates and decimal commas. `make test` generates them (locales.mk).
LOCALES = ("tr_TR.UTF-8", "de_DE.UTF-8")


def installed_locales() -> list[str]:
    """The locales above; skip, or fail under CI, when one is not installed."""
    output = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=True).stdout
    names = {name.lower().replace("utf-8", "utf8") for name in output.split()}
    missing = [loc for loc in LOCALES if loc.lower().replace("utf-8", "utf8") not in names]
    if missing:
        message = f"locales {missing} are not installed (`make test` generates them as root)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run this test")
        pytest.skip(message)
    return list(LOCALES)


def digests(config: Path, tz: str, locale: str) -> str:
    env = {**os.environ, "TZ": tz, "LC_ALL": locale, "LANG": locale, "PYTHONPATH": str(ROOT)}
    env["PYTHONHASHSEED"] = str(hash(tz) % 1000)  # different hash seeds too
    result = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT, str(config)],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return result.stdout


def test_two_processes_with_different_tz_and_locale_give_identical_bytes():
    locales = installed_locales()
    first = digests(CONTENT, "Pacific/Kiritimati", locales[0])
    second = digests(CONTENT, "America/Adak", locales[-1])
    assert first and first == second


def test_rendering_twice_in_one_process_gives_identical_bytes():
    catalog = load_catalog(CONTENT)
    one, two = build_snapshot(catalog), build_snapshot(catalog)
    assert {p: r.body for p, r in one.representations.items()} == {
        p: r.body for p, r in two.representations.items()
    }
    assert one.version == two.version


def test_gzip_bodies_are_deterministic_too():
    one, two = build_snapshot(load_catalog(CONTENT)), build_snapshot(load_catalog(CONTENT))
    assert all(
        one.representations[p].gzip_body == r.gzip_body for p, r in two.representations.items()
    )


def test_renaming_and_moving_files_changes_nothing(tmp_path):
    moved = tmp_path / "cfg"
    shutil.copytree(CONTENT, moved)
    (moved / "items/harm-reduction/voices.yaml").rename(moved / "zz-voices-renamed.yaml")
    (moved / "items/drug-policy").rename(moved / "aaa-elsewhere")
    original = build_snapshot(load_catalog(CONTENT))
    again = build_snapshot(load_catalog(moved))
    assert original.version == again.version


def test_ids_survive_title_and_url_changes(tmp_path):
    changed = tmp_path / "cfg"
    shutil.copytree(CONTENT, changed)
    voices = changed / "items/harm-reduction/voices.yaml"
    text = voices.read_text(encoding="utf-8")
    text = text.replace(
        "title: How Drug Courts Are Falling Short", "title: Drug Courts Fall Short, Again"
    )
    text = text.replace("/voices/how-drug-courts-are-falling-short", "/voices/2026/drug-courts")
    voices.write_text(text, encoding="utf-8")
    from tests.feedcheck import ATOM, check_atom

    def ids(config: Path) -> list[str]:
        body = build_snapshot(load_catalog(config)).representations["/feed.atom"].body
        return [e.findtext(f"{ATOM}id") for e in check_atom(body).findall(f"{ATOM}entry")]

    assert ids(changed) == ids(CONTENT)
    assert "tag:opensocietyfoundations.org,2026:item/how-drug-courts-are-falling-short" in ids(
        changed
    )


def test_etag_is_a_strong_tag_derived_from_the_bytes_alone():
    snapshot = build_snapshot(load_catalog(CONTENT))
    etags = [r.etag for r in snapshot.representations.values()]
    assert len(set(etags)) == len(etags)
    rep = snapshot.representations["/feed.atom"]
    assert re.fullmatch(r'"[A-Za-z0-9_-]{24}"', rep.etag)
    assert strong_etag(rep.body) == rep.etag
    assert strong_etag(rep.body + b" ") != rep.etag


def edited_title(tmp_path: Path) -> Path:
    """A copy of the tests' content with one voice retitled."""
    changed = tmp_path / "cfg"
    shutil.copytree(CONTENT, changed)
    voices = changed / "items/harm-reduction/voices.yaml"
    text = voices.read_text(encoding="utf-8")
    voices.write_text(
        text.replace("title: How Drug Courts Are Falling Short", "title: Drug Courts, Again"),
        encoding="utf-8",
    )
    return changed


def test_a_rebuild_with_the_previous_snapshot_equals_a_build_from_scratch(tmp_path):
    """Reusing the served snapshot's encodings is an optimisation only: every field of every
    representation is what a fresh build gives."""
    served = build_snapshot(load_catalog(CONTENT))
    edited = load_catalog(edited_title(tmp_path))
    assert build_snapshot(edited, previous=served) == build_snapshot(edited)


def test_a_rebuild_shares_unchanged_bytes_and_encodes_changed_ones_anew(tmp_path):
    import gzip
    import hashlib

    served = build_snapshot(load_catalog(CONTENT))
    rebuilt = build_snapshot(load_catalog(edited_title(tmp_path)), previous=served)
    old, new = served.representations, rebuilt.representations
    changed = {path for path in new if path in old and new[path].body != old[path].body}
    assert "/feed.atom" in changed
    assert "/events.atom" in new and "/events.atom" not in changed  # no voice in it
    for path, rep in new.items():
        if path in changed:
            assert b"Drug Courts, Again" in gzip.decompress(rep.gzip_body)
            digest = hashlib.sha256(rep.body).digest()[:18]
            assert rep.etag != old[path].etag
            assert rep.etag.strip('"') == base64.urlsafe_b64encode(digest).decode()
        elif path in old:
            assert rep.gzip_body is old[path].gzip_body
            assert rep.compressed_only or rep.body is old[path].body
