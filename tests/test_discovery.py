"""The feeds page, OPML and feeds.json list every feed in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from lxml import html

from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot
from tests.conftest import SAMPLE

SNAPSHOT = build_snapshot(load_catalog(SAMPLE))
BASE = "http://127.0.0.1:8080"
FEED_URLS = {BASE + path for path, rep in SNAPSHOT.representations.items() if rep.key is not None}


def page() -> html.HtmlElement:
    return html.fromstring(SNAPSHOT.representations["/"].body)


def test_page_has_an_autodiscovery_link_for_every_feed():
    links = page().xpath('//head/link[@rel="alternate"]')
    assert {link.get("href") for link in links} == FEED_URLS
    types = {link.get("type") for link in links}
    assert types == {"application/atom+xml", "application/rss+xml", "application/feed+json"}
    assert all(link.get("title") for link in links)


def test_page_offers_every_feed_url_to_copy():
    assert {field.get("value") for field in page().xpath("//input[@readonly]")} == FEED_URLS


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


def test_opml_lists_every_feed_with_xml_url():
    root = ET.fromstring(SNAPSHOT.representations["/feeds.opml"].body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Open Society Foundations feeds"
    outlines = [o for o in root.iter("outline") if o.get("xmlUrl")]
    assert {o.get("xmlUrl") for o in outlines} == FEED_URLS
    assert all(o.get("type") == "rss" and o.get("text") and o.get("htmlUrl") for o in outlines)


def test_feeds_json_is_the_machine_readable_twin():
    data = json.loads(SNAPSHOT.representations["/feeds.json"].body)
    assert {feed["url"] for feed in data["feeds"]} == FEED_URLS
    events = next(
        f for f in data["feeds"] if f["url"] == BASE + "/topics/harm-reduction/events.json"
    )
    assert events == {
        "url": BASE + "/topics/harm-reduction/events.json",
        "title": "Open Society Foundations: Harm Reduction – Events",
        "format": "json",
        "media_type": "application/feed+json",
        "topic": "harm-reduction",
        "type": "events",
        "entries": 4,
        "updated": "2026-11-20T10:00:00-05:00",
    }
