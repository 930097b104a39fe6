"""Every public URL and permanent id, built in one place so routes and links cannot drift.

URL scheme (paths below the service's public base URL):

    /                              the front page: topics, their latest items, every feed
    /topics/{topic}/               a topic page: its feeds and calendars, the embed builder
    /feeds.opml                    OPML of every feed, in Atom (feeds-rss.opml, feeds-json.opml)
    /feeds.json                    every feed in every format, for programs
    /feed.{ext}                    everything, site-wide
    /{type}.{ext}                  one content type, site-wide   /events.atom
    /topics/{topic}/feed.{ext}     one topic, every type         /topics/harm-reduction/feed.rss
    /topics/{topic}/{type}.{ext}   one topic, one type           /topics/harm-reduction/events.json
    .../{name}/upcoming.{ext}      of a feed that holds events, the events not yet ended,
    .../{name}/past.{ext}          soonest first; and those ended, latest first:
                                   /events/upcoming.ics, /topics/harm-reduction/feed/past.atom
    .../{name}/archive/{n}.{ext}   archive page n of a feed (RFC 5005), Atom, RSS and JSON
                                   Feed: 1 holds the oldest `feed_size` items, n+1 the next
    /items/{id}.ics                one event as a calendar file ("Add to calendar")
    /embed/v1.js                   the embed script partners load (<syndicate-feed>), which
                                   imports /embed/v1.{hash}.js, cached as immutable
    /embed/v1.css                  its stylesheet for the page's head (reserves its space)
    /embed/{feed path}.html        a feed as a page to show in an iframe:
                                   /embed/topics/harm-reduction/feed.html
    /assets/pages.{hash}.{css,js}  our pages' style and script, immutable
    /healthz, /metrics             operations

With SYNDICATE_FEDIVERSE on (fediverse/, web/fediverse.py), every topic is an ActivityPub
actor `@{topic}@{host}` and the site is `@everything@{host}`:

    /.well-known/webfinger?resource=acct:{handle}@{host}   WebFinger (RFC 7033)
    /.well-known/nodeinfo, /nodeinfo/2.1                   NodeInfo
    /ap/actors/{handle}            the actor (JSON-LD; a browser is sent to the topic page)
    /ap/actors/{handle}/inbox      its inbox; /ap/inbox, the shared inbox
    /ap/actors/{handle}/outbox     its posts, newest first, paged: .../outbox/{n}
    /ap/actors/{handle}/followers  how many follow it (who: not public)
    /ap/notes/{id}                 an item as a Note (a browser is sent to the item's page)
    /ap/events/{id}                an event as an Event, for event software (@events@{host})

Permanent ids are RFC 4151 tag URIs: `tag:{authority},{date}:{specific}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from syndicate.model import Catalog, Site

ALL = "feed"  # the file name of "every type" feeds
FRAME_PREFIX = "/embed"  # iframe pages: /embed/topics/harm-reduction/feed.html
INDEX_PATH = "/"
FEEDS_JSON_PATH = "/feeds.json"
DEVELOPERS_PATH = "/developers/"  # what the feeds carry beyond their formats, for developers
ROBOTS_PATH = "/robots.txt"
SCHEMA_PATH = "/schema/content.json"  # the content definitions' JSON Schema, for editors
EMAIL_SUBSCRIBE_PATH = "/email/subscribe"  # email updates' sign-up (web/signup.py)
EMAIL_FORM_PREFIX = "/email/form"  # its form as HTML fragments, for partners' servers
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
OPML_FORMAT = "atom"  # the format `/feeds.opml` lists; readers import each feed once
SITE_HANDLE = "everything"  # the site's fediverse actor, which follows every topic's items
EVENTS_HANDLE = "events"  # the actor for event software: every event as an Event object
AP_PREFIX = "/ap/"
SHARED_INBOX_PATH = "/ap/inbox"
WEBFINGER_PATH = "/.well-known/webfinger"
NODEINFO_PATH = "/.well-known/nodeinfo"
NODEINFO_DOCUMENT_PATH = "/nodeinfo/2.1"

# Names a content type's slug cannot take, because `/{type}.{ext}` (or, in a static build,
# `{type}.html`) would be one of the service's own paths: name -> the path it would collide with.
RESERVED_NAMES = {
    ALL: "/feed.{ext}, the feeds of everything",
    "feeds": "/feeds.opml, /feeds-rss.opml, /feeds-json.opml and /feeds.json",
    "index": "index.html, the feeds page in a static build",
    HEALTH_PATH.lstrip("/"): HEALTH_PATH,
    METRICS_PATH.lstrip("/"): METRICS_PATH,
    "items": "/items/{id}.ics, one event's calendar file",
    "embed": "/embed/v1.js, the embed script",
    "assets": "/assets/, our pages' stylesheet and script",
    "email": "/email/, the sign-up, confirmation, unsubscribe and manage pages of email updates",
    "schema": "/schema/content.json, the content's JSON Schema",
}


def opml_path(format_name: str) -> str:
    """The OPML list of every feed in one format: Atom at `/feeds.opml`, the others beside it."""
    return "/feeds.opml" if format_name == OPML_FORMAT else f"/feeds-{format_name}.opml"


UPCOMING, PAST = "upcoming", "past"
ARCHIVE = "archive"  # archive pages: /topics/harm-reduction/feed/archive/1.atom
VIEWS = (UPCOMING, PAST)  # of feeds that hold events: not yet ended, and ended


@dataclass(frozen=True, order=True)
class FeedKey:
    """Which items a feed selects: a topic or every topic, a type or every type; and for
    feeds that hold events, optionally only the upcoming or only the past events."""

    topic: str | None = None
    type: str | None = None
    view: str | None = None  # None, UPCOMING or PAST
    page: int | None = None  # an archive page of the feed (RFC 5005), 1 the oldest


def feed_path(key: FeedKey, extension: str) -> str:
    """The path of `key`'s feed in the format with file `extension` (e.g. "atom"):
    `/topics/harm-reduction/events.atom`, `/topics/harm-reduction/events/upcoming.ics`."""
    name = key.type or ALL
    if key.view:
        name = f"{name}/{key.view}"
    if key.page is not None:
        name = f"{name}/{ARCHIVE}/{key.page}"
    return f"/topics/{key.topic}/{name}.{extension}" if key.topic else f"/{name}.{extension}"


_FEED_PATH = re.compile(
    r"^(?:/topics/(?P<topic>[a-z0-9][a-z0-9-]*))?/(?P<name>[a-z0-9][a-z0-9-]*)"
    r"(?:/(?P<view>upcoming|past))?\.(?P<ext>[a-z]+)$"
)


def parse_feed_path(path: str) -> tuple[FeedKey, str] | None:
    """The inverse of `feed_path`: (key, extension), or None if `path` is not feed-shaped."""
    match = _FEED_PATH.match(path)
    if not match:
        return None
    name = match["name"]
    key = FeedKey(match["topic"], None if name == ALL else name, match["view"])
    return key, match["ext"]


@dataclass(frozen=True)
class Moves:
    """Former slugs -> today's, for topics and for types (their `aliases`)."""

    topics: Mapping[str, str]
    types: Mapping[str, str]

    def __bool__(self) -> bool:
        return bool(self.topics or self.types)


