"""`syndicate preview`: the content as subscribers will get it, drafts and scheduled items
included and marked, on its own port, never indexed, never telling anyone anything."""

from __future__ import annotations

import gzip
import shutil
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import icalendar
import pytest
from lxml import html

from syndicate.build import snapshot_for
from syndicate.settings import Settings
from tests import test_drafts as drafts
from tests.conftest import CONTENT
from tests.feedcheck import check_atom, check_ical, check_json_feed, check_page, check_rss
from tests.live import live_server

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
PREVIEW_URL = "http://127.0.0.1:8081"
# Published late enough to be among the newest four (the tests' feed_size).
DRAFT = drafts.DRAFT.replace("published: 2026-11-20T10:00", "published: 2026-11-25T10:00")
SCHEDULED = """item:
  id: a-scheduled-voice
  type: voices
  title: A Voice Due Next Week
  summary: Ready, and due on Thursday morning.
  url: https://www.opensocietyfoundations.org/voices/a-scheduled-voice
  published: 2026-12-03T09:00
  topics: [harm-reduction]
"""
# The site's zone is America/New_York: the mark says when, as the editor wrote it.
SCHEDULED_TITLE = "[Scheduled: 3 December 2026, 09:00] A Voice Due Next Week"
DRAFT_TITLE = "[Draft] Draft Event Not For Anyone Yet"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("preview") / "content"
    shutil.copytree(CONTENT, target)
    (target / "items" / "draft.yaml").write_text(DRAFT)
    (target / "items" / "scheduled.yaml").write_text(SCHEDULED)
    site = target / "site.yaml"
    site.write_text(site.read_text() + "  hubs: [https://hub.example.org/]\n")
    return target


@pytest.fixture(scope="module")
def bodies(config: Path) -> dict[str, bytes]:
    settings = Settings(config=config, preview=True, served_url=PREVIEW_URL)
    snapshot = snapshot_for(settings, NOW)
    return {path: gzip.decompress(rep.gzip_body) for path, rep in snapshot.representations.items()}


@pytest.fixture(scope="module")
def public(config: Path) -> dict[str, bytes]:
    snapshot = snapshot_for(Settings(config=config, public_url="https://feeds.example.org"), NOW)
    return {path: gzip.decompress(rep.gzip_body) for path, rep in snapshot.representations.items()}


def is_page(path: str) -> bool:
    """The site's pages and the partners' iframe pages (whole HTML documents)."""
    return path.endswith("/") or (path.startswith("/embed/") and path.endswith(".html"))


def titles(body: bytes) -> list[str]:
    return [entry.title for entry in feedparser.parse(body).entries]


def test_drafts_and_scheduled_items_are_in_the_previewed_feeds_marked(bodies: dict[str, bytes]):
    check_atom(bodies["/topics/harm-reduction/feed.atom"])
    check_rss(bodies["/topics/harm-reduction/feed.rss"])
    for path in ("/topics/harm-reduction/feed.atom", "/topics/harm-reduction/feed.rss"):
        assert SCHEDULED_TITLE in titles(bodies[path]), path
        assert DRAFT_TITLE in titles(bodies[path]), path
    json_titles = [i["title"] for i in check_json_feed(bodies["/feed.json"])["items"]]
    assert SCHEDULED_TITLE in json_titles and DRAFT_TITLE in json_titles


def test_the_public_service_has_neither(public: dict[str, bytes]):
    for path, body in public.items():
        assert b"A Voice Due Next Week" not in body and b"Draft Event Not For" not in body, path


def test_a_previewed_draft_event_is_in_the_calendars(bodies: dict[str, bytes]):
    for path in ("/events.ics", "/topics/drug-policy/events.ics", "/items/a-draft-event.ics"):
        summaries = [str(e["SUMMARY"]) for e in check_ical(bodies[path]).walk("VEVENT")]
        assert DRAFT_TITLE in summaries, path


