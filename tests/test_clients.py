"""Real clients against a real server on 127.0.0.1: feedparser and newsboat."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
import urllib.request

import feedparser
import pytest

from syndicate import urls
from syndicate.feeds import all_feed_keys
from syndicate.loader import load_catalog
from tests.conftest import CONTENT
from tests.live import live_server, need

CATALOG = load_catalog(CONTENT)
TAG = "tag:opensocietyfoundations.org,2026:item/"
LIVE_IDS = {urls.item_id(CATALOG.site, item.id) for item in CATALOG.items if not item.withdrawn}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("live") / "server.log"
    with live_server(CONTENT, log) as live:
        yield live


@pytest.mark.parametrize("path", ["/feed.atom", "/feed.rss", "/topics/harm-reduction/events.atom"])
def test_feedparser_fetches_then_gets_304_with_its_etag(server, path):
    first = feedparser.parse(server.url + path)
    assert first.bozo == 0 and first.status == 200
    assert first.entries and first.etag
    assert first.headers.get("content-encoding") == "gzip"  # feedparser asks for gzip
    again = feedparser.parse(server.url + path, etag=first.etag)
    assert again.status == 304
    assert not again.entries


def test_feedparser_gets_304_with_last_modified(server):
    first = feedparser.parse(server.url + "/feed.rss")
    again = feedparser.parse(server.url + "/feed.rss", modified=first.modified)
    assert again.status == 304


def test_feedparser_reads_the_ids_and_event_fields(server):
    parsed = feedparser.parse(server.url + "/topics/harm-reduction/feed.atom")
    assert [entry.id for entry in parsed.entries] == [
        TAG + slug
        for slug in (
            "drugs-in-documentary-films",
            "talking-about-race-harm-reduction",
            "how-drug-courts-are-falling-short",
            "dire-consequences-slashing-us-global-hiv-assistance",
        )
    ]
    assert parsed.feed.links[0].href.startswith(server.url)


def newsboat(tmp_path, *args: str) -> None:
    subprocess.run(
        [need("newsboat"), "-C", str(tmp_path / "config"), *args],
        check=True, timeout=120, capture_output=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


FEED_KEYS = [key for key in all_feed_keys(CATALOG) if key.view is None]  # OPML leaves views out


@pytest.mark.parametrize(
    ("opml", "extension"), [("/feeds.opml", "atom"), ("/feeds-rss.opml", "rss")]
)
def test_newsboat_imports_the_opml_and_stores_every_item(server, tmp_path, opml, extension):
    """Each OPML names every feed once, in one format; newsboat imports it and, reloading,
    stores every live item. (newsboat 2.21 has no JSON Feed support.)"""
    need("newsboat")
    (tmp_path / "config").write_text("reload-threads 4\ndownload-timeout 20\n")
    with urllib.request.urlopen(server.url + opml, timeout=10) as response:
        (tmp_path / "feeds.opml").write_bytes(response.read())
    urls_file, cache = tmp_path / "urls", tmp_path / "cache.db"
    newsboat(tmp_path, "-u", str(urls_file), "-c", str(cache), "-i", str(tmp_path / "feeds.opml"))
    imported = [line.split()[0] for line in urls_file.read_text().splitlines() if line.strip()]
    expected = {server.url + urls.feed_path(key, extension) for key in FEED_KEYS}
    assert sorted(imported) == sorted(expected)  # every feed, once
    newsboat(tmp_path, "-u", str(urls_file), "-c", str(cache), "-x", "reload")
    with sqlite3.connect(cache) as db:
        feeds = dict(db.execute("select rssurl, title from rss_feed").fetchall())
        guids = {row[0] for row in db.execute("select guid from rss_item")}
    assert set(feeds) == expected
    assert all(title.startswith("Open Society Foundations") for title in feeds.values())
    assert guids == LIVE_IDS


def test_sigterm_stops_the_server_gracefully(tmp_path):
    with live_server(CONTENT, tmp_path / "server.log") as live:
        live.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert live.process.wait(timeout=15) == 0
        assert time.monotonic() - started < 15
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_the_server_logs_one_access_line_per_request(tmp_path):
    with live_server(CONTENT, tmp_path / "server.log", SYNDICATE_ACCESS_LOG="true") as live:
        for path in ("/feed.atom", "/nope", "/feed.rss"):
            with contextlib.suppress(OSError):  # the 404 raises
                urllib.request.urlopen(live.url + path, timeout=5).read()
        time.sleep(0.3)
    lines = (tmp_path / "server.log").read_text().splitlines()
    requested = [
        line
        for line in lines
        if any(f'"GET {path} ' in line for path in ("/feed.atom", "/nope", "/feed.rss"))
    ]
    assert len(requested) == 3
    assert any('"GET /nope HTTP/1.1" 404 ' in line for line in requested)
    # The client's network and kind of client, never its address or User-Agent (docs/reach.md).
    assert all(
        line.startswith("20") and " 127.0.0.0/24 " in line and line.endswith('"Python"')
        for line in requested
    )
    assert not any("127.0.0.1" in line or "Python-urllib" in line for line in requested)
