"""Archived feeds (RFC 5005 section 4): a client that walks from the subscription feed back
through every archive page receives every live item, pages never change when items are
added, an old edit or withdrawal changes only its page, in Atom, RSS and JSON Feed."""

from __future__ import annotations

import json

import feedparser
import pytest

from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot
from tests.conftest import MINIMAL, write_config
from tests.feedcheck import ATOM, CHECKS

FH = "{http://purl.org/syndication/history/1.0}"
BASE = "https://feeds.example.org"
FEED_SIZE = 3


def voices(
    count: int, start: int = 0, old_title: str = "", ties: frozenset[int] = frozenset()
) -> str:
    """`count` voices published a day apart (item start is the oldest); those numbered in
    `ties` are all published at the moment of the first of them."""
    lines = ["items:"]
    for n in range(start, start + count):
        day = 1 + (min(ties) if n in ties else n)
        lines += [
            f"  - id: voice-{n:03d}",
            "    type: voices",
            f"    title: {old_title if n == 0 and old_title else f'Voice {n}'}",
            f"    summary: Summary {n}.",
            f"    url: https://example.org/voices/{n}",
            f"    published: 2026-{1 + day // 28:02d}-{1 + day % 28:02d}T10:00",
            "    topics: [justice]",
        ]
    return "\n".join(lines) + "\n"


def content(config_dir, count: int, **files: str):  # type: ignore[no-untyped-def]
    site = MINIMAL["site.yaml"] + f"  feed_size: {FEED_SIZE}\n"
    write_config(
        config_dir,
        {"site.yaml": site, "items.yaml": "items: []\n", "voices.yaml": voices(count), **files},
    )
    return build_snapshot(load_catalog(config_dir))


def path_of(url: str) -> str:
    assert url.startswith(BASE)
    return url.removeprefix(BASE)


