"""The feeds page, OPML and feeds.json list every feed in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from lxml import html

from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot
from tests.conftest import CONTENT

SNAPSHOT = build_snapshot(load_catalog(CONTENT))
BASE = "https://feeds.example.org"
FEED_URLS = {
    BASE + path
    for path, rep in SNAPSHOT.representations.items()
    if rep.key is not None and rep.format in ("atom", "rss", "json")
}
CALENDAR_URLS = {
    BASE + path for path, rep in SNAPSHOT.representations.items() if rep.format == "ics"
}
FRAGMENT_URLS = {
    BASE + path for path, rep in SNAPSHOT.representations.items() if rep.format == "fragment"
}


def page() -> html.HtmlElement:
    return html.fromstring(SNAPSHOT.representations["/"].body)


def test_page_has_an_autodiscovery_link_for_every_feed():
    links = page().xpath('//head/link[@rel="alternate"]')
    assert {link.get("href") for link in links} == FEED_URLS
    types = {link.get("type") for link in links}
    assert types == {"application/atom+xml", "application/rss+xml", "application/feed+json"}
    assert all(link.get("title") for link in links)


def test_page_offers_every_feed_calendar_and_fragment_url_to_copy():
    offered = {field.get("value") for field in page().xpath("//input[@readonly]")}
    assert offered == FEED_URLS | CALENDAR_URLS | FRAGMENT_URLS


def test_page_offers_a_webcal_subscription_next_to_every_calendar():
    webcal = {a.get("href") for a in page().xpath("//a[starts-with(@href, 'webcal:')]")}
    assert webcal == {"webcal://" + url.removeprefix("https://") for url in CALENDAR_URLS}
    assert len(CALENDAR_URLS) == 6 * 3  # everything, events, both per topic; each in 3 views


def test_page_lists_the_topics_and_explains_how_to_subscribe():
    root = page()
    assert root.findtext(".//title") == "Open Society Foundations: feeds"
    assert (
        root.xpath('//section[@id="topic-harm-reduction"]/h2')[0]
        .text_content()
        .startswith("Harm Reduction")
    )
    subscribe = root.xpath('//section[@id="subscribe"]')[0].text_content()
    assert "feed reader" in subscribe and "OPML" in subscribe
    assert root.xpath('//section[@id="extensions"]')  # the JSON Feed extensions' "about" target
    assert root.get("lang") == "en"


@pytest.mark.parametrize(
    ("path", "extension", "version"),
    [
        ("/feeds.opml", "atom", "ATOM"),
        ("/feeds-rss.opml", "rss", "RSS2"),
        ("/feeds-json.opml", "json", "JSONFEED"),
    ],
)
def test_each_opml_lists_every_feed_once_in_one_format(path, extension, version):
    root = ET.fromstring(SNAPSHOT.representations[path].body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Open Society Foundations feeds"
    outlines = [o for o in root.iter("outline") if o.get("xmlUrl")]
    # 1 + 2 types site-wide, and for each of the 2 topics its feed and one per type
    expected = {
        BASE + p
        for p in [
            "/feed", "/events", "/voices",
            *(f"/topics/{t}/{n}" for t in ("harm-reduction", "drug-policy") for n in ("feed", "events", "voices")),
        ]
    }  # fmt: skip
    assert {o.get("xmlUrl") for o in outlines} == {u + "." + extension for u in expected}
    assert len(outlines) == 9
    assert all(o.get("type") == "rss" and o.get("version") == version for o in outlines)
    assert all(o.get("text") and o.get("htmlUrl") for o in outlines)


def test_feeds_json_is_the_machine_readable_twin():
    data = json.loads(SNAPSHOT.representations["/feeds.json"].body)
    assert {feed["url"] for feed in data["feeds"] if feed["kind"] == "feed"} == FEED_URLS
    assert {feed["url"] for feed in data["feeds"] if feed["kind"] == "calendar"} == CALENDAR_URLS
    events = next(
        f for f in data["feeds"] if f["url"] == BASE + "/topics/harm-reduction/events.json"
    )
    assert events == {
        "url": BASE + "/topics/harm-reduction/events.json",
        "title": "Open Society Foundations: Harm Reduction – Events",
        "kind": "feed",
        "format": "json",
        "media_type": "application/feed+json",
        "topic": "harm-reduction",
        "type": "events",
        "entries": 3,
        "updated": "2026-11-25T08:00:00-05:00",
    }
