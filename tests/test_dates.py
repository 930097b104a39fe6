"""Dates as editors write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from syndicate.dates import DateError, parse_date, zone

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected", "date_only"),
    [
        ("2026-12-10", datetime(2026, 12, 10, tzinfo=NY), True),
        ("2026-12-10T18:30", datetime(2026, 12, 10, 18, 30, tzinfo=NY), False),
        (
            "2026-12-10T18:30:00-08:00",
            datetime(2026, 12, 10, 18, 30, tzinfo=timezone(timedelta(hours=-8))),
            False,
        ),
        ("2026-12-10T23:30Z", datetime(2026, 12, 10, 23, 30, tzinfo=UTC), False),
        ("10 December 2026", datetime(2026, 12, 10, tzinfo=NY), True),
        ("10 December 2026 6pm", datetime(2026, 12, 10, 18, 0, tzinfo=NY), False),
        ("Thu, 10 Dec 2026 18:30:00 +0000", datetime(2026, 12, 10, 18, 30, tzinfo=UTC), False),
    ],
)
def test_accepted_forms(text, expected, date_only):
    parsed = parse_date(text, NY)
    assert parsed.value == expected
    assert parsed.value.utcoffset() == expected.utcoffset()
    assert parsed.date_only is date_only


@pytest.mark.parametrize("text", ["next tuesday", "December 10", "2026-13-01", "", "10:30"])
def test_refused_forms(text):
    with pytest.raises(DateError):
        parse_date(text, NY)


def test_local_zone_abbreviations_do_not_depend_on_the_process_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        with pytest.raises(DateError, match="abbreviation"):
            parse_date("2026-12-10 18:30 EST", ZoneInfo("Europe/Paris"))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_unknown_zone_is_refused():
    with pytest.raises(DateError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "3/2/2027 10:00",
            "'3/2/2027 10:00' could be read as month/day or day/month; write it as "
            "'2027-03-02' or '2027-02-03' (YYYY-MM-DD)",
        ),
        (
            "03.02.2027",
            "'03.02.2027' could be read as month/day or day/month; write it as "
            "'2027-03-02' or '2027-02-03' (YYYY-MM-DD)",
        ),
        ("3/2/27", "'3/2/27' has a two-digit year; write the date as YYYY-MM-DD"),
    ],
)
def test_numeric_dates_that_read_two_ways_are_refused_with_the_iso_forms(text, message):
    with pytest.raises(DateError) as caught:
        parse_date(text, NY)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13/2/2027", datetime(2027, 2, 13, tzinfo=NY)),
        ("2/2/2027", datetime(2027, 2, 2, tzinfo=NY)),
    ],
)
def test_numeric_dates_that_read_one_way_are_accepted(text, expected):
    assert parse_date(text, NY).value == expected


@pytest.mark.parametrize("text", ["2027-03-14T02:30", "14 March 2027 2:30am"])
def test_a_time_the_clocks_skip_is_refused(text):
    with pytest.raises(DateError) as caught:
        parse_date(text, NY)
    assert str(caught.value) == (
        f"{text!r} does not exist in America/New_York: the clocks skip that time when daylight "
        "saving time starts; write the time the clocks show"
    )


def test_a_time_the_clocks_show_twice_is_refused_without_an_offset():
    with pytest.raises(DateError) as caught:
        parse_date("2026-11-01T01:30", NY)
    assert str(caught.value) == (
        "'2026-11-01T01:30' happens twice in America/New_York (the clocks go back that night); "
        "add the offset: '2026-11-01T01:30-04:00' for the first time or "
        "'2026-11-01T01:30-05:00' for the second"
    )


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-01T01:30-04:00", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("2026-11-01T01:30-05:00", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
        ("2027-03-14T03:30", datetime(2027, 3, 14, 7, 30, tzinfo=UTC)),
        ("2027-03-14T01:59", datetime(2027, 3, 14, 6, 59, tzinfo=UTC)),
    ],
)
def test_times_around_the_changes_with_one_meaning_are_accepted(text, utc):
    assert parse_date(text, NY).value == utc
