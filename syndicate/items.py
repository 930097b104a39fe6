"""Validating one item: its fields, its type's kind (event fields), and its references.

`ItemBuilder` turns one item mapping into an `Item`, or reports every problem it has (located
as file, line and key path) and returns None. The loader calls it once per item definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from syndicate.dates import DateError, ParsedDate, parse_date, zone
from syndicate.fields import FieldReader, Raw, suggest
from syndicate.model import (
    Change,
    ContentType,
    Event,
    EventStatus,
    Item,
    Kind,
    Site,
    SourceRef,
    Text,
    Topic,
    Withdrawal,
)
from syndicate.sanitize import clean_html, html_to_text, text_to_html
from syndicate.schema import EVENT, ITEM, PLACEHOLDER, PLACEHOLDER_IN_URL
from syndicate.sources import MapNode, Node, ScalarNode, SeqNode


@dataclass(frozen=True)
class Definition:
    """One mapping found under a top-level key, with where it is."""

    reader: FieldReader
    node: Node
    path: str

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self.reader.file, self.node.line)


def line_of(node: Node, key: str) -> int:
    """The line of `key`'s value in `node`, or of `node` itself when the key is absent."""
    child = node.get(key) if isinstance(node, MapNode) else None
    return child.line if child is not None else node.line


