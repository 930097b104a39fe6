"""VTIMEZONE components: RRULEs with BYDAY and no RDATE (what Outlook needs), and offsets
that two independent parsers (icalendar, vobject) read exactly as tzdata has them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from syndicate.render.vtimezone import transitions, vtimezone

ZONES = [
    "America/New_York", "Europe/London", "Europe/Lisbon", "Pacific/Chatham", "Asia/Kathmandu",
    "Australia/Lord_Howe", "Africa/Casablanca", "America/Sao_Paulo", "Asia/Tehran",
    "Pacific/Apia", "America/Santiago", "Australia/Sydney", "UTC",
]  # fmt: skip
FIRST, LAST = 2026, 2027


def instants(zone: str) -> list[datetime]:
    """Every six hours over the covered years, and every quarter hour around each transition."""
    start = datetime(FIRST, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(hours=6 * n) for n in range(4 * 366 * (LAST - FIRST + 1))]
    for found in transitions(zone, date(FIRST, 1, 1), date(LAST, 12, 31)):
        moments += [found.at + timedelta(minutes=15 * n) for n in range(-8, 9)]
    return moments


@pytest.mark.parametrize("zone", ZONES)
def test_the_offsets_read_by_icalendar_are_tzdata_s(zone):
    ical = vtimezone(zone, FIRST, LAST).to_ical()
    parsed = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + ical + b"END:VCALENDAR\r\n"
    )
    tz = next(iter(parsed.walk("VTIMEZONE"))).to_tz()
    real = ZoneInfo(zone)
    for moment in instants(zone):
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(real).utcoffset(), moment


@pytest.mark.parametrize("zone", ZONES)
def test_the_offsets_read_by_vobject_are_tzdata_s(zone):
    ical = vtimezone(zone, FIRST, LAST).to_ical().decode()
    calendar = vobject.readOne(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + ical + "END:VCALENDAR\r\n"
    )
    tz = calendar.vtimezone.gettzinfo()
    real = ZoneInfo(zone)
    for moment in instants(zone):
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(real).utcoffset(), moment


@pytest.mark.parametrize("zone", ZONES)
def test_rules_are_rrules_with_byday_and_never_rdate(zone):
    text = vtimezone(zone, FIRST, LAST).to_ical().decode()
    assert "RDATE" not in text
    for line in text.splitlines():
        if line.startswith("RRULE:"):
            assert "FREQ=YEARLY" in line and "BYDAY=" in line and "BYMONTH=" in line, line


def test_a_zone_with_yearly_daylight_time_is_two_open_rules():
    text = vtimezone("America/New_York", FIRST, LAST).to_ical().decode()
    assert text.count("BEGIN:DAYLIGHT") == 1 and text.count("BEGIN:STANDARD") == 1
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in text


def test_a_zone_without_transitions_is_one_standard_observance():
    text = vtimezone("Asia/Kathmandu", FIRST, LAST).to_ical().decode()
    assert text.count("BEGIN:STANDARD") == 1 and "DAYLIGHT" not in text
    assert "TZOFFSETTO:+0545" in text
