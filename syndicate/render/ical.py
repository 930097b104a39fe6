"""iCalendar (RFC 5545, with RFC 7986 calendar properties), written with `icalendar`.

One calendar for every feed that can hold events (docs/feeds.md, "Calendars"):

* Events, not announcements: every event the feed selects (topic and type), ordered by
  start, withdrawn ones included as cancelled, so subscribed calendars drop or strike
  them instead of keeping a retracted event forever. Site-wide calendars (no topic) keep
  to a window, `WINDOW_PAST` of past events plus everything upcoming, cut (upcoming
  first) to `SITE_WIDE_EVENTS` and `SITE_WIDE_BYTES`, under what Google silently
  truncates; cancelled events stay at least `CANCELLED_KEPT` after the cancellation.
  Per-topic calendars hold every event.
* `UID` is the item's permanent id; `DTSTAMP`, `LAST-MODIFIED` and `CREATED` come from the
  content; `SEQUENCE` counts the recorded changes (plus one for a withdrawal), so it grows
  by one with each change of time, place or status and replicas agree on it.
* Times carry the event's `TZID`, with one VTIMEZONE per zone a TZID names (`vtimezone.py`),
  except a local time that happens twice (clocks going back), written in UTC; never a
  floating time. All-day events are `VALUE=DATE` with an exclusive `DTEND`. A calendar
  without events holds its site zone's VTIMEZONE (RFC 5545 wants one component).
* Calendar properties: `NAME`/`X-WR-CALNAME`, `DESCRIPTION`/`X-WR-CALDESC`, `SOURCE`,
  `URL`, `REFRESH-INTERVAL` and `X-PUBLISHED-TTL` equal to the HTTP max-age,
  `X-WR-TIMEZONE`, `LAST-MODIFIED`.

Escaping and 75-octet folding (never inside a UTF-8 sequence) are the library's.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, vDuration, vText, vUri
from icalendar import Event as VEvent
from icalendar.parser import Contentline
from icalendar.timezone import is_utc

from syndicate import eventtext, urls
from syndicate.feeds import FeedView, ends, holds_events, in_view, selected_items
from syndicate.model import Catalog, EventStatus, Item, Site, soonest_first
from syndicate.render.registry import CALENDAR, Format
from syndicate.render.vtimezone import vtimezone

MEDIA_TYPE = "text/calendar"
FOLD_AT = 75  # octets; the library's foldline keeps each line under it
PRODID = "-//syndicate//Feeds and calendars//EN"
END = b"END:VCALENDAR\r\n"
WINDOW_PAST = timedelta(days=90)  # site-wide calendars: past events kept this long
CANCELLED_KEPT = timedelta(days=30)  # and cancelled ones at least this long after
SITE_WIDE_EVENTS = 1000  # and at most this many events,
SITE_WIDE_BYTES = 900_000  # in this many bytes of events: Google drops beyond ~1 MB
STATUS = {
    EventStatus.SCHEDULED: "CONFIRMED",
    EventStatus.RESCHEDULED: "CONFIRMED",
    EventStatus.MOVED_ONLINE: "CONFIRMED",
    EventStatus.POSTPONED: "TENTATIVE",
    EventStatus.CANCELLED: "CANCELLED",
}


def cancelled_at(item: Item) -> datetime | None:
    """When an event was cancelled (or withdrawn); None if it was not."""
    if item.withdrawn is not None:
        return item.withdrawn.date
    event = item.event
    if event is not None and event.status is EventStatus.CANCELLED and event.changes:
        return event.changes[-1].date
    return None


def calendar_events(view: FeedView) -> tuple[Item, ...]:
    """The events `view`'s calendar holds, soonest first."""
    selected = selected_items(view.catalog, view.key)
    if view.key.view is not None:
        selected = in_view(selected, view.key.view, view.moment)
    events = [item for item in selected if item.event]
    if view.key.topic is None and view.now is not None:
        now = view.now
        events = [item for item in events if _leaves_window(item) > now]
    return soonest_first(events)


def next_window_change(catalog: Catalog, now: datetime) -> datetime | None:
    """The next moment after `now` an event leaves the site-wide calendars' window."""
    moments = [_leaves_window(item) for item in catalog.items if item.event is not None]
    return min((moment for moment in moments if moment > now), default=None)


def _leaves_window(item: Item) -> datetime:
    """When an event leaves the site-wide calendars: `WINDOW_PAST` after it ends, or, if
    later, `CANCELLED_KEPT` after it was cancelled."""
    when = cancelled_at(item)
    leaves = ends(item) + WINDOW_PAST
    return max(leaves, when + CANCELLED_KEPT) if when is not None else leaves


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _text(value: str) -> str:
    """TEXT as RFC 5545 allows it: no control characters but tab and line feed."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _ambiguous(local: datetime) -> bool:
    """Whether `local`'s wall time happens twice in its zone (the hour repeated when clocks
    go back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _timed(moment: datetime, zone: ZoneInfo) -> datetime:
    """The DATE-TIME to write for `moment`: local time in the event's zone (TZID), or UTC
    where that local time happens twice. RFC 5545 3.3.5 reads a repeated local time as its
    first occurrence, and clients disagree even on that (icalendar and ical.js do), so only
    UTC says such an instant unambiguously. Zones the library deems UTC (UTC itself, but also
    Africa/Abidjan or Atlantic/Reykjavik) are written in UTC too: they need no VTIMEZONE."""
    local = _local(moment, zone)
    if _ambiguous(local) or is_utc(zone):  # (icalendar writes zones it deems UTC as "Z")
        return local.astimezone(UTC)
    return local