def test_the_embed_and_the_topic_page_show_them(bodies: dict[str, bytes]):
    fragment = html.fromstring(bodies["/topics/harm-reduction/feed.html"]).text_content()
    assert SCHEDULED_TITLE in fragment and DRAFT_TITLE in fragment
    page = check_page(bodies["/topics/harm-reduction/"], PREVIEW_URL)
    assert DRAFT_TITLE in page.text_content()


def test_every_page_carries_the_banner_and_noindex(bodies: dict[str, bytes]):
    pages = [p for p in bodies if is_page(p)]
    assert len(pages) > 4
    for path in pages:
        document = html.fromstring(bodies[path])
        assert document.xpath('//meta[@name="robots"]/@content') == ["noindex, nofollow"], path
        if not path.startswith("/embed/"):
            banner = document.xpath('//*[@class="preview-banner"]')
            assert banner and "Preview, not public" in banner[0].text_content(), path


def test_public_pages_carry_neither(public: dict[str, bytes]):
    for path in (p for p in public if is_page(p)):
        document = html.fromstring(public[path])
        assert not document.xpath('//meta[@name="robots"]'), path
        assert not document.xpath('//*[@class="preview-banner"]'), path


def test_robots_txt_forbids_everything(bodies: dict[str, bytes]):
    assert bodies["/robots.txt"].decode().splitlines()[1:] == ["User-agent: *", "Disallow: /"]


def test_no_hub_is_advertised_and_links_lead_to_the_preview(bodies: dict[str, bytes]):
    atom = check_atom(bodies["/feed.atom"])
    namespace = {"a": "http://www.w3.org/2005/Atom"}
    assert not atom.xpath("a:link[@rel='hub']", namespaces=namespace)
    assert atom.xpath("a:link[@rel='self']/@href", namespaces=namespace) == [
        f"{PREVIEW_URL}/feed.atom"
    ]
    assert b"feeds.example.org" not in b"".join(bodies.values())


def test_the_public_build_of_the_same_content_advertises_the_hub(public: dict[str, bytes]):
    assert b"https://hub.example.org/" in public["/feed.atom"]


def test_syndicate_preview_serves_on_its_own_with_noindex_and_no_cache(
    config: Path, tmp_path: Path
):
    with live_server(config, tmp_path / "preview.log", preview=True) as live:
        with urllib.request.urlopen(f"{live.url}/topics/harm-reduction/feed.atom") as response:
            assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
            assert response.headers["Cache-Control"] == "no-cache"
            assert "Link" not in response.headers or "hub" not in response.headers["Link"]
            assert DRAFT_TITLE in titles(response.read())
        assert "preview of" in live.log.read_text()


def test_a_save_is_in_the_preview_at_once(config: Path, tmp_path: Path):
    folder = tmp_path / "content"
    shutil.copytree(config, folder)
    with live_server(folder, tmp_path / "preview.log", preview=True) as live:
        (folder / "items" / "draft.yaml").write_text(DRAFT.replace("Not For Anyone", "Now Edited"))
        deadline = time.monotonic() + 15
        while True:
            with urllib.request.urlopen(f"{live.url}/events.atom") as response:
                found = titles(response.read())
            if "[Draft] Draft Event Now Edited Yet" in found:
                break
            assert time.monotonic() < deadline, found
            time.sleep(0.2)


def test_a_preview_ics_parses_with_icalendar(bodies: dict[str, bytes]):
    calendar = icalendar.Calendar.from_ical(bodies["/items/a-draft-event.ics"])
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == [DRAFT_TITLE]


def test_a_preview_service_runs_no_publisher_and_no_export(config: Path, tmp_path: Path):
    from syndicate.web import Service

    settings = Settings(
        config=config, preview=True, served_url=PREVIEW_URL, export_dir=tmp_path / "export"
    )
    service = Service(settings)
    assert service.publisher is None and service.exporter is None
