"""The service's own HTML pages, rendered with the snapshot from templates (autoescaped):

* `/` the front page: the topics first, each with its latest items and one subscribe action
  (and a calendar for topics with events), the site-wide feeds, then every feed URL in
  every format one click away;
* `/topics/{topic}/` a topic page: what the topic is, its latest items, every feed and
  calendar of it with copy buttons and subscribe links, autodiscovery links for its feeds,
  and the embed builder (pick a feed and options, see a live preview, copy the snippet);
* `/developers/` what the feeds carry beyond their formats; `/robots.txt`.

"Latest" is told by kind (`groups`): upcoming events soonest first and marked so, past
events latest first and marked past, other items newest first; never one list sorted by
publication that shows event dates.

Pure functions from the catalog and its feed listing to bytes. Pages run no inline script
or style (their CSP forbids it): style and behaviour are `static/pages.css` and `pages.js`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from syndicate import assets, templating, urls
from syndicate.discovery import Listed
from syndicate.feeds import FeedView
from syndicate.model import Catalog, Kind, Topic
from syndicate.render import FORMATS
from syndicate.render.fragment import Entry, entry
from syndicate.render.registry import CALENDAR, FEED, FRAGMENT, FRAME
from syndicate.urls import FeedKey

LATEST_ON_FRONT = 3  # items per topic on the front page
LATEST_ON_TOPIC = 10  # items on a topic page
ROW_HEIGHT, HEADING_HEIGHT = 84, 48  # iframe pages' rows and heading, pixels (pages.css)


@dataclass(frozen=True)
class FeedRow:
    """One feed (or view) with its URL in every format."""

    view: FeedView
    formats: tuple[Listed, ...]

    def url(self, name: str) -> str | None:
        return next((entry.url for entry in self.formats if entry.format.name == name), None)


@dataclass(frozen=True)
class Group:
    """Latest items of one kind, in the order that suits it: upcoming events soonest first,
    past events latest first, other items newest first. `state` ("upcoming", "past" or "")
    is said beside each item, so a past event never reads as one to come."""

    heading: str
    entries: tuple[Entry, ...]
    state: str = ""


@dataclass(frozen=True)
class Card:
    """A topic (or everything) as the front page shows it."""

    view: FeedView  # its feed of every type
    topic: Topic | None
    groups: tuple[Group, ...]
    feed_url: str  # the one subscribe action: Atom
    calendar_url: str | None
    page_url: str | None  # the topic page


def rows(
    listed: tuple[Listed, ...], topic: str | None = None, everything: bool = False
) -> list[FeedRow]:
    """The feeds of `topic` (site-wide ones if None, every feed if `everything`), each with
    its formats, in listing order."""
    if everything:
        return _rows(listed)
    return list(rows_by_topic(listed).get(topic, ()))


def rows_by_topic(listed: tuple[Listed, ...]) -> dict[str | None, tuple[FeedRow, ...]]:
    """The feeds of every topic (None: site-wide), each with its formats: grouped in one
    pass, and once per listing, as every topic page and the front page ask for them (asking
    each topic's of the whole listing made the front page quadratic in topics)."""
    if isinstance(listed, Listing):
        return listed.by_topic
    return _group(listed)


def _group(listed: tuple[Listed, ...]) -> dict[str | None, tuple[FeedRow, ...]]:
    grouped: dict[str | None, list[FeedRow]] = {}
    for row in _rows(listed):
        grouped.setdefault(row.view.key.topic, []).append(row)
    return {topic: tuple(found) for topic, found in grouped.items()}


def _rows(listed: tuple[Listed, ...]) -> list[FeedRow]:
    by_view: dict[FeedKey, list[Listed]] = {}
    views: dict[FeedKey, FeedView] = {}
    for entry_ in listed:
        key = entry_.view.key
        by_view.setdefault(key, []).append(entry_)
        views[key] = entry_.view
    return [FeedRow(views[key], tuple(found)) for key, found in by_view.items()]


class Listing(tuple[Listed, ...]):
    """A listing that groups its rows by topic once, when first asked."""

    @functools.cached_property
    def by_topic(self) -> dict[str | None, tuple[FeedRow, ...]]:
        return _group(self)


def groups(catalog: Catalog, found: list[FeedRow], limit: int, past: bool) -> tuple[Group, ...]:
    """The latest items of a topic (or of everything), from its feeds `found`: for each type,
    in the site's order, its upcoming events or its newest items, then (if `past`) past
    events; at most `limit` in each group, empty groups left out."""
    by_key = {row.view.key: row.view for row in found}
    made: list[Group] = []
    ended: list[Group] = []  # past events come last, after everything current
    for content_type in catalog.types.values():
        key = next((k for k in by_key if k.type == content_type.slug and k.view is None), None)
        if key is None:
            continue
        if content_type.kind is not Kind.EVENT:
            made.append(Group(content_type.title, _entries(by_key[key], limit)))
            continue
        noun = content_type.title[:1].lower() + content_type.title[1:]
        for view, into in ((urls.UPCOMING, made), (urls.PAST, ended if past else None)):
            shown = by_key.get(replace(key, view=view))
            if into is not None and shown is not None:
                into.append(Group(f"{view.capitalize()} {noun}", _entries(shown, limit), view))
    return tuple(group for group in made + ended if group.entries)


def _entries(view: FeedView, limit: int) -> tuple[Entry, ...]:
    return tuple(entry(view, item) for item in view.entries[:limit])


def _card(catalog: Catalog, found: list[FeedRow]) -> Card:
    row = found[0]
    view = row.view
    site = catalog.site
    topic = view.topic
    calendar = _events_row(catalog, found)
    return Card(
        view=view,
        topic=topic,
        groups=groups(catalog, found, LATEST_ON_FRONT, past=False),
        feed_url=row.url("atom") or "",
        calendar_url=calendar.url("ics") if calendar else None,
        page_url=urls.absolute(site, urls.topic_page_path(topic.slug)) if topic else None,
    )


def _events_row(catalog: Catalog, found: list[FeedRow]) -> FeedRow | None:
    """The feed whose calendar to offer: the one of every type, if it has a calendar and
    the topic (or the site) has at least one event to put in it."""
    row = next((row for row in found if row.url("ics") and row.view.key.view is None), None)
    if row is None:
        return None
    topic = row.view.key.topic
    items = catalog.by_topic[topic] if topic else catalog.items
    return row if any(item.event is not None for item in items) else None


def _listed_rows(catalog: Catalog, found: list[FeedRow]) -> list[FeedRow]:
    """`found` as the pages list them: without the upcoming and past views of the feeds of
    every type when the site has one event type, whose own views are the same lists
    ("Upcoming events" and "Events (upcoming)"). Those URLs still answer."""
    event_types = [t for t in catalog.types.values() if t.kind is Kind.EVENT]
    if len(event_types) != 1:
        return found
    return [row for row in found if row.view.key.type or row.view.key.view is None]


def _common(catalog: Catalog) -> dict[str, object]:
    site = catalog.site
    page_assets = assets.page_assets()
    return {
        "site": site,
        "stylesheet": urls.absolute(site, page_assets["css"].path),
        "script": urls.absolute(site, page_assets["js"].path),
        "icon": urls.absolute(site, page_assets["icon"].path),
        "front_url": urls.absolute(site, urls.INDEX_PATH),
        "developers_url": urls.absolute(site, urls.DEVELOPERS_PATH),
        "webcal": urls.webcal,
        "formats": list(FORMATS.values()),
        "kinds": {"feed": FEED, "calendar": CALENDAR, "fragment": FRAGMENT, "frame": FRAME},
        "email_action": urls.absolute(site, urls.EMAIL_SUBSCRIBE_PATH),
        "types": list(catalog.types.values()),
    }


@dataclass(frozen=True)
class Account:
    """An actor as a page shows it: its handle to search for, its actor URL."""

    handle: str
    actor: str


def _account(catalog: Catalog, handle: str) -> Account | None:
    """The fediverse account of `handle` when the site is followable there."""
    site = catalog.site
    if site.actors_key is None:
        return None
    host = urlsplit(urls.absolute(site, "/")).netloc
    return Account(f"@{handle}@{host}", urls.absolute(site, urls.actor_path(handle)))


def front_page(catalog: Catalog, listed: tuple[Listed, ...]) -> bytes:
    """`/`: the topics first, then everything, then every feed URL."""
    site = catalog.site
    cards = []
    grouped = rows_by_topic(listed)
    for slug in catalog.topics:
        found = list(grouped.get(slug, ()))
        if found:  # a listing of only some feeds (tests) may leave a topic out
            cards.append(_card(catalog, found))
    site_wide = list(grouped.get(None, ()))
    return templating.render(
        "index.html",
        **_common(catalog),
        cards=cards,
        everything=_card(catalog, site_wide),
        autodiscovery=[e for e in listed if e.format.is_feed and e.view.key.view is None],
        opml_url=urls.absolute(site, urls.opml_path(urls.OPML_FORMAT)),
        other_opml=[
            (urls.absolute(site, urls.opml_path(fmt.name)), fmt.label)
            for fmt in FORMATS.values()
            if fmt.name != urls.OPML_FORMAT and fmt.is_feed
        ],
        json_url=urls.absolute(site, urls.FEEDS_JSON_PATH),
        rows=_listed_rows(catalog, rows(listed, everything=True)),
        account=_account(catalog, urls.SITE_HANDLE),
    )


def topic_page(catalog: Catalog, listed: tuple[Listed, ...], slug: str) -> bytes:
    """`/topics/{slug}/`: the topic, its latest items, its feeds, the embed builder."""
    site = catalog.site
    found = rows(listed, slug)
    main = found[0]
    calendar = _events_row(catalog, found)
    shown = _listed_rows(catalog, found)
    builder = [row for row in shown if row.url("json")]
    return templating.render(
        "topic.html",
        **_common(catalog),
        topic=catalog.topics[slug],
        view=main.view,
        groups=groups(catalog, found, LATEST_ON_TOPIC, past=True),
        main=main,
        calendar_url=calendar.url("ics") if calendar else None,
        rows=shown,
        autodiscovery=[
            e for row in found if row.view.key.view is None for e in row.formats if e.format.is_feed
        ],
        builder=builder,
        embed_script=urls.absolute(site, urls.embed_script_path(1)),
        embed_style=urls.absolute(site, urls.embed_style_path(1)),
        row_height=ROW_HEIGHT,
        heading_height=HEADING_HEIGHT,
        account=_account(catalog, slug),
    )


def developers_page(catalog: Catalog, listed: tuple[Listed, ...]) -> bytes:
    """`/developers/`: what the feeds carry beyond their formats (event elements, withdrawal
    announcements), for developers; the JSON Feed extensions' `about` points here."""
    site = catalog.site
    return templating.render(
        "developers.html",
        **_common(catalog),
        autodiscovery=[],
        json_url=urls.absolute(site, urls.FEEDS_JSON_PATH),
    )


def signup_fragment(catalog: Catalog, listed: tuple[Listed, ...], slug: str | None = None) -> bytes:
    """The email sign-up form of a topic (or of everything) as an HTML fragment, for partners'
    servers to include: the form our pages carry, posting to the service (docs/email.md)."""
    topic = catalog.topics[slug] if slug else None
    heading = (
        f"Sign up to receive updates about our work in {topic.area or topic.title}"
        if topic else f"Sign up to receive updates from {catalog.site.title}"
    )  # fmt: skip
    return templating.render("signup_fragment.html", **_common(catalog), topic=topic,
                             heading=heading)  # fmt: skip


def robots(catalog: Catalog, listed: tuple[Listed, ...]) -> bytes:
    """`/robots.txt`: pages and feeds may be crawled; the HTML made for partners' pages
    (iframe pages, fragments) may not, being copies of the feeds for other sites. Nothing
    of a preview (preview.py) may."""
    if catalog.site.preview:
        title = catalog.site.title
        return f"# {title}: a preview, not public\nUser-agent: *\nDisallow: /\n".encode()
    return (
        f"# {catalog.site.title}: feeds\n"
        "User-agent: *\n"
        f"Disallow: {urls.FRAME_PREFIX}/\n"
        "Disallow: /*.html$\n"
    ).encode()