def moves_of(catalog: Catalog) -> Moves:
    """Each former slug (`aliases`) of a topic or type -> its slug today."""
    return Moves(
        MappingProxyType({a: t.slug for t in catalog.topics.values() for a in t.aliases}),
        MappingProxyType({a: t.slug for t in catalog.types.values() for a in t.aliases}),
    )


def _renamed(path: str, topics: Callable[[str], str], types: Callable[[str], str]) -> str:
    """`path` with its topic segment and its type segment passed through the functions: the
    one place that knows where the slugs are in every path (`feed_path`, archive pages,
    topic pages, their `/embed/` iframe pages)."""
    prefix = FRAME_PREFIX if path.startswith(FRAME_PREFIX + "/") else ""
    parts = path[len(prefix) :].split("/")
    at = 1
    if len(parts) >= 4 and parts[1] == "topics":
        parts[2] = topics(parts[2])
        at = 3
    if at < len(parts) and parts[at]:
        name, dot, extension = parts[at].partition(".")
        if dot or at + 1 < len(parts):  # `/{type}.{ext}` or `/{type}/...`
            parts[at] = types(name) + dot + extension
    return prefix + "/".join(parts)


def moved_path(path: str, moves: Moves) -> str:
    """Where `path` is since its topic or type was renamed (itself when nothing moved)."""
    return _renamed(path, lambda t: moves.topics.get(t, t), lambda t: moves.types.get(t, t))


def slugs_in(path: str) -> tuple[str | None, str | None]:
    """The topic and the type slug `path` names (None where it names none)."""
    found: dict[str, str] = {}

    def seen(where: str) -> Callable[[str], str]:
        def keep(slug: str) -> str:
            found[where] = slug
            return slug

        return keep

    _renamed(path, seen("topic"), seen("type"))
    return found.get("topic"), found.get("type")


def former_paths(path: str, moves: Moves) -> list[str]:
    """Every path that named `path` under a former slug of its topic or type."""
    topic, kind = slugs_in(path)
    topic_names = [topic, *_former(moves.topics).get(topic, ())] if topic else [None]
    type_names = [kind, *_former(moves.types).get(kind, ())] if kind else [None]
    found = []
    for old_topic in topic_names:
        for old_type in type_names:
            former = _renamed(path, _as(old_topic), _as(old_type))
            if former != path:
                found.append(former)
    return found


def _as(name: str | None) -> Callable[[str], str]:
    """A renaming to `name` (None: keep the slug)."""
    return lambda slug: name or slug


