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


async def titles_of(client, path: str) -> list[str]:
    feed = await (await client.get(path)).json(content_type=None)
    return [item["title"] for item in feed["items"]]


def groups_on(document, section: str) -> dict[str, list[tuple[str, str, str]]]:
    """Each group of a "latest" section: heading -> (title, state label, datetime)."""
    found = {}
    for heading in document.xpath(f'//section[@id="{section}"]//h3[@class="group"]'):
        items = heading.getnext().xpath("./li")
        found[heading.text_content()] = [
            (li.xpath("./a")[0].text_content(), "".join(li.xpath('.//span[@class="state"]/text()')),
             li.xpath(".//time")[0].get("datetime"))
            for li in items
        ]  # fmt: skip
    return found


async def test_a_topic_page_tells_upcoming_events_voices_and_past_events_apart(client):
    from datetime import datetime

    topic = "/topics/harm-reduction"
    document = await get_page(client, f"{topic}/")
    groups = groups_on(document, "latest")
    assert list(groups) == ["Upcoming events", "Voices", "Past events"]
    upcoming, voices, past = groups.values()
    # Each group is its own feed's list, in that feed's order...
    assert [t for t, _, _ in upcoming] == await titles_of(client, f"{topic}/events/upcoming.json")
    assert [t for t, _, _ in voices] == await titles_of(client, f"{topic}/voices.json")
    assert [t for t, _, _ in past] == await titles_of(client, f"{topic}/events/past.json")
    # ...which reads in date order: events soonest first, then latest first, and each says so.
    starts = [datetime.fromisoformat(when) for _, _, when in upcoming]
    assert starts == sorted(starts) and {state for _, state, _ in upcoming} == {"Upcoming"}
    ended = [datetime.fromisoformat(when) for _, _, when in past]
    assert ended == sorted(ended, reverse=True) and {state for _, state, _ in past} == {"Past"}
    published = [datetime.fromisoformat(when) for _, _, when in voices]
    assert published == sorted(published, reverse=True)
    # No heading repeats the feed's title under "Latest".
    latest = document.xpath('//section[@id="latest"]')[0]
    assert not [h for h in latest.xpath(".//h3|.//h4") if "Open Society" in h.text_content()]


async def test_the_front_page_cards_tell_upcoming_events_from_the_latest_voices(client):
    document = await get_page(client, "/")
    for slug in CATALOG.topics:
        card = document.xpath(f'//article[@id="topic-{slug}"]')[0]
        headings = [h.text_content() for h in card.xpath(".//h4")]
        assert "Past events" not in headings
        for heading in headings:
            states = set(
                card.xpath(
                    f'.//h4[.="{heading}"]/following-sibling::ul[1]//span[@class="state"]/text()'
                )
            )
            assert states == ({"Upcoming"} if heading == "Upcoming events" else set())


async def test_the_front_page_has_no_developer_jargon_and_a_page_for_developers(client):
    front = (await (await client.get("/")).read()).decode()
    for jargon in ("ev:startdate", "Extensions", "_deleted", "RFC 6721"):
        assert jargon not in front
    feed = await (await client.get("/topics/harm-reduction/events.json")).json(content_type=None)
    about = feed["items"][0]["_event"]["about"]
    assert about == f"{BASE}/developers/#extensions"
    developers = await get_page(client, "/developers/")
    assert developers.xpath('//section[@id="extensions"]')
    assert "ev:startdate" in developers.text_content()


async def test_views_of_every_type_that_repeat_the_event_type_s_views_are_not_listed_twice(client):
    document = await get_page(client, "/topics/harm-reduction/")
    rows = [th.text_content() for th in document.xpath('//table[@class="feeds"]//th[@scope="row"]')]
    assert len(rows) == len(set(rows))
    assert not [row for row in rows if "Upcoming events" in row or "Past events" in row]
    assert [row for row in rows if "(upcoming)" in row]  # the event type's own views
    assert (await client.get("/topics/harm-reduction/feed/upcoming.atom")).status == 200  # kept


async def test_robots_txt_lets_pages_and_feeds_be_crawled_but_not_partners_copies(client):
    from urllib.robotparser import RobotFileParser

    response = await client.get("/robots.txt")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    robots = RobotFileParser()
    robots.parse((await response.text()).splitlines())
    for allowed in (
        "/",
        "/topics/harm-reduction/",
        "/feed.atom",
        "/topics/harm-reduction/events.ics",
    ):
        assert robots.can_fetch("AnyBot", BASE + allowed), allowed
    assert not robots.can_fetch("AnyBot", BASE + "/embed/topics/harm-reduction/feed.html")


async def test_pages_name_an_icon_that_is_served(client):
    document = await get_page(client, "/")
    (icon,) = document.xpath('//head/link[@rel="icon"]')
    response = await client.get(icon.get("href").removeprefix(BASE))
    assert response.status == 200 and response.headers["Content-Type"].startswith("image/svg+xml")
    assert (await response.read()).startswith(b"<svg")


def same_list(listed: dict) -> bool:
    """A view of the feed of every type, the same list as the only event type's view: the
    pages list it once, under the event type (feeds.json lists both)."""
    return "/feed/upcoming." in listed["url"] or "/feed/past." in listed["url"]


async def test_a_topic_page_links_every_feed_of_the_topic_in_every_format(client):
    listed = await (await client.get("/feeds.json")).json()
    expected = {
        f["url"] for f in listed["feeds"] if f["topic"] == "harm-reduction" and not same_list(f)
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
        if f["topic"] == "harm-reduction" and f["format"] == "json" and not same_list(f)
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


def test_only_topics_with_events_offer_their_calendar(config_dir):
    from lxml import html as lxml_html

    from syndicate.snapshot import build_snapshot

    snapshot = build_snapshot(load_catalog(config_dir))  # justice has a voice and no event
    front = lxml_html.fromstring(snapshot.representations["/"].body)
    for slug, has_events in (("health", True), ("justice", False)):
        card = front.xpath(f'//article[@id="topic-{slug}"]')[0]
        assert bool(card.xpath(".//a[starts-with(@href, 'webcal:')]")) == has_events, slug
        topic = lxml_html.fromstring(snapshot.representations[f"/topics/{slug}/"].body)
        offered = topic.xpath('//section[@id="subscribe"]//a[starts-with(@href, "webcal:")]')
        assert bool(offered) == has_events, slug
        assert (
            "to your calendar" in topic.xpath('//section[@id="subscribe"]')[0].text_content()
        ) == has_events


def test_a_cancelled_event_is_marked_cancelled_on_every_page(config_dir):
    from lxml import html as lxml_html

    from syndicate.snapshot import build_snapshot
    from tests.conftest import with_cancelled_event

    snapshot = build_snapshot(load_catalog(with_cancelled_event(config_dir)))
    for path in (
        "/",
        "/topics/health/",
        "/topics/health/feed.html",
        "/embed/topics/health/feed.html",
    ):
        page = lxml_html.fromstring(snapshot.representations[path].body)
        items = page.xpath('//li[contains(@class, "item--cancelled")]')
        assert items and all("Cancelled: A talk" in i.text_content() for i in items), path