def walk(snapshot, start: str, extension: str) -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """Follow the prev-archive chain from `start`: (path, item ids) per document."""
    documents, path, seen = [], start, set()
    while path is not None:
        assert path not in seen, "the chain loops"
        seen.add(path)
        body = snapshot.representations[path].body
        CHECKS[extension](body)
        if extension == "json":
            feed = json.loads(body)
            ids, older = [i["id"] for i in feed["items"]], feed.get("next_url")
            if path != start:
                assert feed["_archive"]["archive"] is True
                assert feed["_archive"]["current"] == BASE + start
        elif extension == "atom":
            root = CHECKS["atom"](body)
            ids = [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
            links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
            older = links.get("prev-archive")
            assert (root.find(f"{FH}archive") is not None) == (path != start)
            if path != start:
                assert links["current"] == BASE + start
        else:
            channel = CHECKS["rss"](body)
            ids = [i.findtext("guid") for i in channel.findall("item")]
            links = {link.get("rel"): link.get("href") for link in channel.findall(f"{ATOM}link")}
            older = links.get("prev-archive")
            assert (channel.find(f"{FH}archive") is not None) == (path != start)
        documents.append((path, ids))
        path = path_of(older) if older else None
    return documents


def live_ids(count: int, withdrawn: set[int] = frozenset()) -> set[str]:  # type: ignore[assignment]
    return {f"tag:example.org,2026:item/voice-{n:03d}" for n in range(count) if n not in withdrawn}


@pytest.mark.parametrize("extension", ["atom", "rss", "json"])
def test_a_backfill_walk_receives_every_live_item_and_pages_do_not_overlap(config_dir, extension):
    snapshot = content(config_dir, 11)  # 3 full pages of 3, and 2 more items
    documents = walk(snapshot, f"/topics/justice/voices.{extension}", extension)
    assert [path for path, _ in documents] == [f"/topics/justice/voices.{extension}"] + [
        f"/topics/justice/voices/archive/{n}.{extension}" for n in (3, 2, 1)
    ]
    pages = [ids for _, ids in documents[1:]]
    archived = [item for ids in pages for item in ids]
    assert len(archived) == len(set(archived)) == 9  # each archived item on one page only
    everything = set(archived) | set(documents[0][1])
    assert everything == live_ids(11)


@pytest.mark.parametrize("extension", ["atom", "rss", "json"])
def test_items_published_at_the_same_moment_are_each_in_the_feed_or_on_a_page(
    config_dir, extension
):
    # Five items, three of them at one moment, pages of three: the feed and the archive page
    # must cut the tie at the same place, or one of the three is in neither.
    snapshot = content(config_dir, 5, **{"voices.yaml": voices(5, ties=frozenset({1, 2, 3}))})
    documents = walk(snapshot, f"/topics/justice/voices.{extension}", extension)
    archived = [item for _, ids in documents[1:] for item in ids]
    assert len(archived) == len(set(archived))
    assert set(archived) | set(documents[0][1]) == live_ids(5)


@pytest.mark.parametrize("extension", ["atom", "rss", "json"])
def test_next_archive_and_prev_archive_link_neighbouring_pages(config_dir, extension):
    snapshot = content(config_dir, 9)
    body = snapshot.representations[f"/voices/archive/2.{extension}"].body
    if extension == "json":
        links = {k: v for k, v in json.loads(body)["_archive"].items() if k.endswith("archive")}
        links = {k.replace("_", "-"): v for k, v in links.items() if isinstance(v, str)}
    else:
        parsed = feedparser.parse(body)
        links = {link.rel: link.href for link in parsed.feed.links}
    assert links["prev-archive"] == f"{BASE}/voices/archive/1.{extension}"
    assert links["next-archive"] == f"{BASE}/voices/archive/3.{extension}"


def archive_bodies(snapshot) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {p: r.body for p, r in snapshot.representations.items() if "/archive/" in p}


def test_adding_one_then_a_hundred_items_leaves_every_earlier_page_byte_identical(config_dir):
    before = archive_bodies(content(config_dir, 10))
    assert before
    one_more = archive_bodies(content(config_dir, 11))
    hundred_more = archive_bodies(content(config_dir, 111))
    for path, body in before.items():
        assert one_more[path] == body, path
        assert hundred_more[path] == body, path
    assert len(hundred_more) > len(before)


def test_editing_an_old_item_changes_only_its_page(config_dir):
    before = archive_bodies(content(config_dir, 10))
    write_config(config_dir, {"voices.yaml": voices(10, old_title="Voice 0, corrected")})
    after = archive_bodies(build_snapshot(load_catalog(config_dir)))
    changed = {path.rsplit("/", 1)[1] for path in before if before[path] != after[path]}
    assert changed == {"1.atom", "1.rss", "1.json"}


def test_a_withdrawn_old_item_is_announced_on_its_page(config_dir):
    withdrawal = voices(10).replace(
        "  - id: voice-001\n",
        "  - id: voice-001\n    withdrawn: {date: 2026-11-20, reason: Retracted.}\n",
    )
    content(config_dir, 10)
    write_config(config_dir, {"voices.yaml": withdrawal})
    snapshot = build_snapshot(load_catalog(config_dir))
    atom = CHECKS["atom"](snapshot.representations["/voices/archive/1.atom"].body)
    stones = atom.findall("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
    assert [s.get("ref") for s in stones] == ["tag:example.org,2026:item/voice-001"]
    page = json.loads(snapshot.representations["/voices/archive/1.json"].body)
    assert [i["id"] for i in page["_deleted"]["items"]] == ["tag:example.org,2026:item/voice-001"]
    rss = CHECKS["rss"](snapshot.representations["/voices/archive/1.rss"].body)
    assert "voice-001" not in " ".join(i.findtext("guid") for i in rss.findall("item"))
    page_two = CHECKS["atom"](snapshot.representations["/voices/archive/2.atom"].body)
    assert not page_two.findall("{http://purl.org/atompub/tombstones/1.0}deleted-entry")


def test_views_have_no_archives_and_feeds_without_a_full_page_no_links(config_dir):
    snapshot = content(config_dir, 2)
    assert not archive_bodies(snapshot)
    assert b"prev-archive" not in snapshot.representations["/voices.atom"].body
    assert not any(
        "/upcoming/archive/" in p or "/past/archive/" in p for p in snapshot.representations
    )


def test_a_rebuild_reuses_unchanged_pages_and_renders_the_edited_one(config_dir):
    served = content(config_dir, 10)
    write_config(config_dir, {"voices.yaml": voices(10, old_title="Voice 0, corrected")})
    catalog = load_catalog(config_dir)
    rebuilt = build_snapshot(catalog, previous=served)
    assert rebuilt == build_snapshot(catalog)  # the same as a build from scratch
    old, new = served.representations, rebuilt.representations
    assert b"Voice 0, corrected" in new["/voices/archive/1.atom"].body
    assert new["/voices/archive/2.atom"] is old["/voices/archive/2.atom"]  # not rendered again


async def test_archive_pages_are_kept_compressed_and_served_whole_in_either_encoding(serve):
    import gzip

    from syndicate.settings import Settings
    from tests.conftest import CONTENT

    client = await serve(Settings(config=CONTENT, watch=False, access_log=False))
    rep = client.service.store.snapshot.representations["/feed/archive/1.atom"]
    assert rep.compressed_only and rep.stored == b""  # held as gzip only
    plain = await client.get("/feed/archive/1.atom", headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("Content-Encoding") is None
    body = await plain.read()
    assert body == gzip.decompress(rep.gzip_body)
    CHECKS["atom"](body)
    assert plain.headers["ETag"] == rep.etag
    assert plain.headers["Cache-Control"].startswith("public, max-age=86400")
    zipped = await client.get(
        "/feed/archive/1.atom", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert zipped.headers["Content-Encoding"] == "gzip" and await zipped.read() == rep.gzip_body