def _former(moves: Mapping[str, str]) -> dict[str, list[str]]:
    """today's slug -> its former slugs."""
    former: dict[str, list[str]] = {}
    for old, new in moves.items():
        former.setdefault(new, []).append(old)
    return former


def absolute(site: Site, path: str) -> str:
    """`path` below the service's public base URL."""
    if site.feeds_url is None:  # build.public_url settles it before anything is rendered
        raise ValueError("no public URL yet: render only a catalog from build.with_public_url")
    return site.feeds_url + path


def actor_path(handle: str) -> str:
    return f"/ap/actors/{handle}"


def outbox_page_path(handle: str, page: int) -> str:
    """Page `page` (1: the newest posts) of an actor's outbox."""
    return f"{actor_path(handle)}/outbox/{page}"


def note_path(item_id: str) -> str:
    return f"/ap/notes/{item_id}"


def event_object_path(item_id: str) -> str:
    """An event as an ActivityStreams `Event`, for event software (Mobilizon, Gancio)."""
    return f"/ap/events/{item_id}"


def webfinger_document_path(handle: str) -> str:
    """Where the snapshot keeps the WebFinger answer for `handle` (served for
    /.well-known/webfinger?resource=acct:{handle}@{host})."""
    return f"{WEBFINGER_PATH}/{handle}"


def event_calendar_path(item_id: str) -> str:
    """One event's calendar file, for "Add to calendar": `/items/{id}.ics`."""
    return f"/items/{item_id}.ics"


def email_form_path(topic: str | None) -> str:
    """The sign-up form as an HTML fragment: `/email/form.html` for everything,
    `/email/form/harm-reduction.html` for a topic."""
    return f"{EMAIL_FORM_PREFIX}/{topic}.html" if topic else f"{EMAIL_FORM_PREFIX}.html"


def topic_page_path(topic: str) -> str:
    """A topic's page: `/topics/harm-reduction/`."""
    return f"/topics/{topic}/"


def topic_of_page(path: str) -> str | None:
    """The topic whose page `path` is (the inverse of `topic_page_path`), or None."""
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "topics" and parts[2] and parts[3] == "":
        return parts[2]
    return None


def file_path(path: str) -> str:
    """Where a static build writes `path`: `/` is `index.html`, `/topics/x/` is
    `topics/x/index.html`, every other path itself (without its leading slash)."""
    relative = path.lstrip("/")
    return relative + "index.html" if relative == "" or relative.endswith("/") else relative


def embed_script_path(version: int, content_hash: str | None = None) -> str:
    """The embed script of major `version`: the stable `/embed/v1.js` partners paste, or,
    with its `content_hash`, the immutable file it imports, `/embed/v1.{hash}.js`."""
    return f"/embed/v{version}.{content_hash}.js" if content_hash else f"/embed/v{version}.js"


def embed_style_path(version: int) -> str:
    """The stylesheet that reserves the embed's space before its script runs: `/embed/v1.css`."""
    return f"/embed/v{version}.css"


def icon_path(content_hash: str) -> str:
    """Our pages' icon, by content: `/assets/icon.{hash}.svg`."""
    return f"/assets/icon.{content_hash}.svg"


def page_asset_path(kind: str, content_hash: str) -> str:
    """Our pages' stylesheet or script ("css", "js"), by content: `/assets/pages.{hash}.css`."""
    return f"/assets/pages.{content_hash}.{kind}"


def webcal(url: str) -> str:
    """The `webcal://` form of a calendar's URL: calendar apps open it as a subscription
    (the de facto scheme; the app fetches the same URL over https)."""
    return "webcal://" + url.split("://", 1)[1]


def tag(site: Site, specific: str) -> str:
    """An RFC 4151 tag URI minted from the site's authority and date."""
    return f"tag:{site.tag_authority},{site.tag_date}:{specific}"


def item_id(site: Site, item_id: str) -> str:
    """The permanent id of an item: depends on its `id` only, never on title, URL or file."""
    return tag(site, f"item/{item_id}")


def calendar_uid(site: Site, item_id: str) -> str:
    """An event's iCalendar UID: made of what its permanent id is made of (the item `id`,
    the tag date and authority), never of its title, URL or time, so a calendar recognises
    the event after any edit. Written `id.date@authority` rather than as the tag URI,
    whose comma iCalendar would have to escape in UID (as backslash-comma), which some
    clients keep as part of the UID."""
    return f"{item_id}.{site.tag_date}@{site.tag_authority}"


def feed_id(site: Site, key: FeedKey) -> str:
    """The permanent id of a feed; the same in every format and on its archive pages (they
    are parts of the same feed, RFC 5005)."""
    view = f"/{key.view}" if key.view else ""
    return tag(site, f"feed{'/topics/' + key.topic if key.topic else ''}/{key.type or 'all'}{view}")


def category_scheme(site: Site, vocabulary: str) -> str:
    """The scheme URI of one category vocabulary: "topics", "types" or "tags"."""
    return tag(site, vocabulary)
