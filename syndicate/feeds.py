"""Which feeds exist, and what each one holds: plain data work, no XML, no HTTP.

Every topic gets a feed of everything in it and one per type; site-wide there is one feed
per type and one of everything. A `FeedView` is what every renderer needs to know about one
of them: titles, links, the entries (newest first, at most `feed_size`), the withdrawn items
to announce, and `updated`, which comes from the data, never from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice

from syndicate import urls
from syndicate.model import (
    Catalog,
    ContentType,
    Item,
    Kind,
    Site,
    Topic,
    latest_first,
    soonest_first,
)
from syndicate.urls import FeedKey

# How long clients may keep a feed before polling again (HTTP max-age, RSS ttl).
DEFAULT_REFRESH_SECONDS = 300


@dataclass(frozen=True)
class FeedView:
    """One feed, ready to render in any format."""

    key: FeedKey
    catalog: Catalog
    id: str
    title: str
    subtitle: str
    home_url: str
    topic: Topic | None
    content_type: ContentType | None
    entries: tuple[Item, ...]
    withdrawn: tuple[Item, ...]
    updated: datetime
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS
    # The moment the snapshot is built for, for what depends on time (calendar windows,
    # upcoming events). None: nothing is left out by time.
    now: datetime | None = None
    archives: int = 0  # the feed's archive pages (RFC 5005, archives.py); 0 for a page

    @property
    def site(self) -> Site:
        return self.catalog.site

    @property
    def moment(self) -> datetime:
        """The moment upcoming and past are decided at: `now`, or, for a view built without
        a time, the content's newest change (so such a build stays deterministic)."""
        return self.now or newest_change(self.catalog)

    def url(self, extension: str) -> str:
        """This feed's absolute URL in the format with file `extension`."""
        return urls.absolute(self.site, urls.feed_path(self.key, extension))


def holds_events(key: FeedKey, catalog: Catalog) -> bool:
    """Feeds of an event type hold events; so do every-type feeds when the site has any
    event type. They get calendars and upcoming/past views."""
    if key.type is not None:
        return catalog.types[key.type].kind is Kind.EVENT
    return any(t.kind is Kind.EVENT for t in catalog.types.values())


def ends(item: Item) -> datetime:
    """When an event is over: its end (the day after its last day, for all-day events), or
    its start when it has no end."""
    event = item.event
    assert event is not None
    if event.all_day:
        return (event.end or event.start) + timedelta(days=1)
    return event.end or event.start


def all_feed_keys(catalog: Catalog) -> tuple[FeedKey, ...]:
    """Every feed the catalog defines, in a stable order: each feed, then (if it holds
    events) its upcoming and past views."""
    plain = [FeedKey()] + [FeedKey(type=t) for t in catalog.types]
    for topic in catalog.topics:
        plain.append(FeedKey(topic=topic))
        plain.extend(FeedKey(topic=topic, type=t) for t in catalog.types)
    keys = []
    for key in plain:
        keys.append(key)
        if holds_events(key, catalog):
            keys.extend(replace(key, view=view) for view in urls.VIEWS)
    return tuple(keys)


def next_view_change(catalog: Catalog, now: datetime) -> datetime | None:
    """The next moment after `now` an event ends, moving from upcoming to past views."""
    return min((ends(i) for i in catalog.items if i.event and ends(i) > now), default=None)


def selected_items(catalog: Catalog, key: FeedKey) -> tuple[Item, ...]:
    """Every item `key` selects, withdrawn ones included, newest first."""
    if key.topic and key.type:
        return catalog.by_topic_and_type[(key.topic, key.type)]
    if key.topic:
        return catalog.by_topic[key.topic]
    if key.type:
        return catalog.by_type[key.type]
    return catalog.items


