"""The feeds page, OPML and feeds.json list every feed in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html import escape as html_escape

import pytest
from lxml import html

from syndicate.loader import load_catalog
from syndicate.snapshot import build_snapshot
from tests.conftest import CONTENT

SNAPSHOT = build_snapshot(load_catalog(CONTENT))
BASE = "https://feeds.example.org"
# What the discovery documents list: every feed, not its archive pages (found by their links).
LISTED = {
    path: rep
    for path, rep in SNAPSHOT.representations.items()
    if rep.key is None or rep.key.page is None
}
FEED_URLS = {
    BASE + path
    for path, rep in LISTED.items()
    if rep.key is not None and rep.format in ("atom", "rss", "json")
}
CALENDAR_URLS = {BASE + path for path, rep in LISTED.items() if rep.format == "ics"}
FRAGMENT_URLS = {BASE + path for path, rep in LISTED.items() if rep.format == "fragment"}
FRAME_URLS = {BASE + path for path, rep in LISTED.items() if rep.format == "frame"}


def page() -> html.HtmlElement:
    return html.fromstring(SNAPSHOT.representations["/"].body)


def test_page_has_an_autodiscovery_link_for_every_feed_but_not_its_views():
    links = page().xpath('//head/link[@rel="alternate"]')
    expected = {
        BASE + path for path, rep in LISTED.items()
        if BASE + path in FEED_URLS and rep.key is not None and rep.key.view is None
    }  # fmt: skip
    assert {link.get("href") for link in links} == expected
    types = {link.get("type") for link in links}
    assert types == {"application/atom+xml", "application/rss+xml", "application/feed+json"}
    assert all(link.get("title") for link in links)


def test_every_feed_calendar_fragment_and_iframe_url_is_one_click_away():
    linked = {a.get("href") for a in page().xpath('//table[@class="feeds"]//a')}
    keyed = {BASE + path for path, rep in LISTED.items() if rep.key is not None}
    assert keyed == FEED_URLS | CALENDAR_URLS | FRAGMENT_URLS | FRAME_URLS
    # The views of the feeds of every type hold what the one event type's views hold: the
    # page lists each list once, under the event type.
    same_lists = {
        BASE + path for path, rep in LISTED.items()
        if rep.key is not None and rep.key.type is None and rep.key.view is not None
    }  # fmt: skip
    assert same_lists and keyed - same_lists <= linked
    assert not same_lists & linked


def test_page_offers_a_webcal_subscription_for_every_calendar():
    webcal = {a.get("href") for a in page().xpath("//a[starts-with(@href, 'webcal:')]")}
    listed = {
        url for url in CALENDAR_URLS if "/feed/upcoming." not in url and "/feed/past." not in url
    }
    assert webcal == {"webcal://" + url.removeprefix("https://") for url in listed}
    assert len(CALENDAR_URLS) == 6 * 3  # everything, events, both per topic; each in 3 views
    assert len(listed) == 6 * 3 - 3 * 2  # the views of everything: listed under events


def test_page_leads_with_the_topics_each_with_one_subscribe_action_and_its_page():
    root = page()
    assert root.findtext(".//title") == "Open Society Foundations: feeds"
    cards = root.xpath('//section[@id="topics"]//article[@class="card"]')
    assert [c.get("id") for c in cards] == ["topic-harm-reduction", "topic-drug-policy"]
    for card, slug in zip(cards, ["harm-reduction", "drug-policy"], strict=True):
        assert card.xpath(".//h3/a")[0].get("href") == f"{BASE}/topics/{slug}/"
        subscribe = card.xpath('.//a[@class="button"]')
        assert [a.get("href") for a in subscribe] == [f"{BASE}/topics/{slug}/feed.atom"]
    subscribe = root.xpath('//section[@id="subscribe"]')[0].text_content()
    assert "feed reader" in subscribe and "OPML" in subscribe
    assert not root.xpath('//section[@id="extensions"]')  # for developers, on their page


def test_each_topic_description_is_printed_once():
    text = SNAPSHOT.representations["/"].body.decode("utf-8")
    for topic in load_catalog(CONTENT).topics.values():
        if topic.description:
            assert text.count(html_escape(topic.description, quote=False)) == 1, topic.slug


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


@pytest.mark.parametrize("path", ["/feeds.opml", "/feeds-rss.opml", "/feeds-json.opml"])
def test_opml_groups_each_topic_once_and_holds_no_empty_outline(path):
    from email.utils import parsedate_to_datetime

    root = ET.fromstring(SNAPSHOT.representations[path].body)
    groups = list(root.find("body"))
    assert [g.get("text") for g in groups] == [
        "Open Society Foundations: everything", "Harm Reduction", "Drug Policy",
    ]  # fmt: skip
    for outline in root.iter("outline"):
        assert outline.get("xmlUrl") or len(outline), "an outline with no feed and no children"
    modified = root.findtext("head/dateModified")
    assert modified.endswith(" GMT")
    newest = max(
        max(i.updated, i.withdrawn.date) if i.withdrawn else i.updated
        for i in load_catalog(CONTENT).items
    )
    assert parsedate_to_datetime(modified) == newest


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