class ItemBuilder:
    """Validates one item definition against its type's kind and the rest of the catalog."""

    def __init__(
        self,
        definition: Definition,
        site: Site,
        types: dict[str, ContentType],
        topics: dict[str, Topic],
        now: datetime | None = None,
        published: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    ) -> None:
        """`now`, when given, refuses changes dated after it (see `_not_after_now`);
        `published`, the topic and type slugs the record has (published.py), for hints."""
        self.definition = definition
        self.published_topics, self.published_types = published
        self.now = now
        self.reader = definition.reader
        self.path = definition.path
        self.site = site
        self.site_zone = zone(site.timezone)
        self.types = types
        self.topics = topics
        self.ok = True

    def problem(self, line: int, key: str, message: str) -> None:
        self.ok = False
        self.reader.problem(line, f"{self.path}.{key}", message)

    def build(self) -> Item | None:
        node = self.definition.node
        if not isinstance(node, MapNode):
            self.reader.read(node, self.path, ITEM)  # reports "expected a mapping"
            return None
        content_type = self._content_type(node)
        is_event = content_type is not None and content_type.kind is Kind.EVENT
        before = len(self.reader.problems)
        values = self.reader.read(
            node,
            self.path,
            ITEM,
            also_allowed=EVENT if is_event or not content_type else (),
            foreign=lambda key: self._foreign(key, content_type),
        )
        event_values = (
            self.reader.read(node, self.path, EVENT, also_allowed=ITEM, report_unknown=False)
            if is_event
            else {}
        )
        if values is None or event_values is None or len(self.reader.problems) > before:
            self.ok = False
        if values is None:
            return None
        for slug in values.get("topics", ()):
            if slug not in self.topics:
                hint = suggest(slug, self.topics)
                known = ", ".join(dict.fromkeys(t.slug for t in self.topics.values())) or "none yet"
                self.problem(
                    line_of(node, "topics"),
                    "topics",
                    f"unknown topic '{slug}'{hint}; defined topics: {known}"
                    + _renamed_hint("topic", slug, self.published_topics),
                )
        if "topics" in values and not values["topics"]:
            self.problem(line_of(node, "topics"), "topics", "list at least one topic")
        published = self._date(node, values, "published", self.site_zone)
        updated = (
            self._date(node, values, "updated", self.site_zone)
            if "updated" in values
            else published
        )
        if published and updated and updated.value < published.value:
            self.problem(line_of(node, "updated"), "updated", "is before 'published'")
        summary = self._text(node, values, "summary", required=True)
        content = self._text(node, values, "content", required=False)
        withdrawn = self._withdrawal(node, values, published)
        event = self._event(node, event_values) if is_event and event_values is not None else None
        if published is None or updated is None:
            return None
        last_changed = self._changed(node, values, published.value, updated.value, event)
        self._not_after_now(node, values, published.value, last_changed, withdrawn)
        if not values.get("draft", False):
            self._no_placeholders(node)
        if not self.ok or summary is None:
            return None  # every mistake is reported; only valid items are built
        return Item(
            id=values["id"],
            type=content_type.slug if content_type else values["type"],
            title=values["title"],
            summary=summary,
            content=content,
            url=values["url"],
            published=published.value,
            updated=last_changed,
            authors=values.get("authors", ()),
            # A former slug (an alias) stands for the topic's slug of today.
            topics=tuple(dict.fromkeys(self.topics[slug].slug for slug in values["topics"])),
            tags=tuple(dict.fromkeys(values.get("tags", ()))),
            image=values.get("image"),
            language=values.get("language"),
            event=event,
            withdrawn=withdrawn,
            source=self.definition.ref,
            draft=values.get("draft", False),
        )

    def _no_placeholders(self, node: MapNode) -> None:
        """A published item holds no placeholder `syndicate new` wrote."""
        for key, _, child in node.entries:
            for line, text in _strings(child):
                if PLACEHOLDER in text or PLACEHOLDER_IN_URL in text:
                    self.problem(
                        line, key,
                        f"still holds the placeholder {PLACEHOLDER!r} that `syndicate new` "
                        f"wrote: write the real {key}, or keep the item a draft ('draft: true')",
                    )  # fmt: skip
                    break

    def _content_type(self, node: MapNode) -> ContentType | None:
        type_node = node.get("type")
        if type_node is None or not isinstance(getattr(type_node, "value", None), str):
            return None  # `read` reports the missing or ill-typed value
        slug = type_node.value  # type: ignore[attr-defined]
        found = self.types.get(slug)
        if found is None:
            known = ", ".join(dict.fromkeys(t.slug for t in self.types.values())) or "none yet"
            self.problem(
                type_node.line,
                "type",
                f"unknown type '{slug}'{suggest(slug, self.types)}; defined types: {known}"
                + _renamed_hint("type", slug, self.published_types),
            )
        return found

    @staticmethod
    def _foreign(key: str, content_type: ContentType | None) -> str | None:
        if content_type is not None and any(f.name == key for f in EVENT):
            return (
                f"'{key}' is only for items of an event type; '{content_type.slug}' is an "
                f"{content_type.kind.value} type"
            )
        return None

    def _date(
        self,
        node: MapNode,
        values: dict[str, Any],
        key: str,
        where: ZoneInfo,
        path: str | None = None,
    ) -> ParsedDate | None:
        raw: Raw | None = values.get(key)
        if raw is None:
            return None
        try:
            return parse_date(raw.text, where)
        except DateError as error:
            self.problem(raw.line, path or key, str(error))
            return None

    def _text(
        self, node: MapNode, values: dict[str, Any], key: str, *, required: bool
    ) -> Text | None:
        plain, markup = values.get(key), values.get(f"{key}_html")
        if plain is not None and markup is not None:
            self.problem(
                line_of(node, f"{key}_html"),
                f"{key}_html",
                f"give either '{key}' (plain text) or '{key}_html', not both",
            )
            return None
        if markup is not None:
            html = clean_html(markup.text, values.get("url") or self.site.url)
            text = html_to_text(html)
            if not text:
                self.problem(
                    markup.line, f"{key}_html", "has no text left once unsafe HTML is removed"
                )
                return None
            return Text(html, text)
        if plain is not None:
            return Text(text_to_html(plain), " ".join(plain.split()))
        if required:
            given = [node.get(name) for name in (key, f"{key}_html")]
            if all(found is None for found in given):
                self.problem(node.line, key, f"required, but missing: give '{key}' or '{key}_html'")
            elif all(found is None or _empty(found) for found in given):
                line = next(found.line for found in given if found is not None)
                self.problem(line, key, f"must not be empty: give '{key}' or '{key}_html'")
        return None

    def _changed(
        self,
        node: MapNode,
        values: dict[str, Any],
        published: datetime,
        updated: datetime,
        event: Event | None,
    ) -> datetime:
        """The item's `updated`: as written, or (when not written) its latest recorded event
        change if later than `published`. A change must not be later than `updated`."""
        if event is None or not event.changes:
            return updated
        latest = max(change.date for change in event.changes)
        if "updated" not in values:
            return max(updated, latest)
        if updated < latest:
            self.problem(
                line_of(node, "updated"),
                "updated",
                f"is before the event's latest change ({latest.isoformat()}); leave 'updated' "
                "out (it then follows the changes) or date it after the change",
            )
        return updated

    def _not_after_now(
        self,
        node: MapNode,
        values: dict[str, Any],
        published: datetime,
        updated: datetime,
        withdrawn: Withdrawal | None,
    ) -> None:
        """A future `published` schedules the item (see `schedule.py`); but an item already
        published cannot have changed, or been withdrawn, later than now: such a date is a
        typo (2027 for 2026), and served it would put Last-Modified in the future."""
        if self.now is None or published > self.now:
            return
        now = f"it is now {self.now.astimezone(self.site_zone).isoformat(timespec='minutes')}"
        if updated > self.now:
            self.problem(
                line_of(node, "updated"),
                "updated",
                f"is in the future ({now}): an item already published cannot have changed "
                "later than now. Fix the date; to publish the item later, move 'published'",
            )
        if withdrawn is not None and withdrawn.date > self.now:
            self.problem(
                values["withdrawn"]["date"].line,
                "withdrawn.date",
                f"is in the future ({now}): a withdrawal takes effect when it is added; "
                "date it now or earlier",
            )

    def _withdrawal(
        self, node: MapNode, values: dict[str, Any], published: ParsedDate | None
    ) -> Withdrawal | None:
        given = values.get("withdrawn")
        if given is None:
            return None
        when = self._date(node, given, "date", self.site_zone, "withdrawn.date")
        if when is None:
            return None
        if published is not None and when.value < published.value:
            self.problem(given["date"].line, "withdrawn.date", "is before 'published'")
        return Withdrawal(when.value, given["reason"])

    def _event(self, node: MapNode, values: dict[str, Any]) -> Event | None:
        zone_name = values.get("timezone", self.site.timezone)
        where = zone(zone_name)
        start = self._date(node, values, "start", where)
        end = self._date(node, values, "end", where)
        if start is None:
            return None
        all_day = values.get("all_day", start.date_only)
        if all_day and not start.date_only:
            self.problem(
                values["start"].line,
                "start",
                "all_day events take a date without a time, e.g. '2026-12-10'",
            )
        if not all_day and start.date_only:
            self.problem(
                values["start"].line,
                "start",
                "has no time; add one (e.g. '2026-12-10T18:30') or set 'all_day: true'",
            )
        status = values.get("status", EventStatus.SCHEDULED)
        changes = self._changes(node, values)
        if status is not EventStatus.SCHEDULED and not changes:
            self.problem(
                line_of(node, "status"),
                "status",
                f"is {status.value}: record the change under 'changes' (its date and a note); "
                "subscribed calendars only take a change they are told about",
            )
        if end is not None:
            if end.date_only != start.date_only:
                self.problem(
                    values["end"].line,
                    "end",
                    "give both start and end with a time, or both as dates only",
                )
            elif end.value < start.value:
                self.problem(values["end"].line, "end", "the event ends before it starts")
        return Event(
            start=start.value,
            end=end.value if end else None,
            timezone=zone_name,
            all_day=all_day,
            venue=values.get("venue"),
            address=values.get("address"),
            city=values.get("city"),
            country=values.get("country"),
            online_url=values.get("online_url"),
            registration_url=values.get("registration_url"),
            status=status,
            changes=changes,
        )

    def _changes(self, node: MapNode, values: dict[str, Any]) -> tuple[Change, ...]:
        changes: list[Change] = []
        for index, given in enumerate(values.get("changes", ())):
            # When an editor made the change: the site's clock, as for `updated`, not the
            # event's (docs/content.md, "Dates").
            when = self._date(node, given, "date", self.site_zone, f"changes[{index}].date")
            if when is None:
                continue
            if changes and when.value < changes[-1].date:
                self.problem(
                    given["date"].line, f"changes[{index}].date", "list changes oldest first"
                )
            changes.append(Change(when.value, given["note"]))
        return tuple(changes)


def _renamed_hint(kind: str, slug: str, published: frozenset[str]) -> str:
    """For a slug subscribers know (the record has it): how to rename without losing them."""
    if slug not in published:
        return ""
    return (
        f". '{slug}' was published: if you renamed the {kind}, add 'aliases: [{slug}]' to it, "
        "so its subscribers are redirected and items may keep naming it"
    )


def _empty(node: Node) -> bool:
    """Left empty (`summary:` or `summary: ""`): a value `FieldReader` skips silently."""
    return isinstance(node, ScalarNode) and node.value in (None, "")


def _strings(node: Node) -> Iterator[tuple[int, str]]:
    """Every text in `node` and below it, with its line."""
    if isinstance(node, ScalarNode):
        if isinstance(node.value, str):
            yield node.line, node.value
    elif isinstance(node, SeqNode):
        for child in node.items:
            yield from _strings(child)
    elif isinstance(node, MapNode):
        for _, _, child in node.entries:
            yield from _strings(child)