def feed_view(
    catalog: Catalog,
    key: FeedKey,
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
    now: datetime | None = None,
) -> FeedView:
    """The view of `key`'s feed. KeyError if the topic or type does not exist.

    `refresh_seconds` is how often readers should poll; RSS says it as ttl and
    sy:updatePeriod, which must agree with the HTTP cache lifetime.
    """
    site = catalog.site
    topic = catalog.topics[key.topic] if key.topic else None
    content_type = catalog.types[key.type] if key.type else None
    selected = selected_items(catalog, key)
    if key.view is not None:
        selected = in_view(selected, key.view, now or newest_change(catalog))
    entries = tuple(islice((item for item in selected if item.withdrawn is None), site.feed_size))
    withdrawn = tuple(
        sorted(
            (item for item in selected if item.withdrawn is not None),
            key=lambda item: (item.withdrawn.date if item.withdrawn else item.updated, item.id),
            reverse=True,
        )
    )[: site.feed_size]
    return FeedView(
        key=key,
        catalog=catalog,
        id=urls.feed_id(site, _first_slugs(key, topic, content_type)),
        title=_title(site, topic, content_type) + _view_title(key),
        subtitle=_view_subtitle(key.view) + _subtitle(site, topic, content_type),
        home_url=(topic.url if topic and topic.url else site.url),
        topic=topic,
        content_type=content_type,
        entries=entries,
        withdrawn=withdrawn,
        updated=_updated(catalog, entries, withdrawn),
        refresh_seconds=refresh_seconds,
        now=now,
        archives=0 if key.view else len(selected) // site.feed_size,
    )


def _first_slugs(key: FeedKey, topic: Topic | None, content_type: ContentType | None) -> FeedKey:
    """`key` with the slugs its topic and type were first published under: after a rename
    the feed is the same feed, so its id does not change (RFC 4287 4.2.6)."""
    return replace(
        key,
        topic=topic.first_slug if topic else None,
        type=content_type.first_slug if content_type else None,
    )


def in_view(items: tuple[Item, ...], view: str, now: datetime) -> tuple[Item, ...]:
    """The events of `items` in `view` as of `now`: upcoming (not yet ended) soonest first,
    past (ended) latest first (`model.start_order`)."""
    events = [item for item in items if item.event is not None]
    if view == urls.UPCOMING:
        return soonest_first(item for item in events if ends(item) > now)
    return latest_first(item for item in events if ends(item) <= now)


def _view_title(key: FeedKey) -> str:
    """The title suffix of a view: ` – Upcoming events` for an every-type view (it holds
    only events), ` (upcoming)` for a type's."""
    if key.view is None:
        return ""
    return f" – {key.view.capitalize()} events" if key.type is None else f" ({key.view})"


def _view_subtitle(view: str | None) -> str:
    if view == urls.UPCOMING:
        return "Upcoming events, soonest first. "
    if view == urls.PAST:
        return "Past events, latest first. "
    return ""


def _title(site: Site, topic: Topic | None, content_type: ContentType | None) -> str:
    parts = [
        p
        for p in (topic.title if topic else None, content_type.title if content_type else None)
        if p
    ]
    return f"{site.title}: {' – '.join(parts)}" if parts else site.title


def _subtitle(site: Site, topic: Topic | None, content_type: ContentType | None) -> str:
    if topic and content_type:
        return f"{content_type.title} on {topic.title} from {site.title}."
    if topic:
        return topic.description or f"Everything on {topic.title} from {site.title}."
    if content_type:
        return content_type.description or f"{content_type.title} from {site.title}."
    return site.description or f"Everything from {site.title}."


def newest_change(catalog: Catalog) -> datetime:
    """When anything in the catalog last changed (the tag date for an empty catalog)."""
    return _updated(catalog, (), ())


def last_change(item: Item) -> datetime:
    """When `item` last changed: its update, or its withdrawal."""
    return max(item.updated, item.withdrawn.date) if item.withdrawn else item.updated


def _updated(catalog: Catalog, entries: tuple[Item, ...], withdrawn: tuple[Item, ...]) -> datetime:
    """The newest change among what the feed shows.

    An empty feed takes the newest change in the whole catalog, and an empty catalog the
    tag date: never the clock, so the same content always gives the same bytes.
    """
    shown = entries + withdrawn
    if shown:
        return max(last_change(item) for item in shown)
    if catalog.newest_item_change is not None:
        return catalog.newest_item_change
    year, month, day = [*catalog.site.tag_date.split("-"), "1", "1"][:3]
    return datetime(int(year), int(month), int(day), tzinfo=UTC)