def _zoned_years(item: Item) -> list[int]:
    """The local years of the DATE-TIME values of `item` written with its TZID (all-day
    dates and UTC times carry none, so they need no VTIMEZONE)."""
    event = item.event
    assert event is not None
    if event.all_day:
        return []
    zone = ZoneInfo(event.timezone)
    moments = [event.start] + ([event.end] if event.end is not None else [])
    return [m.year for m in (_timed(moment, zone) for moment in moments) if m.tzinfo is not UTC]


def _description(item: Item) -> str:
    event = item.event
    assert event is not None
    lines = []
    label = eventtext.status_label(event, item.withdrawn is not None)
    if item.withdrawn is not None:
        lines.append(f"Cancelled: {item.withdrawn.reason}")
    elif label:
        lines.append(f"{label}.")
    for change in reversed(event.changes):
        lines.append(f"Changed {change.date.date().isoformat()}: {change.note}")
    lines.append(eventtext.schedule_text(event))
    lines.append(item.summary.plain)
    if event.online_url:
        lines.append(f"Join online: {event.online_url}")
    if event.registration_url:
        lines.append(f"Register: {event.registration_url}")
    lines.append(f"Details: {item.url}")
    return _text("\n\n".join(lines))


def _vevent_bytes(view: FeedView, item: Item) -> bytes:
    categories = tuple(view.catalog.topics[topic].title for topic in item.topics)
    return _serialized_vevent(view.site, item, categories)


# An event appears in up to a dozen calendars (its topics', the site's, their views) and its
# own file; serialising it is most of a calendar's cost, so it is done once per version of
# the event. Bounded: a rebuild's events replace the previous ones.
@functools.lru_cache(maxsize=50_000)
def _serialized_vevent(site: Site, item: Item, categories: tuple[str, ...]) -> bytes:
    return _serialize(_vevent(site, item, categories))


@functools.lru_cache(maxsize=1024)
def _serialized_vtimezone(zone_name: str, first: int, last: int) -> bytes:
    return _serialize(vtimezone(zone_name, first, last))


def _serialize(component: Component) -> bytes:
    """What `component.to_ical()` gives, faster: the library folds every line character by
    character, though most are short enough to need no fold; here only long lines go
    through the library's folding. (The golden files pin the bytes.)"""
    lines = component.content_lines(sorted=True)
    return b"\r\n".join(_folded(line) for line in lines if line) + b"\r\n"


def _folded(line: Contentline) -> bytes:
    text = str(line)
    encoded = text.encode("utf-8")
    if len(encoded) < FOLD_AT:
        return encoded
    if len(encoded) == len(text):  # ASCII: the library's folding, by slices
        return _fold_ascii(text).encode("ascii")
    return bytes(line.to_ical())  # type: ignore[no-untyped-call]


def _fold_ascii(line: str) -> str:
    """The library's folding of an ASCII line: 74 characters a line (each continuation
    starts with a space), and a backslash or caret that would end a line moves to the next,
    so no escape sequence is split (icalendar issue #1501)."""
    width = FOLD_AT - 1
    parts, start = [], 0
    while len(line) - start > width:
        end = start + width
        if line[end - 1] in "\\^":
            end -= 1
        parts.append(line[start:end])
        start = end
    parts.append(line[start:])
    return "\r\n ".join(parts)


def _vevent(site: Site, item: Item, categories: tuple[str, ...]) -> VEvent:
    event = item.event
    assert event is not None
    zone = ZoneInfo(event.timezone)
    withdrawn = item.withdrawn is not None
    vevent = VEvent()
    vevent.add("uid", urls.calendar_uid(site, item.id))
    # A withdrawal is the event's latest change: clients compare these to keep the newest.
    modified = max(item.updated, item.withdrawn.date) if item.withdrawn else item.updated
    vevent.add("dtstamp", modified.astimezone(UTC))
    vevent.add("created", item.published.astimezone(UTC))
    vevent.add("last-modified", modified.astimezone(UTC))
    vevent.add("sequence", len(event.changes) + (1 if withdrawn else 0))
    if event.all_day:
        first = _local(event.start, zone).date()
        last = _local(event.end, zone).date() if event.end else first
        vevent.add("dtstart", first)
        vevent.add("dtend", last + timedelta(days=1))  # exclusive (RFC 5545 3.6.1)
    else:
        vevent.add("dtstart", _timed(event.start, zone))
        if event.end is not None:
            vevent.add("dtend", _timed(event.end, zone))
    vevent.add("summary", _text(eventtext.titled(item.title, event, withdrawn)))
    vevent.add("description", _description(item))
    place = eventtext.where(event)
    if place:
        vevent.add("location", _text(place))
    vevent.add("url", item.url, parameters={"VALUE": "URI"})
    vevent.add("categories", [_text(title) for title in categories])
    status = "CANCELLED" if withdrawn else STATUS[event.status]
    vevent.add("status", status)
    publisher = site.publisher
    if publisher.email:
        vevent.add(
            "organizer", f"mailto:{publisher.email}", parameters={"CN": _text(publisher.name)}
        )
    if event.online_url:
        vevent.add(
            "conference",
            event.online_url,
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join online"},
        )
    return vevent


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    return calendar


