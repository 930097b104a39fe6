"""Incremental rebuilds: a rebuild from the previous snapshot renders only what an edit can
change, and equals, representation for representation (bytes, gzip, ETags, Last-Modified,
Link), a build from scratch of the same content at the same moment.

Content: a generated catalog (bench/generate.py, 300 items over 5 topics, so feeds have
archive pages) and the test fixture (events, views, calendars). Edits are made to the YAML,
as an editor would, and loaded again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from syndicate import archives, sources, urls
from syndicate.feeds import selected_items
from syndicate.loader import LoadCache, load_catalog
from syndicate.model import Catalog
from syndicate.problems import ContentError
from syndicate.snapshot import Snapshot, build_snapshot
from tests.conftest import CONTENT
from tests.live import ROOT

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REFRESH = 300


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated") / "content"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), str(folder), "--items", "300",
         "--topics", "5"],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


@pytest.fixture
def content(generated: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(generated, folder)
    return folder


def edit_items(folder: Path, change: Callable[[list[dict]], None]) -> None:
    """Apply `change` to the first batch file's item list, and write it back."""
    batch = sorted((folder / "items").iterdir())[0]
    document = yaml.safe_load(batch.read_text())
    change(document["items"])
    batch.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def build(folder: Path, now: datetime = NOW, previous: Snapshot | None = None) -> Snapshot:
    return build_snapshot(load_catalog(folder, now), REFRESH, now, previous)


def assert_same(incremental: Snapshot, scratch: Snapshot) -> None:
    assert incremental.representations.keys() == scratch.representations.keys()
    for path, rep in scratch.representations.items():
        assert incremental.representations[path] == rep, path
    assert incremental.version == scratch.version
    assert incremental.next_change == scratch.next_change


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    """Paths new, gone or with other bytes."""
    paths = before.representations.keys() | after.representations.keys()
    return {
        path
        for path in paths
        if path not in before.representations
        or path not in after.representations
        or before.representations[path].etag != after.representations[path].etag
    }


def newest(items: list[dict]) -> dict:
    return max(items, key=lambda item: str(item["published"]))


EDITS: dict[str, Callable[[list[dict]], None]] = {
    "title of an old item": lambda items: items[0].update(title="A corrected title & <more>"),
    "title of the newest item of the file": lambda items: newest(items).update(title="Edited"),
    "item moved to another topic": lambda items: items[1].update(topics=["topic-004"]),
    "item given another type": lambda items: items[2].update(
        type="voices" if items[2]["type"] != "voices" else "publications"
    ),
    "item withdrawn": lambda items: items[3].update(
        withdrawn={"date": "2026-11-20T10:00:00+00:00", "reason": "Published in error."}
    ),
    "item removed": lambda items: items.pop(4),
    "item added": lambda items: items.append(
        {
            **items[0],
            "id": "item-new",
            "title": "New",
            "url": "https://example.org/new",
            "published": "2026-11-25T09:00:00+00:00",
        }
    ),
}


@pytest.mark.parametrize("name", EDITS)
def test_a_rebuild_after_an_edit_equals_a_build_from_scratch(content: Path, name: str):
    served = build(content)
    edit_items(content, EDITS[name])
    assert_same(build(content, previous=served), build(content))


def holders(snapshot: Snapshot, item_id: str) -> set[str]:
    """Every path whose bytes can depend on the item, derived from the catalog: the feeds
    that select it, the archive pages that list it, its calendar file, the pages of its
    topics and the documents that list every feed."""
    catalog = snapshot.catalog
    item = next(i for i in catalog.items if i.id == item_id)
    found = {urls.event_calendar_path(item.id), urls.INDEX_PATH, urls.FEEDS_JSON_PATH}
    found |= {urls.topic_page_path(slug) for slug in item.topics}
    for path, rep in snapshot.representations.items():
        key = rep.key
        if rep.format.startswith("opml") or (
            key is not None and key.page is None and item in selected_items(catalog, key)
        ):
            found.add(path)
        elif key is not None and key.page is not None:
            pages = dict(archives.pages(catalog, replace(key, page=None)))
            if item in pages.get(key, ()):
                found.add(path)
    return found


def test_an_edit_to_one_item_renders_only_what_can_hold_it(content: Path):
    served = build(content)
    first = yaml.safe_load(sorted((content / "items").iterdir())[0].read_text())["items"][0]
    edit_items(content, lambda items: items[0].update(title="A corrected title"))
    rebuilt = build(content, previous=served)
    rendered = {
        path
        for path, rep in rebuilt.representations.items()
        if rep is not served.representations.get(path)
    }
    assert rendered <= holders(rebuilt, first["id"])
    assert changed(served, rebuilt) <= rendered
    assert len(rendered) == rebuilt.rendered
    assert rebuilt.rendered < len(rebuilt.representations) / 4


def test_a_rebuild_without_any_change_renders_nothing(content: Path):
    served = build(content)
    rebuilt = build(content, NOW + timedelta(seconds=5), previous=served)
    assert rebuilt.rendered == 0
    assert_same(rebuilt, build(content, NOW + timedelta(seconds=5)))


def test_a_site_edit_renders_everything_again(content: Path):
    served = build(content)
    site = content / "site.yaml"
    site.write_text(site.read_text().replace("Benchmark Foundation", "Another Foundation", 1))
    rebuilt = build(content, previous=served)
    assert_same(rebuilt, build(content))
    assert rebuilt.rendered == len(rebuilt.representations) - len(
        [p for p in rebuilt.representations if p.startswith(("/embed/v1", "/assets/"))]
    )


