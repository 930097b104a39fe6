"""Upcoming and past views of the feeds that hold events, as the clock moves.

The clock is injected (tests/fakeclock.py) and moved by hand: no test waits for real time
to reach a moment. Expectations come from the fixture content: in New York, "Talking About
Race" is 10 December 13:00-14:30 (18:00-19:30 UTC), "Drugs in Documentary Films" is
14 January 18:30 in London, "Locking Up Our Own" was 22 October, "Addiction Now" (withdrawn)
was 19 November.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.fakeclock import FakeClock
from tests.feedcheck import CHECKS

UPCOMING = "/topics/harm-reduction/events/upcoming"
PAST = "/topics/harm-reduction/events/past"
ATOM = "{http://www.w3.org/2005/Atom}"
RACE, FILMS, LOCKING = (
    "talking-about-race-harm-reduction", "drugs-in-documentary-films", "locking-up-our-own",
)  # fmt: skip
BEFORE_RACE_ENDS = datetime(2026, 12, 10, 19, 29, tzinfo=UTC)
AFTER_RACE_ENDS = datetime(2026, 12, 10, 19, 31, tzinfo=UTC)


async def ids(client, path: str) -> list[str]:
    body = await (await client.get(path + ".atom")).read()
    root = CHECKS["atom"](body)
    return [e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in root.findall(f"{ATOM}entry")]


async def calendar_uids(client, path: str) -> list[str]:
    calendar = CHECKS["ics"](await (await client.get(path + ".ics")).read())
    return [str(event["UID"]).split(".")[0] for event in calendar.walk("VEVENT")]


@pytest.fixture
async def started(serve):
    clock = FakeClock(BEFORE_RACE_ENDS)
    client = await serve(Settings(config=CONTENT, watch=False, access_log=False), clock)
    return client, clock


async def test_upcoming_is_what_has_not_ended_soonest_first(started):
    client, _ = started
    assert await ids(client, UPCOMING) == [RACE, FILMS]
    assert await calendar_uids(client, UPCOMING) == [RACE, FILMS]


async def test_past_is_what_has_ended_latest_first(started):
    client, _ = started
    assert await ids(client, PAST) == [LOCKING]  # Addiction Now is withdrawn: a tombstone
    assert await calendar_uids(client, PAST) == [LOCKING, "addiction-now-safe-injection-facilities"]


async def test_the_views_change_by_themselves_when_an_event_ends(started):
    client, clock = started
    health = await (await client.get("/healthz")).json()
    assert health["scheduled"]["next_rebuild"] == "2026-12-10T19:30:00+00:00"
    clock.advance(AFTER_RACE_ENDS)  # no edit, no signal
    started_at = time.monotonic()
    while await ids(client, UPCOMING) != [FILMS]:
        assert time.monotonic() - started_at < 2, "the views were not rebuilt"
        await asyncio.sleep(0.02)
    assert await ids(client, PAST) == [RACE, LOCKING]
    assert await calendar_uids(client, UPCOMING) == [FILMS]
    health = await (await client.get("/healthz")).json()
    assert health["scheduled"]["next_rebuild"] == "2027-01-14T21:00:00+00:00"  # Films ends


async def test_nothing_is_rebuilt_before_the_moment(started):
    client, clock = started
    version = (await (await client.get("/healthz")).json())["snapshot"]["version"]
    clock.advance(datetime(2026, 12, 10, 19, 29, 59, tzinfo=UTC))
    await asyncio.sleep(0.2)
    assert (await (await client.get("/healthz")).json())["snapshot"]["version"] == version
    assert await ids(client, UPCOMING) == [RACE, FILMS]


async def test_views_are_the_same_bytes_for_the_same_content_and_moment(serve):
    first = await serve(Settings(config=CONTENT, watch=False, access_log=False),
                        FakeClock(BEFORE_RACE_ENDS))  # fmt: skip
    second = await serve(Settings(config=CONTENT, watch=False, access_log=False),
                         FakeClock(datetime(2026, 12, 10, 19, 0, tzinfo=UTC)))  # fmt: skip
    for path in (UPCOMING + ".atom", PAST + ".json", UPCOMING + ".ics", "/feed.ics"):
        a, b = await first.get(path), await second.get(path)
        assert await a.read() == await b.read(), path
        assert a.headers["ETag"] == b.headers["ETag"]


RACE_ENDS = datetime(2026, 12, 10, 19, 30, tzinfo=UTC)


async def test_an_event_ending_exactly_now_is_past_not_upcoming(serve):
    client = await serve(
        Settings(config=CONTENT, watch=False, access_log=False), FakeClock(RACE_ENDS)
    )
    assert await ids(client, UPCOMING) == [FILMS]
    assert await ids(client, PAST) == [RACE, LOCKING]
    assert await calendar_uids(client, UPCOMING) == [FILMS]


def test_the_next_view_change_after_an_event_ends_exactly_now_is_a_later_one():
    from syndicate.feeds import next_view_change
    from syndicate.loader import load_catalog

    catalog = load_catalog(CONTENT)
    assert next_view_change(catalog, RACE_ENDS) == datetime(2027, 1, 14, 21, 0, tzinfo=UTC)
    assert next_view_change(catalog, BEFORE_RACE_ENDS) == RACE_ENDS
