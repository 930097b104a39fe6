"""The record of what has been published: every item, topic and type subscribers have seen,
kept beside the content (`published.json`) so that nothing they have disappears unnoticed.

Readers keep what they have fetched. An item deleted from the content, instead of withdrawn,
would stay in their feed readers and calendars forever, unexplained; a topic or type renamed
without `aliases` would leave every subscription pointing at a 404. The record remembers:

* `syndicate check --record` (and `make check`, the pre-commit hook) adds what is published
  to it and keeps each item's title, link, topics and, for events, when (enough to tell
  subscribers it is gone); editors commit it with the content;
* an item in the record and not in the content (or made a draft again) is **removed**:
  `check` reports it, and the service keeps it in the feeds as withdrawn ("removed from
  the site") until an editor either puts it back with `withdrawn:` or forgets it
  (`syndicate forget ID`); /healthz says `degraded` meanwhile;
* a topic or type slug in the record that is no longer a slug or an alias is **gone**:
  `check` says to add it to the new slug's `aliases`.

The record is content, not state: every replica reads the same file, so every replica
serves the same bytes. The service never writes it. Pure but for `read_record` and
`write_record`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicate.fields import suggest
from syndicate.model import (
    Catalog,
    Change,
    Event,
    EventStatus,
    Item,
    SourceRef,
    Text,
    Withdrawal,
)
from syndicate.problems import Problem

FILE_NAME = "published.json"
ABOUT = (
    "What subscribers have seen from this folder, kept by `syndicate check --record` "
    "(make check). Commit it with the content; never edit it by hand: see docs/content.md, "
    "'Removing and renaming'."
)
REMOVED_REASON = "Removed from the site."
VERSION = 1


@dataclass(frozen=True)
class Entry:
    """What the record keeps of one published item: enough to tell subscribers it is gone."""

    type: str
    topics: tuple[str, ...]
    title: str
    url: str
    published: datetime
    last: datetime  # its last change (updated, or withdrawn)
    start: datetime | None = None  # an event's, to cancel it in calendars
    end: datetime | None = None
    timezone: str | None = None
    all_day: bool = False
    changes: int = 0  # an event's recorded changes (calendars' SEQUENCE)
    removed: datetime | None = None  # when `check` first found it gone
    reason: str | None = None  # why it was withdrawn, if it was (then `last` is when)


@dataclass(frozen=True)
class Record:
    topics: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    items: Mapping[str, Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class Removed:
    """A published item no longer in the content."""

    id: str
    entry: Entry
    drafted: bool  # still there, made a draft again


@dataclass(frozen=True)
class Gone:
    """A published topic or type slug that is neither a slug nor an alias now."""

    kind: str  # "topic" or "type"
    slug: str
    hint: str  # " (did you mean 'x'?)" or ""


# Reading and writing ----------------------------------------------------------------


class RecordError(ValueError):
    """The record cannot be read; the message says where and why."""


def _moment(text: Any, where: str) -> datetime:
    if not isinstance(text, str):
        raise RecordError(f"{where}: expected a date")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise RecordError(f"{where}: {error}") from None
    if value.tzinfo is None:
        raise RecordError(f"{where}: a date without its zone")
    return value.astimezone(UTC)


def _entry(data: Any, where: str) -> Entry:
    if not isinstance(data, dict):
        raise RecordError(f"{where}: expected a mapping")
    texts = {k: data.get(k) for k in ("type", "title", "url")}
    if not all(isinstance(v, str) and v for v in texts.values()):
        raise RecordError(f"{where}: type, title and url must be texts")
    topics = data.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise RecordError(f"{where}.topics: expected a list of slugs")
    optional = {k: _moment(data[k], f"{where}.{k}") for k in ("start", "end", "removed")
                if data.get(k) is not None}  # fmt: skip
    changes, all_day, zone = (
        data.get("changes", 0),
        data.get("all_day", False),
        data.get("timezone"),
    )
    if not isinstance(changes, int) or not isinstance(all_day, bool):
        raise RecordError(f"{where}: changes must be a number, all_day true or false")
    if zone is not None and not isinstance(zone, str):
        raise RecordError(f"{where}.timezone: expected a zone name")
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise RecordError(f"{where}.reason: expected a text")
    return Entry(
        texts["type"], tuple(topics), texts["title"], texts["url"],  # type: ignore[arg-type]
        _moment(data.get("published"), f"{where}.published"),
        _moment(data.get("last"), f"{where}.last"),
        optional.get("start"), optional.get("end"), zone, all_day, changes, optional.get("removed"),
        reason,
    )  # fmt: skip


def parse_record(data: bytes) -> Record:
    """The record in `data`; RecordError if it is not one."""
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise RecordError(f"not JSON ({error})") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise RecordError(f'expected a mapping with "version": {VERSION}')
    slugs = {k: raw.get(k, []) for k in ("topics", "types")}
    for key, value in slugs.items():
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise RecordError(f"{key}: expected a list of slugs")
    items = raw.get("items", {})
    if not isinstance(items, dict):
        raise RecordError("items: expected a mapping of ids")
    entries = {str(k): _entry(v, f"items.{k}") for k, v in items.items()}
    return Record(tuple(slugs["topics"]), tuple(slugs["types"]), entries)


def read_record(config: Path) -> Record | Problem | None:
    """The record of `config`; None if there is none; a located Problem if it cannot be read."""
    path = config / FILE_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        return Problem(str(path), 0, "", f"cannot be read ({error.strerror or error})")
    try:
        return parse_record(data)
    except RecordError as error:
        return Problem(
            str(path), 0, "",
            f"{error}. It is written by `syndicate check --record`; restore it from version "
            "control (git checkout -- published.json) rather than editing it",
        )  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def record_json(record: Record) -> bytes:
    """The record as stable JSON: sorted, one item per line, for short diffs."""
    lines = [
        "{",
        f'  "about": {json.dumps(ABOUT)},',
        f'  "version": {VERSION},',
        f'  "topics": {json.dumps(sorted(record.topics))},',
        f'  "types": {json.dumps(sorted(record.types))},',
        '  "items": {',
    ]
    entries = []
    for item_id in sorted(record.items):
        entry = record.items[item_id]
        data: dict[str, Any] = {
            "type": entry.type, "topics": list(entry.topics), "title": entry.title,
            "url": entry.url, "published": _iso(entry.published), "last": _iso(entry.last),
        }  # fmt: skip
        if entry.start is not None:
            data |= {"start": _iso(entry.start), "end": _iso(entry.end),
                     "timezone": entry.timezone, "all_day": entry.all_day,
                     "changes": entry.changes}  # fmt: skip
        if entry.reason is not None:
            data["reason"] = entry.reason
        if entry.removed is not None:
            data["removed"] = _iso(entry.removed)
        entries.append(f"    {json.dumps(item_id)}: {json.dumps(data, ensure_ascii=False)}")
    lines.append(",\n".join(entries)) if entries else None
    lines += ["  }", "}"]
    return ("\n".join(line for line in lines if line) + "\n").encode("utf-8")


# What the content says against the record --------------------------------------------


def entry_of(item: Item) -> Entry:
    last = max(item.updated, item.withdrawn.date) if item.withdrawn else item.updated
    event = item.event
    return Entry(
        item.type, item.topics, item.title, item.url, item.published.astimezone(UTC),
        last.astimezone(UTC),
        event.start.astimezone(UTC) if event else None,
        event.end.astimezone(UTC) if event and event.end else None,
        event.timezone if event else None, event.all_day if event else False,
        len(event.changes) if event else 0, None,
        item.withdrawn.reason if item.withdrawn else None,
    )  # fmt: skip


def _published(catalog: Catalog, now: datetime) -> Iterable[Item]:
    return (item for item in catalog.items if not item.draft and item.published <= now)


def removed(record: Record, catalog: Catalog) -> tuple[Removed, ...]:
    """What the record has and the content no longer publishes, oldest first."""
    present = {item.id: item for item in catalog.items}
    found = []
    for item_id, entry in sorted(record.items.items(), key=lambda e: (e[1].published, e[0])):
        item = present.get(item_id)
        if item is None or item.draft:
            found.append(Removed(item_id, entry, drafted=item is not None))
    return tuple(found)


def gone(record: Record, catalog: Catalog, before: Record | None = None) -> tuple[Gone, ...]:
    """Published topic and type slugs that lead nowhere now; a slug new since `before` (the
    record before this check updated it; default `record`) is hinted as the renamed one."""
    before = before or record
    found = []
    for kind, recorded, known_before, defined in (
        ("topic", record.topics, before.topics, catalog.topics.values()),
        ("type", record.types, before.types, catalog.types.values()),
    ):
        known = {name for d in defined for name in (d.slug, *d.aliases)}
        slugs = [d.slug for d in defined]
        new = [slug for slug in slugs if slug not in known_before]  # not published: renamed?
        for slug in (s for s in recorded if s not in known):
            hint = suggest(slug, slugs) or (f" (is it '{new[0]}' now?)" if len(new) == 1 else "")
            found.append(Gone(kind, slug, hint))
    return tuple(found)


def updated_record(record: Record | None, catalog: Catalog, now: datetime) -> Record:
    """`record` with what `catalog` publishes by `now` added (or brought up to date), and
    each removed item marked with when it was first found gone."""
    record = record or Record()
    items = dict(record.items)
    for item in _published(catalog, now):
        items[item.id] = entry_of(item)
    for gone_item in removed(replace(record, items=items), catalog):
        if gone_item.entry.removed is None:
            items[gone_item.id] = replace(
                gone_item.entry, removed=now.astimezone(UTC).replace(microsecond=0)
            )
    used_topics = {t for item in _published(catalog, now) for t in item.topics}
    used_types = {item.type for item in _published(catalog, now)}
    return Record(
        tuple(sorted(set(record.topics) | (used_topics & set(catalog.topics)))),
        tuple(sorted(set(record.types) | (used_types & set(catalog.types)))),
        items,
    )


def forgotten(record: Record, ids: Iterable[str]) -> Record:
    """`record` without `ids`: removed items an editor decided subscribers need not be told of."""
    drop = set(ids)
    return replace(record, items={k: v for k, v in record.items.items() if k not in drop})


def kept_as_withdrawn(gone_items: Iterable[Removed], catalog: Catalog, source: str) -> list[Item]:
    """Each removed item as a withdrawn one, from what the record keeps, so subscribers are
    told it is gone ("Removed from the site."): filed under today's slugs of its topics and
    type (through their aliases), those that still exist. An id `catalog` holds (a draft, in
    a preview) is left to it."""
    topics = {name: t.slug for t in catalog.topics.values() for name in (t.slug, *t.aliases)}
    types = {name: t.slug for t in catalog.types.values() for name in (t.slug, *t.aliases)}
    present = {item.id for item in catalog.items}
    kept = []
    for found in gone_items:
        if found.id in present:
            continue
        entry = found.entry
        event = None
        if entry.start is not None and entry.timezone is not None:
            event = Event(
                entry.start, entry.end, entry.timezone, entry.all_day,
                status=EventStatus.CANCELLED,
                changes=tuple(Change(entry.last, "") for _ in range(entry.changes)),
            )  # fmt: skip
        reason = entry.reason or REMOVED_REASON  # withdrawn before: what readers were told
        summary = Text(f"<p>{html.escape(reason)}</p>", reason)
        item = Item(
            id=found.id, type=types.get(entry.type, entry.type), title=entry.title,
            summary=summary, content=None, url=entry.url, published=entry.published,
            updated=entry.last, authors=(),
            topics=tuple(dict.fromkeys(topics[t] for t in entry.topics if t in topics)),
            tags=(), image=None, language=None, event=event,
            withdrawn=Withdrawal(
                entry.last if entry.reason else max(entry.removed or entry.last, entry.last),
                reason,
            ),
            source=SourceRef(source, 0),
        )  # fmt: skip
        kept.append(item)
    return kept


def with_kept(catalog: Catalog, kept: list[Item]) -> Catalog:
    if not kept:
        return catalog
    return Catalog.build(
        catalog.site, list(catalog.types.values()), list(catalog.topics.values()),
        [*catalog.items, *kept],
    )  # fmt: skip
