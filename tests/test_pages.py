"""The front page, topic pages and iframe pages over HTTP: what each shows, derived from the
content and the feeds themselves, and the headers that keep them safe."""

from __future__ import annotations

import json

import pytest
from lxml import html

from syndicate.loader import load_catalog
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.feedcheck import check_frame, check_page

CATALOG = load_catalog(CONTENT)
BASE = "https://feeds.example.org"  # the tests' content names its public URL


@pytest.fixture
async def client(serve):
    return await serve(Settings(config=CONTENT, watch=False, access_log=False))


async def get_page(client, path: str) -> html.HtmlElement:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return check_page(await response.read(), BASE)


@pytest.mark.parametrize("slug", list(CATALOG.topics))
async def test_every_topic_has_a_page_saying_what_it_is(client, slug):
    topic = CATALOG.topics[slug]
    document = await get_page(client, f"/topics/{slug}/")
    assert document.findtext(".//h1") == topic.title
    assert topic.description in document.text_content()


async def test_a_topic_page_shows_the_topics_latest_items_in_feed_order(client):
    feed = await (await client.get("/topics/harm-reduction/feed.json")).json(content_type=None)
    document = await get_page(client, "/topics/harm-reduction/")
    shown = [a.text_content() for a in document.xpath('//section[@id="latest"]//h4/a')]
    assert shown == [item["title"] for item in feed["items"][:10]]


async def test_a_topic_page_links_every_feed_of_the_topic_in_every_format(client):
    listed = await (await client.get("/feeds.json")).json()
    expected = {
        f["url"] for f in listed["feeds"] if f["topic"] == "harm-reduction"
    }  # feeds.json names feeds, calendars, fragments and iframe pages alike
    document = await get_page(client, "/topics/harm-reduction/")
    linked = {a.get("href") for a in document.xpath('//table[@class="feeds"]//a')}
    assert expected and expected <= linked
    other_topic = {f["url"] for f in listed["feeds"] if f["topic"] == "drug-policy"}
    assert not other_topic & linked


async def test_a_topic_page_lets_readers_find_the_topics_feeds(client):
    document = await get_page(client, "/topics/harm-reduction/")
    found = {link.get("href") for link in document.xpath('//head/link[@rel="alternate"]')}
    assert f"{BASE}/topics/harm-reduction/feed.atom" in found
    assert f"{BASE}/topics/harm-reduction/events.rss" in found
    assert all("/topics/harm-reduction/" in url for url in found)
    assert not any("upcoming" in url or "past" in url for url in found)


async def test_a_topic_page_offers_its_calendar_as_a_subscription(client):
    document = await get_page(client, "/topics/harm-reduction/")
    webcal = {a.get("href") for a in document.xpath('//section[@id="subscribe"]//a')}
    assert "webcal://feeds.example.org/topics/harm-reduction/feed.ics" in webcal


async def test_the_embed_builder_offers_every_json_feed_of_the_topic(client):
    listed = await (await client.get("/feeds.json")).json()
    expected = [
        f["url"]
        for f in listed["feeds"]
        if f["topic"] == "harm-reduction" and f["format"] == "json"
    ]
    document = await get_page(client, "/topics/harm-reduction/")
    options = document.xpath('//select[@id="b-feed"]/option')
    assert [o.get("value") for o in options] == expected
    for option in options:
        assert option.get("data-frame").endswith(".html") and "/embed/" in option.get("data-frame")


@pytest.mark.parametrize("path", ["/", "/topics/harm-reduction/"])
async def test_pages_forbid_inline_script_and_being_framed(client, path):
    response = await client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp


async def test_iframe_pages_run_no_script_and_may_be_framed_anywhere(client):
    response = await client.get("/embed/topics/harm-reduction/feed.html")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors *" in csp
    section = check_frame(await response.read())
    feed = json.loads(await (await client.get("/topics/harm-reduction/feed.json")).read())
    titles = [a.text_content() for a in section.xpath(".//h2/a")]
    assert titles == [item["title"] for item in feed["items"]]


async def test_a_page_asked_for_without_its_slash_redirects(client):
    response = await client.get("/topics/harm-reduction", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == "/topics/harm-reduction/"


async def test_an_unknown_topic_page_is_a_helpful_404(client):
    response = await client.get("/topics/nope/")
    assert response.status == 404
    assert "Every feed is listed at" in await response.text()
