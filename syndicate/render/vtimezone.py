"""VTIMEZONE components that every calendar client reads the same way.

Every TZID a calendar uses needs a VTIMEZONE describing its offsets over the dates it is
used for (RFC 5545 3.6.5); without one Google shows UTC and Outlook is off by an hour. The
`icalendar` library can write one from tzdata, but lists the transitions with RDATE, which
Outlook rejects, and Outlook also wants yearly rules with BYDAY. So the rules are inferred
here from zoneinfo's own transitions: the transitions of each kind (to daylight time, to
standard time) that fall on the same weekday rule in consecutive years become one
observance with `RRULE:FREQ=YEARLY;BYMONTH=m;BYDAY=nDD` (`-1` for "last"), bounded by
UNTIL when the rule stops; a transition that fits no rule is an observance of its own
(DTSTART only). A zone without transitions (Asia/Kathmandu) is one STANDARD observance.
The components are built with `icalendar`'s classes; a test checks the offsets they
describe against zoneinfo at every hour around each transition.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    at: datetime  # the instant, UTC
    local: datetime  # wall time just before it, naive (DTSTART is in TZOFFSETFROM)
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    @property
    def kind(self) -> tuple[object, ...]:
        """What must agree for two transitions to be one yearly rule."""
        return (self.daylight, self.offset_from, self.offset_to, self.name,
                self.local.month, self.local.time())  # fmt: skip


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def transitions(zone_name: str, first: date, last: date) -> tuple[Transition, ...]:
    """Every change of offset or name in `zone_name` between `first` and `last` (UTC days)."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    # Scan a week at a time, then narrow down to the minute: no zone changes offset twice
    # within a week (Morocco's Ramadan time, the shortest, lasts about a month).
    step = timedelta(days=7)
    while moment < end:
        after = moment + step
        if _state(zone, moment) != _state(zone, after):
            low, high = moment, after
            while high - low > timedelta(minutes=1):  # transitions fall on whole minutes
                middle = low + (high - low) / 2
                if _state(zone, middle) == _state(zone, low):
                    low = middle
                else:
                    high = middle
            instant = high.replace(second=0, microsecond=0)
            before = _offset(zone, instant - timedelta(minutes=1))
            local = instant.astimezone(zone)
            found.append(
                Transition(
                    at=instant,
                    local=(instant + before).replace(tzinfo=None),
                    offset_from=before,
                    offset_to=_offset(zone, instant),
                    name=local.tzname() or "",
                    # The later, clock-forward offset is DAYLIGHT, even in zones whose tzdata
                    # calls it standard time (Morocco's "negative DST"): parsers resolve the
                    # repeated hour by assuming daylight time is ahead.
                    daylight=_offset(zone, instant) > before,
                )
            )
        moment = after
    return tuple(found)


def _state(zone: ZoneInfo, moment: datetime) -> tuple[object, ...]:
    local = moment.astimezone(zone)
    return (local.utcoffset(), local.tzname(), bool(local.dst()))


def _byday_choices(day: datetime) -> set[str]:
    """The BYDAY forms that name `day` within its month: `2SU`, and `-1SU` if it is the last."""
    weekday = _WEEKDAYS[day.weekday()]
    choices = {f"{(day.day - 1) // 7 + 1}{weekday}"}
    if day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
        choices.add(f"-1{weekday}")
    return choices


def _observance(
    first: Transition, rule: str | None, until: Transition | None
) -> TimezoneDaylight | TimezoneStandard:
    component = TimezoneDaylight() if first.daylight else TimezoneStandard()
    component.add("dtstart", first.local)
    if rule is not None:
        recur = {"freq": "yearly", "bymonth": first.local.month, "byday": rule}
        if until is not None:
            recur["until"] = until.at
        component.add("rrule", vRecur(recur))
    component.add("tzname", first.name)
    component.add("tzoffsetfrom", first.offset_from)
    component.add("tzoffsetto", first.offset_to)
    return component


# tzdata lists transitions up to 2037 and gives one yearly rule for after: scanning a few
# years past that finds the rule, which the last open RRULE then carries on. Before 1900
# zones mostly had local mean time; a calendar of such dates gets the 1900 rules.
RULES_SETTLED_BY = 2040
EARLIEST = 1900


def vtimezone(zone_name: str, first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE for `zone_name`, right for every date from the start of the year before
    `first_year` to the end of `last_year` (and, by its rules, usually beyond)."""
    first = min(max(first_year, EARLIEST), RULES_SETTLED_BY)
    last = min(max(last_year, first), RULES_SETTLED_BY)
    return _vtimezone(zone_name, first, last)


@functools.lru_cache(maxsize=256)
def _vtimezone(zone_name: str, first_year: int, last_year: int) -> Timezone:
    found = transitions(zone_name, date(first_year - 1, 1, 1), date(last_year, 12, 31))
    timezone = Timezone()
    timezone.add("tzid", zone_name)
    if not found:
        zone = ZoneInfo(zone_name)
        moment = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset()
        assert offset is not None
        component = TimezoneStandard()
        component.add("dtstart", datetime(1970, 1, 1))
        component.add("tzname", moment.tzname() or "")
        component.add("tzoffsetfrom", offset)
        component.add("tzoffsetto", offset)
        timezone.add_component(component)
        return timezone
    # Group each kind of transition into runs of consecutive years that share a BYDAY form.
    by_kind: dict[tuple[object, ...], list[Transition]] = {}
    for transition in found:
        by_kind.setdefault(transition.kind, []).append(transition)
    components: list[tuple[datetime, TimezoneDaylight | TimezoneStandard]] = []
    for runs in by_kind.values():
        start = 0
        while start < len(runs):
            choices = _byday_choices(runs[start].local)
            end = start + 1
            while end < len(runs) and runs[end].local.year == runs[end - 1].local.year + 1:
                narrowed = choices & _byday_choices(runs[end].local)
                if not narrowed:
                    break
                choices, end = narrowed, end + 1
            run = runs[start:end]
            if len(run) == 1:  # one year is no evidence of a yearly rule
                components.append((run[0].at, _observance(run[0], None, None)))
            else:
                # Prefer the positive form (2SU) when both fit: both name the same days.
                rule = sorted(choices, key=lambda c: (c.startswith("-"), c))[0]
                last_of_range = run[-1].local.year == last_year
                components.append(
                    (run[0].at, _observance(run[0], rule, None if last_of_range else run[-1]))
                )
            start = end
    for _, observance in sorted(components, key=lambda pair: pair[0]):
        timezone.add_component(observance)
    return timezone