def test_a_topic_renamed_relabels_every_item_that_carries_it(content: Path):
    served = build(content)
    topics = content / "topics.yaml"
    topics.write_text(topics.read_text().replace("title: Topic 003", "title: Renamed", 1))
    assert_same(build(content, previous=served), build(content))


@pytest.fixture
def events(tmp_path: Path) -> Path:
    folder = tmp_path / "fixture"
    shutil.copytree(CONTENT, folder)
    return folder


def test_time_passing_an_event_end_renders_views_and_calendars_as_a_fresh_build(events: Path):
    served = build(events)
    assert served.next_change is not None
    later = served.next_change + timedelta(seconds=1)
    rebuilt = build(events, later, previous=served)
    assert_same(rebuilt, build(events, later))
    assert changed(served, rebuilt)  # an upcoming event became past somewhere


def test_time_passing_within_an_epoch_reuses_everything(events: Path):
    served = build(events)
    assert served.next_change is not None
    earlier = served.next_change - timedelta(seconds=1)
    rebuilt = build(events, earlier, previous=served)
    assert rebuilt.rendered == 0
    assert_same(rebuilt, build(events, earlier))


def test_edits_to_events_equal_a_build_from_scratch(events: Path):
    served = build(events)
    for path in sorted(events.rglob("*.yaml")):
        text = path.read_text()
        if "start:" in text:
            path.write_text(text.replace("title: ", "title: Moved ", 1))
            break
    else:
        pytest.fail("the fixture has no event")
    assert_same(build(events, previous=served), build(events))


def test_a_chain_of_rebuilds_as_the_service_makes_them_equals_builds_from_scratch(content: Path):
    cache = LoadCache()  # as the service: previous snapshot and load cache both carried on
    snapshot = build_snapshot(load_catalog(content, NOW, cache), REFRESH, NOW)
    for index, name in enumerate(EDITS):
        edit_items(content, EDITS[name])
        moment = NOW + timedelta(minutes=index)
        catalog = load_catalog(content, moment, cache)
        snapshot = build_snapshot(catalog, REFRESH, moment, snapshot)
        assert_same(snapshot, build(content, moment))


# -- loading: files that did not change are not parsed again -----------------------------


def load_both(folder: Path, cache: LoadCache, now: datetime = NOW) -> tuple[Catalog, Catalog]:
    return load_catalog(folder, now, cache), load_catalog(folder, now)


LOAD_EDITS: dict[str, Callable[[Path], None]] = {
    "an item's title": lambda folder: edit_items(folder, EDITS["title of an old item"]),
    "an item removed": lambda folder: edit_items(folder, EDITS["item removed"]),
    "the site's time zone": lambda folder: (folder / "site.yaml").write_text(
        (folder / "site.yaml").read_text().replace("America/New_York", "Europe/Paris")
    ),
    "a topic's title": lambda folder: (folder / "topics.yaml").write_text(
        (folder / "topics.yaml").read_text().replace("title: Topic 001", "title: Renamed")
    ),
    "a file removed": lambda folder: sorted((folder / "items").iterdir())[1].unlink(),
    "a file renamed": lambda folder: sorted((folder / "items").iterdir())[1].rename(
        folder / "items" / "renamed.yaml"
    ),
}


@pytest.mark.parametrize("name", LOAD_EDITS)
def test_a_load_with_the_cache_equals_a_load_without(content: Path, name: str):
    cache = LoadCache()
    load_catalog(content, NOW, cache)
    LOAD_EDITS[name](content)
    cached, fresh = load_both(content, cache)
    assert cached == fresh
    assert cached.items == fresh.items  # every field of every item, in the same order


def test_only_the_edited_file_is_parsed_again(content: Path, monkeypatch: pytest.MonkeyPatch):
    cache = LoadCache()
    first = load_catalog(content, NOW, cache)
    parsed: list[str] = []
    real = sources.parse_text
    monkeypatch.setattr(
        sources, "parse_text", lambda text, shown: parsed.append(shown) or real(text, shown)
    )
    edit_items(content, EDITS["title of an old item"])
    again = load_catalog(content, NOW, cache)
    batch = str(sorted((content / "items").iterdir())[0])
    assert [p for p in parsed if "/items/" in p] == [batch]
    kept = {item.id for item in first.items} - {
        i["id"] for i in yaml.safe_load(Path(batch).read_text())["items"]
    }
    same = {item.id: item for item in again.items}
    assert all(same[i] is next(x for x in first.items if x.id == i) for i in list(kept)[:50])


def test_a_duplicate_id_between_an_unchanged_file_and_an_edited_one_is_found(content: Path):
    cache = LoadCache()
    load_catalog(content, NOW, cache)
    files = sorted((content / "items").iterdir())
    taken = yaml.safe_load(files[1].read_text())["items"][0]["id"]
    edit_items(content, lambda items: items[0].update(id=taken))
    with pytest.raises(ContentError) as raised:
        load_catalog(content, NOW, cache)
    message = "\n".join(map(str, raised.value.problems))
    assert f"duplicate item id '{taken}'" in message and files[1].name in message


def test_a_clock_gone_back_validates_every_item_again(content: Path):
    cache = LoadCache()
    load_catalog(content, NOW, cache)
    edit_items(content, EDITS["item withdrawn"])  # withdrawn 2026-11-20
    with pytest.raises(ContentError):
        load_catalog(content, datetime(2026, 11, 1, tzinfo=UTC), cache)
    assert load_catalog(content, NOW, cache) == load_catalog(content, NOW)
