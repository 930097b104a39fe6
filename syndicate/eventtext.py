"""An event's schedule and place as people read them, in English, in the event's zone.

"Thu 10 December 2026, 13:00–14:30 EST" and "Online". Written by hand rather than with
`strftime`, whose day and month names follow the process locale: output must not.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from syndicate.model import Event, EventStatus

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _day(moment: datetime) -> str:
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def date(moment: datetime, zone: str) -> str:
    """A publication date as people read it, in `zone`: "5 November 2026"."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def _clock(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def when(event: Event) -> str:
    """The schedule, e.g. "Thu 10 December 2026, 18:30–20:00 EST"."""
    local = ZoneInfo(event.timezone)
    start = event.start.astimezone(local)
    if event.all_day:
        if event.end is None or event.end.date() == event.start.date():
            return _day(start)
        end = event.end.astimezone(local)
        return f"{_day(start)} – {_day(end)}"
    zone = start.tzname() or ""
    if event.end is None:
        return f"{_day(start)}, {_clock(start)} {zone}".strip()
    end = event.end.astimezone(local)
    if end.date() == start.date() and end - start < timedelta(days=1):
        end_zone = end.tzname() or ""
        suffix = zone if end_zone == zone else f"{zone}/{end_zone}"
        return f"{_day(start)}, {_clock(start)}–{_clock(end)} {suffix}".strip()
    end_text = f"{_day(end)}, {_clock(end)} {end.tzname() or ''}".strip()
    return f"{_day(start)}, {_clock(start)} {zone} – {end_text}"


def where(event: Event) -> str:
    """The place, e.g. "Venue, Street, City, Country", "Online", or the place "and online"."""
    place = ", ".join(p for p in (event.venue, event.address, event.city, event.country) if p)
    if event.online_url:
        return f"{place}, and online" if place else "Online"
    return place


def _status_line(event: Event) -> str | None:
    """The status and latest change, e.g. `Cancelled. Changed 2026-11-20: ...`, or None."""
    label = status_label(event)
    latest = event.changes[-1] if event.changes else None
    change = f"Changed {latest.date.date().isoformat()}: {latest.note}" if latest else ""
    if label and change:
        return f"{label}. {change}"
    return f"{label}." if label else change or None


def as_html(event: Event, calendar_url: str | None = None) -> str:
    """A short HTML block to put before an event's summary in feeds: its status and latest
    change, when and where, and its links ("Add to calendar": `calendar_url`)."""
    parts = []
    status = _status_line(event)
    if status:
        parts.append(f"<strong>{html.escape(status)}</strong>")
    parts.append(f"<strong>When:</strong> {html.escape(when(event))}")
    place = where(event)
    if place:
        parts.append(f"<strong>Where:</strong> {html.escape(place)}")
    links = []
    if event.online_url:
        links.append(f'<a href="{html.escape(event.online_url)}">Join online</a>')
    if event.registration_url:
        links.append(f'<a href="{html.escape(event.registration_url)}">Register</a>')
    if calendar_url:
        links.append(f'<a href="{html.escape(calendar_url)}">Add to calendar</a>')
    if links:
        parts.append(" · ".join(links))
    return "<p>" + "<br>".join(parts) + "</p>"


def schedule_text(event: Event) -> str:
    """`When: .... Where: ....` as plain text."""
    place = where(event)
    return f"When: {when(event)}." + (f" Where: {place}." if place else "")


def as_text(event: Event) -> str:
    """The same block as `as_html`, as plain text (links aside), for formats that want text."""
    status = _status_line(event)
    return (f"{status} " if status else "") + schedule_text(event)


STATUS_LABELS = {
    EventStatus.CANCELLED: "Cancelled",
    EventStatus.POSTPONED: "Postponed",
    EventStatus.RESCHEDULED: "Rescheduled",
    EventStatus.MOVED_ONLINE: "Moved online",
}


def status_label(event: Event, withdrawn: bool = False) -> str | None:
    """ "Cancelled", "Postponed"...; None for a scheduled event. A withdrawn event is
    cancelled as far as anyone's calendar is concerned."""
    if withdrawn:
        return STATUS_LABELS[EventStatus.CANCELLED]
    return STATUS_LABELS.get(event.status)


def titled(title: str, event: Event | None, withdrawn: bool = False) -> str:
    """The title, prefixed by the event's status when it is not scheduled:
    "Cancelled: Drugs in Documentary Films". Readers and calendars that show only titles
    then still say it."""
    label = status_label(event, withdrawn) if event else None
    return f"{label}: {title}" if label else title
