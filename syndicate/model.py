"""The content model: immutable, validated, built once by the loader, shared read-only.

No I/O here and no third-party imports. Every datetime is timezone-aware. Collections are
tuples, and lookups are read-only mappings, so a `Catalog` can be handed to any thread.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """What a content type's items are; the kind decides which fields an item has."""

    EVENT = "event"
    ARTICLE = "article"


@dataclass(frozen=True)
class SourceRef:
    """Where a definition came from, for messages."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Person:
    name: str
    url: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Image:
    url: str
    alt: str
    media_type: str


@dataclass(frozen=True)
class Program:
    title: str
    url: str | None = None


@dataclass(frozen=True)
class Text:
    """One piece of editor text in both forms: sanitized HTML and plain text."""

    html: str
    plain: str


@dataclass(frozen=True)
class Site:
    title: str
    description: str | None
    url: str
    feeds_url: str | None  # None until the public URL is known (see build.public_url)
    language: str
    timezone: str
    rights: str | None
    publisher: Person
    logo: str | None
    icon: str | None
    tag_authority: str
    tag_date: str
    feed_size: int
    hubs: tuple[str, ...] = ()  # WebSub hubs: advertised in every feed, told of changes
    preview: bool = False  # served by `syndicate preview` (preview.py), never from the YAML
    digest_day: int = 0  # weekly email digests: Monday 0 ... Sunday 6
    digest_time: time = time(9, 0)  # in `timezone`
    email_signup: bool = False  # pages offer email updates (settings, never the YAML)
    actors_key: str | None = None  # followable from the fediverse: the actors' public key


@dataclass(frozen=True)
class ContentType:
    slug: str
    kind: Kind
    title: str
    singular: str
    description: str | None
    aliases: tuple[str, ...] = ()  # former slugs, oldest first: their URLs redirect

    @property
    def first_slug(self) -> str:
        """The slug it was first published under, which its feeds' ids keep."""
        return self.aliases[0] if self.aliases else self.slug


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    description: str | None
    url: str | None
    area: str | None
    programs: tuple[Program, ...]
    aliases: tuple[str, ...] = ()  # former slugs, oldest first: their URLs redirect

    @property
    def first_slug(self) -> str:
        """The slug it was first published under, which its feeds' ids keep."""
        return self.aliases[0] if self.aliases else self.slug


class EventStatus(StrEnum):
    """schema.org's eventStatus values, as editors write them."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"  # off for now, no new date yet
    RESCHEDULED = "rescheduled"  # a new date (start/end hold it)
    MOVED_ONLINE = "moved-online"


@dataclass(frozen=True)
class Change:
    """One change to an event's time, place or status, as its editor recorded it."""

    date: datetime
    note: str


@dataclass(frozen=True)
class Event:
    """When and where an event happens (not when it was announced).

    For all-day events `start` and `end` are midnights in `timezone` and `end` is the last
    day *included*. `changes` records every change of time, place or status (oldest
    first): calendars count them (SEQUENCE), so a subscribed calendar takes the change.
    """

    start: datetime
    end: datetime | None
    timezone: str
    all_day: bool
    venue: str | None = None
    address: str | None = None
    city: str | None = None
    country: str | None = None
    online_url: str | None = None
    registration_url: str | None = None
    status: EventStatus = EventStatus.SCHEDULED
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Withdrawal:
    """A retraction: the item leaves the feeds and subscribers are told why."""

    date: datetime
    reason: str


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    title: str
    summary: Text
    content: Text | None
    url: str
    published: datetime
    updated: datetime
    authors: tuple[Person, ...]
    topics: tuple[str, ...]
    tags: tuple[str, ...]
    image: Image | None
    language: str | None
    event: Event | None
    withdrawn: Withdrawal | None
    source: SourceRef = field(compare=False)
    draft: bool = False  # in no output until an editor removes `draft: true`


def publication_order(item: Item) -> tuple[datetime, str]:
    """The one order of items, for every place that orders them by publication: by
    `published`, ties broken by id, so the order is total. Feeds take it newest first and
    archive pages oldest first; being exact reverses of each other, the newest `feed_size`
    items of a feed are exactly those after its last full archive page, ties or not."""
    return (item.published, item.id)


def newest_first(items: Iterable[Item]) -> tuple[Item, ...]:
    """Items newest first in `publication_order`."""
    return tuple(sorted(items, key=publication_order, reverse=True))


def oldest_first(items: Iterable[Item]) -> tuple[Item, ...]:
    """Items oldest first in `publication_order`: `newest_first` reversed."""
    return tuple(sorted(items, key=publication_order))


def start_order(item: Item) -> tuple[datetime, str]:
    """The one order of events, for every place that orders them by when they happen: by
    start, ties broken by id. Only for items with an `event`."""
    assert item.event is not None
    return (item.event.start, item.id)


def soonest_first(events: Iterable[Item]) -> tuple[Item, ...]:
    """Events soonest first in `start_order`."""
    return tuple(sorted(events, key=start_order))


def latest_first(events: Iterable[Item]) -> tuple[Item, ...]:
    """Events latest first in `start_order`: `soonest_first` reversed."""
    return tuple(sorted(events, key=start_order, reverse=True))


@dataclass(frozen=True)
class Catalog:
    """Everything the content defines, with the lookups renderers need.

    Item tuples are newest first (see `newest_first`) and include withdrawn items;
    callers decide what to do with those.
    """

    site: Site
    types: Mapping[str, ContentType]
    topics: Mapping[str, Topic]
    items: tuple[Item, ...]
    by_type: Mapping[str, tuple[Item, ...]]
    by_topic: Mapping[str, tuple[Item, ...]]
    by_topic_and_type: Mapping[tuple[str, str], tuple[Item, ...]]

    @functools.cached_property
    def newest_item_change(self) -> datetime | None:
        """The newest `updated` or withdrawal date of any item; None without items."""
        return max(
            (max(i.updated, i.withdrawn.date) if i.withdrawn else i.updated for i in self.items),
            default=None,
        )

    @classmethod
    def build(
        cls,
        site: Site,
        types: list[ContentType],
        topics: list[Topic],
        items: list[Item],
    ) -> Catalog:
        """Index `items` by type, topic and both; types and topics keep their given order."""
        # One pass over the items (newest first, so every index keeps that order): linear in
        # items x their topics, not items x every topic (100,000 items over 500 topics).
        ordered = newest_first(items)
        type_lists: dict[str, list[Item]] = {t.slug: [] for t in types}
        topic_lists: dict[str, list[Item]] = {t.slug: [] for t in topics}
        both_lists: dict[tuple[str, str], list[Item]] = {
            (topic.slug, kind.slug): [] for topic in topics for kind in types
        }
        for item in ordered:
            if item.type in type_lists:
                type_lists[item.type].append(item)
            for slug in dict.fromkeys(item.topics):  # each topic once, in the item's order
                if slug in topic_lists:
                    topic_lists[slug].append(item)
                    both = both_lists.get((slug, item.type))
                    if both is not None:
                        both.append(item)
        by_type = {slug: tuple(found) for slug, found in type_lists.items()}
        by_topic = {slug: tuple(found) for slug, found in topic_lists.items()}
        by_both = {key: tuple(found) for key, found in both_lists.items()}
        return cls(
            site=site,
            types=MappingProxyType({t.slug: t for t in types}),
            topics=MappingProxyType({t.slug: t for t in topics}),
            items=ordered,
            by_type=MappingProxyType(by_type),
            by_topic=MappingProxyType(by_topic),
            by_topic_and_type=MappingProxyType(by_both),
        )
