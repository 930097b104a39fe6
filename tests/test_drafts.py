"""Drafts: an item marked `draft: true` reaches nobody (no feed, calendar, page, embed,
archive page, and so no WebSub ping) until the mark is removed; `check` lists it."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicate.build import snapshot_for
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.test_cli import run

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
DRAFT = """item:
  id: a-draft-event
  type: events
  title: Draft Event Not For Anyone Yet
  summary: Still being written.
  url: https://www.opensocietyfoundations.org/events/a-draft-event
  published: 2026-11-20T10:00
  topics: [harm-reduction, drug-policy]
  start: 2026-12-15T18:00
  draft: true
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def build(config: Path):  # type: ignore[no-untyped-def]
    return snapshot_for(Settings(config=config, public_url="https://feeds.example.org"), NOW)


def bodies(snapshot) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {
        path: rep.body or gzip.decompress(rep.gzip_body)
        for path, rep in snapshot.representations.items()
    }


def test_a_draft_is_in_nothing_served_and_changes_no_byte(config: Path):
    before = build(config)
    (config / "items" / "draft.yaml").write_text(DRAFT)
    with_draft = build(config)
    for path, body in bodies(with_draft).items():
        assert b"a-draft-event" not in body and b"Draft Event Not For" not in body, path
    # Every representation and its ETag unchanged: no reader, calendar, partner page or
    # hub can see that a draft exists (a hub is pinged only for changed ETags).
    assert with_draft.version == before.version
    assert bodies(with_draft) == bodies(before)


def test_removing_the_mark_publishes_it_everywhere_it_belongs(config: Path):
    (config / "items" / "draft.yaml").write_text(DRAFT.replace("  draft: true\n", ""))
    published = bodies(build(config))
    for path in ("/feed.atom", "/topics/drug-policy/events.rss", "/events.ics",
                 "/items/a-draft-event.ics", "/topics/harm-reduction/", "/feed.html"):  # fmt: skip
        assert b"Draft Event Not For" in published[path], path


def test_check_lists_each_draft_with_its_file_and_line(config: Path):
    (config / "items" / "draft.yaml").write_text(DRAFT)
    result = run("check", str(config))
    assert result.returncode == 0, result.stderr
    assert "Drafts (in no feed until 'draft: true' is removed): 1" in result.stdout
    assert f"{config}/items/draft.yaml:2: a-draft-event (events)" in result.stdout


def test_a_draft_still_takes_its_id(config: Path):
    (config / "items" / "draft.yaml").write_text(
        DRAFT.replace("a-draft-event", "locking-up-our-own")
    )
    result = run("check", str(config))
    assert result.returncode == 1
    assert "locking-up-our-own" in result.stderr


def test_check_counts_in_words_and_tells_withdrawn_items_and_drafts_apart(tmp_path: Path):
    from tests.conftest import MINIMAL, write_config

    one = MINIMAL["items.yaml"].split("  - id: an-essay")[0]  # the talk alone
    folder = write_config(tmp_path / "c", {**MINIMAL, "items.yaml": one})
    result = run("check", str(folder))
    assert result.returncode == 0, result.stderr
    assert ", 1 item." in result.stdout and "1 items" not in result.stdout
    (folder / "draft.yaml").write_text(DRAFT.replace("harm-reduction, drug-policy", "health"))
    assert ", 2 items (1 draft)." in run("check", str(folder)).stdout