def _with_events(head: bytes, view: FeedView, events: tuple[Item, ...]) -> bytes:
    """A calendar: `head` (its properties, serialised), a VTIMEZONE for each zone a TZID
    names (covering the years it is used in), then the events, from their cached
    serialisations. A calendar without events holds the VTIMEZONE of its X-WR-TIMEZONE,
    the site's zone: RFC 5545's grammar wants at least one component."""
    years: dict[str, tuple[int, int]] = {}
    for item in events:
        assert item.event is not None
        for year in _zoned_years(item):
            low, high = years.get(item.event.timezone, (year, year))
            years[item.event.timezone] = (min(low, year), max(high, year))
    if not events:
        year = view.updated.astimezone(ZoneInfo(view.site.timezone)).year
        years[view.site.timezone] = (year, year)
    parts = [head]
    parts += [_serialized_vtimezone(zone, *span) for zone, span in sorted(years.items())]
    parts += [_vevent_bytes(view, item) for item in events]
    parts.append(END)
    return b"".join(parts)


def _head(calendar: Calendar) -> bytes:
    """`calendar`'s own properties, serialised (without its END line)."""
    serialized = _serialize(calendar)
    assert serialized.endswith(END)
    return serialized[: -len(END)]


@functools.cache
def _common_head() -> bytes:
    return _head(_calendar())


def _property(name: str, value: vText | vUri, parameters: str = "") -> bytes:
    """One property line, as the library writes it, without a component around it (a
    calendar per event makes building one per file the cost of the whole snapshot)."""
    text = f"{name}{parameters}:{value.to_ical().decode('utf-8')}"
    return _folded(Contentline(text)) + b"\r\n"  # type: ignore[no-untyped-call]


def render_event_calendar(view: FeedView, item: Item) -> bytes:
    """One event as a calendar file, for "Add to calendar" (`view` gives the site and
    catalog; its own feed does not matter). Same VEVENT as in the calendars, so a calendar
    that imported the file and later subscribes sees one event, not two."""
    own = urls.absolute(view.site, urls.event_calendar_path(item.id))
    title = vText(_text(item.title))
    head = b"".join((
        _common_head(),
        _property("NAME", title),
        _property("X-WR-CALNAME", title),
        _property("SOURCE", vUri(own), ";VALUE=URI"),
        _property("URL", vUri(item.url), ";VALUE=URI"),
    ))  # fmt: skip
    return _with_events(head, view, (item,))


def render_ical(view: FeedView) -> bytes:
    """The iCalendar document of `view`'s events (UTF-8, CRLF lines, folded at 75 octets)."""
    site = view.site
    calendar = _calendar()
    # NAME and the X- properties are not typed by the library: vText escapes them as TEXT.
    calendar.add("name", vText(_text(view.title)))
    calendar.add("x-wr-calname", vText(_text(view.title)))
    calendar.add("description", _text(view.subtitle))
    calendar.add("x-wr-caldesc", vText(_text(view.subtitle)))
    calendar.add("x-wr-timezone", vText(site.timezone))
    own = view.url("ics")
    calendar.add("source", own, parameters={"VALUE": "URI"})
    calendar.add("url", view.home_url, parameters={"VALUE": "URI"})
    ttl = timedelta(seconds=max(view.refresh_seconds, 60))
    calendar.add("refresh-interval", ttl, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(ttl))
    calendar.add("last-modified", view.updated.astimezone(UTC))
    events = calendar_events(view)
    if view.key.topic is None:
        events = _within_budget(view, events)
    return _with_events(_head(calendar), view, events)


def _within_budget(view: FeedView, events: tuple[Item, ...]) -> tuple[Item, ...]:
    """At most SITE_WIDE_EVENTS events and SITE_WIDE_BYTES of them, chosen upcoming first
    (soonest first), then past (latest first); in start order. Google Calendar silently
    drops what is beyond about 1 MB or 1,000 events; the rest is in per-topic calendars."""
    upcoming = [item for item in events if ends(item) > view.moment]
    past = [item for item in reversed(events) if ends(item) <= view.moment]
    kept: list[Item] = []
    size = 0
    for item in upcoming + past:
        size += len(_vevent_bytes(view, item))
        if len(kept) == SITE_WIDE_EVENTS or size > SITE_WIDE_BYTES:
            break
        kept.append(item)
    if len(kept) == len(events):
        return events
    return soonest_first(kept)


FORMAT = Format(
    "ics", "ics", MEDIA_TYPE, render_ical, applies_to=holds_events, label="iCalendar",
    kind=CALENDAR,
)  # fmt: skip
