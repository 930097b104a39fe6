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
