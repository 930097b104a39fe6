"""docs/content.md's walkthrough, done as an editor does it, from each step to what a
subscriber gets: create (its `make new` command), publish, cancel, withdraw and rename (its
YAML, pasted), checked in the feeds, calendars and redirects. And every YAML example in the
document is valid against the editors' JSON Schema."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from syndicate.build import snapshot_for
from syndicate.loader import load_catalog
from syndicate.schema import FILE_KEYS
from syndicate.settings import Settings
from syndicate.urls import moved_path
from tests.conftest import CONTENT, ROOT
from tests.feedcheck import check_ical
from tests.schemacheck import validator
from tests.test_cli import run

DOC = (ROOT / "docs" / "content.md").read_text()
NOW = datetime(2026, 11, 30, 16, tzinfo=UTC)
ITEM_ID = "naloxone-saves-lives-a-community-evening"
AT = "{http://purl.org/atompub/tombstones/1.0}"


def step(title: str) -> str:
    """The text of the walkthrough's step `title` (up to the next heading)."""
    return DOC.split(f"### {title}\n", 1)[1].split("\n#", 1)[0]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def yaml_blocks() -> list[str]:
    return [b for b in blocks(DOC, "yaml") if b.split(":", 1)[0] in FILE_KEYS]


@pytest.mark.parametrize("example", yaml_blocks(), ids=lambda b: b.splitlines()[0])
def test_every_yaml_example_passes_the_schema(example: str):
    import yaml

    assert not list(validator().iter_errors(yaml.load(example, Loader=yaml.BaseLoader)))


def feed(config: Path, path: str) -> bytes:
    settings = Settings(config=config, public_url="https://feeds.example.org")
    return snapshot_for(settings, NOW).representations[path].body


def test_the_walkthrough_from_new_to_rename(tmp_path: Path):
    config = tmp_path / "content"
    shutil.copytree(CONTENT, config)
    # 1. Create: the documented command, as pasted.
    (command,) = blocks(step("1. Create an item"), "sh")
    result = subprocess.run(
        f"{command.strip()} CONFIG={config}", shell=True, cwd=ROOT, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    path = config / "items" / "harm-reduction" / f"{ITEM_ID}.yaml"
    assert f"wrote {path}" in result.stdout
    assert ITEM_ID.encode() not in feed(config, "/topics/harm-reduction/events.atom")  # a draft
    # 3. Publish: the placeholders replaced and `draft: true` deleted.
    text = path.read_text().replace("REPLACE ME: one or two sentences, shown in every feed.",
                                    "An evening on naloxone.")  # fmt: skip
    text = text.replace("REPLACE-ME", "events/naloxone").replace("  draft: true\n", "")
    text = re.sub(r"published: \S+", "published: 2026-11-20T10:00", text)
    path.write_text(text)
    assert run("check", str(config)).returncode == 0
    entries = feedparser.parse(feed(config, "/topics/harm-reduction/events.atom")).entries
    assert any(e.id.endswith(ITEM_ID) for e in entries)
    # 5. Cancel: the documented YAML, pasted over the file.
    (cancelled,) = blocks(step("5. Cancel or move an event"), "yaml")
    path.write_text(cancelled)
    load_catalog(config, NOW)
    calendar = check_ical(feed(config, "/topics/harm-reduction/events.ics"))
    (event,) = [e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(ITEM_ID)]
    assert str(event["STATUS"]) == "CANCELLED"
    # 6. Withdraw: the documented lines, added to the item.
    (withdrawal,) = blocks(step("6. Withdraw it"), "yaml")
    path.write_text(cancelled + withdrawal)
    atom = feed(config, "/topics/harm-reduction/feed.atom")
    assert f'ref="tag:opensocietyfoundations.org,2026:item/{ITEM_ID}"'.encode() in atom
    assert b"Withdrawn while we correct the figures." in atom
    # 7. Rename: the documented topic, in place of the old one.
    (renamed,) = blocks(step("7. Rename a topic"), "yaml")
    topics = config / "topics.yaml"
    old = topics.read_text().split("  - slug: drug-policy", 1)
    new_topic = textwrap.indent(renamed.removeprefix("topic:\n").replace("  slug", "- slug", 1),
                                "  ")  # fmt: skip
    topics.write_text(old[0].split("  - slug: harm-reduction", 1)[0] + new_topic
                      + "  - slug: drug-policy" + old[1])  # fmt: skip
    settings = Settings(config=config, public_url="https://feeds.example.org")
    snapshot = snapshot_for(settings, NOW)
    target = moved_path("/topics/harm-reduction/events.ics", snapshot.moves)
    assert target == "/topics/harm-reduction-and-health/events.ics"
    assert target in snapshot.representations
