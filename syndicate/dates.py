"""Dates as editors write them -> timezone-aware datetimes.

Accepts RFC 3339 / ISO 8601 and common written forms ("10 December 2026 18:30") through
python-dateutil, which reads English month and day names whatever the process locale is.
A value with no zone takes the zone it is given (the site's or the event's). A value with no
time is a whole day. A value missing its year, month or day is refused: dateutil would
otherwise fill the gap from today's date and the output would depend on the clock.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil import parser as dateutil_parser
from dateutil.parser import UnknownTimezoneWarning

# Two reference points that differ in every field: whatever dateutil fills in from the
# default differs between the two parses, which tells us what the editor left out.
_DEFAULT_A = datetime(2000, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2001, 2, 2, 1, 1, 1)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MIN_YEAR, MAX_YEAR = 1000, 9998
_ABBREVIATION = (
    "{text!r} names a time zone by abbreviation, which is ambiguous; write an offset such "
    "as '-05:00', or leave the zone out and set 'timezone'"
)


class _Abbreviation(Exception):
    pass


class DateError(ValueError):
    """The text is not a usable date; the message says why and how to write it."""


@dataclass(frozen=True)
class ParsedDate:
    """An aware datetime, and whether the editor gave only a day (no time)."""

    value: datetime
    date_only: bool


@functools.cache
def known_zones() -> frozenset[str]:
    """Every IANA zone name this machine has (tzdata or the system's zoneinfo)."""
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (e.g. "America/New_York"); DateError if unknown.

    Only names of the zone database are looked up: zoneinfo reads `name` as a path, and
    raises OSError for a 400-character name or IsADirectoryError for "America"."""
    if name not in known_zones():
        shown = name if len(name) <= 60 else name[:60] + "…"
        raise DateError(
            f"unknown time zone {shown!r}; use an IANA name such as 'Europe/Berlin' "
            "or 'America/New_York'"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # a damaged zone file
        raise DateError(f"time zone {name!r} cannot be read ({error})") from error


def parse_date(text: str, default_zone: ZoneInfo) -> ParsedDate:
    """Parse `text`; naive values are placed in `default_zone`.

    A day without a time is midnight of that day in `default_zone`, with `date_only` set.
    """
    text = text.strip()
    if _ISO_DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise DateError(f"{text!r} is not a real date ({error})") from error
        return _finish(datetime.combine(day, time(0, 0), default_zone), text, date_only=True)
    if ":" in text:
        try:
            # RFC 3339 / ISO 8601 date-times, the common case, without dateutil's slower parser.
            value = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                value = _local(value, default_zone, text)
            return _finish(value, text, date_only=False)
    _check_day_month_order(text)
    first = _parse(text, _DEFAULT_A)
    second = _parse(text, _DEFAULT_B)
    if first.date() != second.date():
        raise DateError(
            f"{text!r} is missing the year, month or day; write a full date such as "
            "'2026-12-10' or '2026-12-10T18:30'"
        )
    # Seconds (and minutes, in '6pm') may be left out; a missing hour means no time at all.
    date_only = first.hour != second.hour
    value = first
    if value.tzinfo is None:
        value = (
            value.replace(tzinfo=default_zone) if date_only else _local(value, default_zone, text)
        )
    return _finish(value, text, date_only)


_NUMERIC_DAY_MONTH = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(?!\d)")


def _check_day_month_order(text: str) -> None:
    """Refuse `3/2/2027`: 2 March in the US, 3 February in most of the world.

    Numeric forms are accepted only when they cannot be read two ways (`13/2/2027`)."""
    match = _NUMERIC_DAY_MONTH.match(text)
    if not match:
        return
    first, second, year = int(match[1]), int(match[3]), match[4]
    if len(year) == 2:
        raise DateError(f"{text!r} has a two-digit year; write the date as YYYY-MM-DD")
    if first != second and first <= 12 and second <= 12:
        raise DateError(
            f"{text!r} could be read as month/day or day/month; write it as "
            f"'{year}-{first:02d}-{second:02d}' or '{year}-{second:02d}-{first:02d}' (YYYY-MM-DD)"
        )


def _local(naive: datetime, where: tzinfo, text: str) -> datetime:
    """`naive` on the wall clock of `where`; refused when that clock skips it or shows it twice.

    A time in a spring-forward gap does not exist (zoneinfo would quietly shift it), and one
    in a fall-back hour happens twice: only an offset written in the text can say which.
    """
    value = naive.replace(tzinfo=where)
    name = getattr(where, "key", str(where))
    wall = value.astimezone(UTC).astimezone(where)
    if wall.replace(tzinfo=None) != naive:
        raise DateError(
            f"{text!r} does not exist in {name}: the clocks skip that time when daylight "
            "saving time starts; write the time the clocks show"
        )
    earlier, later = value.replace(fold=0), value.replace(fold=1)
    if earlier.utcoffset() != later.utcoffset():
        stamp = naive.isoformat(timespec="minutes")
        raise DateError(
            f"{text!r} happens twice in {name} (the clocks go back that night); add the offset: "
            f"'{stamp}{_offset(earlier)}' for the first time or '{stamp}{_offset(later)}' "
            "for the second"
        )
    return value


def _offset(moment: datetime) -> str:
    minutes = int((moment.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _finish(value: datetime, text: str, date_only: bool) -> ParsedDate:
    _check_year(value, text)
    offset = value.utcoffset()
    if offset is not None and offset.seconds % 60:
        # Local mean time before standard zones (e.g. -04:56:02 in New York until 1883) has
        # second offsets, which RFC 3339 cannot write: such moments are kept in UTC.
        value = value.astimezone(UTC)
    return ParsedDate(value, date_only)


def _check_year(value: datetime, text: str) -> None:
    # RSS wants four-digit years, and dates near the ends of the calendar overflow when
    # converted between zones.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise DateError(f"{text!r}: the year must be from {MIN_YEAR} to {MAX_YEAR}")


_UTC_NAMES = frozenset({"UTC", "GMT", "UT", "Z"})


def _fixed_zone(name: str | None, offset: int | None) -> tzinfo | None:
    """Zones dateutil found in the text: offsets and UTC only.

    Given to dateutil as `tzinfos`, this also stops it from reading the machine's own zone
    abbreviations as "local time", which would make the output depend on the process's TZ.
    """
    if offset is not None:
        return timezone(timedelta(seconds=offset)) if offset else UTC
    if name is None:
        return None  # no zone in the text: the caller's default applies
    if name in _UTC_NAMES:
        return UTC
    raise _Abbreviation


def _parse(text: str, default: datetime) -> datetime:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownTimezoneWarning)
        try:
            return dateutil_parser.parse(text, default=default, tzinfos=_fixed_zone)
        except (UnknownTimezoneWarning, _Abbreviation) as warning:
            raise DateError(_ABBREVIATION.format(text=text)) from warning
        except (ValueError, OverflowError) as error:
            raise DateError(
                f"{text!r} is not a date; write it as '2026-12-10', '2026-12-10T18:30' or "
                "'2026-12-10T18:30:00-05:00'"
            ) from error
