"""Calendars read by two independent parsers (icalendar, vobject) say what the content says:
instants, zones, all-day dates, status, SEQUENCE and UID, for the cases calendar clients get
wrong most: DST crossings, odd offsets, multi-day all-day events, reschedules,
cancellations and withdrawals, online events, and text that needs escaping and folding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicate.feeds import feed_view
from syndicate.loader import load_catalog
from syndicate.render import FORMATS
from syndicate.urls import FeedKey
from tests.conftest import MINIMAL, write_config
from tests.feedcheck import check_ical, read_vobject

EVENTS = """
items:
  - id: crosses-dst
    type: events
    title: Night across the clock change
    summary: Ends after New York falls back.
    url: https://example.org/e/crosses-dst
    published: 2026-10-01T10:00
    topics: [health]
    start: 2026-10-31T23:00
    end: 2026-11-01T03:00
    timezone: America/New_York
  - id: kathmandu
    type: events
    title: Morning in Kathmandu
    summary: UTC+05:45.
    url: https://example.org/e/kathmandu
    published: 2026-10-02T10:00
    topics: [health]
    start: 2027-02-10T09:15
    end: 2027-02-10T10:45
    timezone: Asia/Kathmandu
    venue: Patan Museum
    city: Lalitpur
    country: Nepal
  - id: chatham
    type: events
    title: Chatham, as daylight time ends
    summary: From +13:45 to +12:45.
    url: https://example.org/e/chatham
    published: 2026-10-03T10:00
    topics: [health]
    start: 2027-04-04T02:00
    end: 2027-04-04T05:00
    timezone: Pacific/Chatham
  - id: conference
    type: events
    title: Three-day conference
    summary: All day, three days.
    url: https://example.org/e/conference
    published: 2026-10-04T10:00
    topics: [health]
    start: 2027-03-15
    end: 2027-03-17
    timezone: Europe/Lisbon
  - id: moved
    type: events
    title: Moved a week later
    summary: Rescheduled once.
    url: https://example.org/e/moved
    published: 2026-10-05T10:00
    topics: [health]
    start: 2027-01-21T18:30
    end: 2027-01-21T20:00
    status: rescheduled
    changes:
      - date: 2026-11-20T10:00
        note: Moved from 14 to 21 January, same time and place.
  - id: called-off
    type: events
    title: Called off
    summary: Cancelled.
    url: https://example.org/e/called-off
    published: 2026-10-06T10:00
    topics: [health]
    start: 2027-02-01T18:00
    status: cancelled
    changes:
      - date: 2026-11-21T09:00
        note: Cancelled; the speaker cannot travel.
  - id: retracted
    type: events
    title: Retracted
    summary: Withdrawn.
    url: https://example.org/e/retracted
    published: 2026-10-07T10:00
    topics: [health]
    start: 2027-02-02T18:00
    withdrawn:
      date: 2026-11-22T09:00
      reason: Announced by mistake.
  - id: online
    type: events
    title: Online only
    summary: A webinar.
    url: https://example.org/e/online
    published: 2026-10-08T10:00
    topics: [health]
    start: 2027-02-03T17:00
    end: 2027-02-03T18:00
    online_url: https://example.org/live/online
    registration_url: https://example.org/register/online
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_config(tmp_path_factory.mktemp("calendars"), {**MINIMAL, "items.yaml": EVENTS})


def calendar_of(folder: Path) -> bytes:
    catalog = load_catalog(folder)
    return FORMATS["ics"].render(feed_view(catalog, FeedKey("health", "events")))


@pytest.fixture(scope="module")
def body(folder) -> bytes:
    return calendar_of(folder)


@pytest.fixture(scope="module")
def by_icalendar(body) -> dict:
    return {str(e["UID"]).split(".")[0]: e for e in check_ical(body).walk("VEVENT")}


@pytest.fixture(scope="module")
def by_vobject(body) -> dict:
    return {e.uid.value.split(".")[0]: e for e in read_vobject(body).vevent_list}


# (id, start, end, zone) as the content says them, as instants.
def at(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


TIMED = [
    ("crosses-dst", at("2026-10-31T23:00", "America/New_York"),
     at("2026-11-01T03:00", "America/New_York"), "America/New_York"),
    ("kathmandu", at("2027-02-10T09:15", "Asia/Kathmandu"),
     at("2027-02-10T10:45", "Asia/Kathmandu"), "Asia/Kathmandu"),
    ("chatham", at("2027-04-04T02:00", "Pacific/Chatham"),
     at("2027-04-04T05:00", "Pacific/Chatham"), "Pacific/Chatham"),
    ("moved", at("2027-01-21T18:30", "America/New_York"),
     at("2027-01-21T20:00", "America/New_York"), "America/New_York"),
]  # fmt: skip


@pytest.mark.parametrize(("uid", "start", "end", "zone"), TIMED, ids=[t[0] for t in TIMED])
def test_timed_events_have_the_content_s_instants_in_its_zone(
    by_icalendar, by_vobject, uid, start, end, zone
):
    event = by_icalendar[uid]
    assert event["DTSTART"].params["TZID"] == zone
    assert event["DTSTART"].dt == start and event["DTEND"].dt == end  # same instants
    other = by_vobject[uid]
    assert other.dtstart.value == start and other.dtend.value == end
    assert other.dtstart.value.utcoffset() == start.utcoffset()


def test_the_dst_crossing_lasts_five_real_hours(by_icalendar, by_vobject):
    event = by_icalendar["crosses-dst"]
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(hours=4)  # wall clock
    assert (event["DTEND"].dt.astimezone(UTC) - event["DTSTART"].dt.astimezone(UTC)) == timedelta(
        hours=5
    )
    other = by_vobject["crosses-dst"]
    assert other.dtend.value.astimezone(UTC) - other.dtstart.value.astimezone(UTC) == timedelta(
        hours=5
    )


def test_odd_offsets_are_kept(by_icalendar):
    assert by_icalendar["kathmandu"]["DTSTART"].dt.utcoffset() == timedelta(hours=5, minutes=45)
    chatham = by_icalendar["chatham"]
    assert chatham["DTSTART"].dt.utcoffset() == timedelta(hours=13, minutes=45)
    assert chatham["DTEND"].dt.utcoffset() == timedelta(hours=12, minutes=45)  # after 03:45


def test_an_all_day_multi_day_event_is_dates_with_an_exclusive_end(by_icalendar, by_vobject):
    event = by_icalendar["conference"]
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert (event["DTSTART"].dt, event["DTEND"].dt) == (date(2027, 3, 15), date(2027, 3, 18))
    other = by_vobject["conference"]
    assert (other.dtstart.value, other.dtend.value) == (date(2027, 3, 15), date(2027, 3, 18))


def test_status_and_sequence_follow_the_content(by_icalendar, by_vobject):
    expected = {
        "crosses-dst": ("CONFIRMED", 0), "moved": ("CONFIRMED", 1),
        "called-off": ("CANCELLED", 1), "retracted": ("CANCELLED", 1),
        "online": ("CONFIRMED", 0),
    }  # fmt: skip
    for uid, (status, sequence) in expected.items():
        assert (str(by_icalendar[uid]["STATUS"]), int(by_icalendar[uid]["SEQUENCE"])) == (
            status,
            sequence,
        ), uid
        assert by_vobject[uid].status.value == status
        assert int(by_vobject[uid].sequence.value) == sequence
    assert str(by_icalendar["called-off"]["SUMMARY"]) == "Cancelled: Called off"
    assert "Announced by mistake." in str(by_icalendar["retracted"]["DESCRIPTION"])
    withdrawn_at = datetime(2026, 11, 22, 9, tzinfo=ZoneInfo("America/New_York"))
    assert by_icalendar["retracted"]["LAST-MODIFIED"].dt == withdrawn_at  # its latest change


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence_by_one(folder, tmp_path):
    before = write_config(tmp_path / "before", {**MINIMAL, "items.yaml": EVENTS.replace(
        """    start: 2027-01-21T18:30
    end: 2027-01-21T20:00
    status: rescheduled
    changes:
      - date: 2026-11-20T10:00
        note: Moved from 14 to 21 January, same time and place.
""", """    start: 2027-01-14T18:30
    end: 2027-01-14T20:00
""")})  # fmt: skip
    old = {str(e["UID"]): e for e in check_ical(calendar_of(before)).walk("VEVENT")}
    new = {str(e["UID"]): e for e in check_ical(calendar_of(folder)).walk("VEVENT")}
    uid = "moved.2026@example.org"
    assert uid in old and uid in new
    assert int(new[uid]["SEQUENCE"]) == int(old[uid]["SEQUENCE"]) + 1
    assert new[uid]["DTSTART"].dt - old[uid]["DTSTART"].dt == timedelta(days=7)


def test_an_online_event_carries_its_link(by_icalendar, by_vobject):
    event = by_icalendar["online"]
    assert str(event["CONFERENCE"]) == "https://example.org/live/online"
    assert event["CONFERENCE"].params["VALUE"] == "URI"
    assert str(event["LOCATION"]) == "Online"
    text = str(event["DESCRIPTION"])
    assert "Join online: https://example.org/live/online" in text
    assert "Register: https://example.org/register/online" in text
    assert by_vobject["online"].location.value == "Online"


def test_every_event_has_the_content_s_dates_and_links(by_icalendar):
    for uid, event in by_icalendar.items():
        assert str(event["URL"]) == f"https://example.org/e/{uid}"
        assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt  # the item's updated
        assert event["DTSTAMP"].dt.tzinfo is not None
        assert [str(c) for c in event["CATEGORIES"].cats] == ["Health"]


HOSTILE = "Fish, chips; a\\\\b; two\\nlines ﷽ مرحبا \u202eRTL\u202c " + "ü" * 20 + "👩🏽‍⚕️" * 6


def test_text_survives_escaping_and_folding_in_both_parsers(tmp_path):
    title = HOSTILE.replace("\\\\", "\\").replace("\\n", " ")  # a line field: one line
    items = f"""
items:
  - id: hostile
    type: events
    title: "{HOSTILE.replace('"', "")}"
    summary: "{HOSTILE}"
    url: https://example.org/e/hostile
    published: 2026-10-01T10:00
    topics: [health]
    start: 2027-01-01T10:00
    venue: "{HOSTILE.replace('"', "")}"
"""
    folder = write_config(tmp_path, {**MINIMAL, "items.yaml": items})
    body = calendar_of(folder)
    event = next(iter(check_ical(body).walk("VEVENT")))  # folding checked there
    assert str(event["SUMMARY"]) == title
    other = read_vobject(body).vevent
    assert other.summary.value == title
    assert title in other.description.value  # the summary, its commas and backslash intact
    assert other.description.value.count("\n\n") >= 2  # paragraphs, as real line breaks
    assert str(event["LOCATION"]).startswith(title)


async def test_every_event_entry_links_a_calendar_file_holding_just_that_event(serve):
    """ "Add to calendar" in Atom (link rel=related), RSS (atom:link) and JSON Feed
    (_event.calendar_url), each leading to a served file with that event and no other."""
    import json
    from xml.etree import ElementTree

    from syndicate.settings import Settings
    from tests.conftest import CONTENT

    client = await serve(Settings(config=CONTENT, watch=False, access_log=False))
    atom_ns = "{http://www.w3.org/2005/Atom}"
    path = "/topics/harm-reduction/events"
    found: dict[str, set[str]] = {}
    atom = ElementTree.fromstring(await (await client.get(path + ".atom")).read())
    for entry in atom.iter(f"{atom_ns}entry"):
        [link] = [x for x in entry.iter(f"{atom_ns}link") if x.get("type") == "text/calendar"]
        assert (link.get("rel"), link.get("title")) == ("related", "Add to calendar")
        found.setdefault("atom", set()).add(link.get("href"))
    rss = ElementTree.fromstring(await (await client.get(path + ".rss")).read())
    for item in rss.iter("item"):
        [link] = [x for x in item.iter(f"{atom_ns}link") if x.get("type") == "text/calendar"]
        found.setdefault("rss", set()).add(link.get("href"))
    feed = json.loads(await (await client.get(path + ".json")).read())
    found["json"] = {item["_event"]["calendar_url"] for item in feed["items"]}
    assert found["atom"] == found["rss"] == found["json"] and len(found["json"]) == 3
    for url in found["json"]:
        event_id = url.rsplit("/", 1)[1].removesuffix(".ics")
        response = await client.get(url.removeprefix("https://feeds.example.org"))
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = check_ical(await response.read())
        assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [
            f"{event_id}.2026@opensocietyfoundations.org"
        ]


def test_site_wide_calendars_stay_under_what_google_truncates(tmp_path):
    """1,200 upcoming events of about 1 KB each: the site-wide calendar keeps the soonest
    that fit in 900 KB and 1,000 events; the topic's calendar keeps them all."""
    from syndicate.render.ical import SITE_WIDE_BYTES, SITE_WIDE_EVENTS

    summary = "A talk about health policy and practice. " * 20
    items = [
        f"""  - id: talk-{n:04d}
    type: events
    title: Talk {n}
    summary: {summary}
    url: https://example.org/e/{n}
    published: 2026-10-01T10:00
    topics: [health]
    start: {(datetime(2027, 1, 1, 9) + timedelta(hours=n)).isoformat(timespec="minutes")}
    end: {(datetime(2027, 1, 1, 10) + timedelta(hours=n)).isoformat(timespec="minutes")}"""
        for n in range(1200)
    ]
    files = {  # 100 a file: files have a size limit
        f"items-{n // 100}.yaml": "items:\n" + "\n".join(items[n : n + 100]) + "\n"
        for n in range(0, 1200, 100)
    }
    folder = write_config(tmp_path, {**MINIMAL, **files})
    catalog = load_catalog(folder)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    site_wide = FORMATS["ics"].render(feed_view(catalog, FeedKey(type="events"), now=now))
    starts = [e["DTSTART"].dt for e in check_ical(site_wide).walk("VEVENT")]
    assert len(site_wide) <= SITE_WIDE_BYTES + 10_000  # the events, plus a small head
    assert 0 < len(starts) <= SITE_WIDE_EVENTS
    assert starts == sorted(starts)
    new_york = ZoneInfo("America/New_York")
    first = datetime(2027, 1, 1, 9, tzinfo=new_york)
    assert starts[0] == datetime(2026, 12, 10, 18, 30, tzinfo=new_york)  # MINIMAL's own talk
    assert starts[1:] == [first + timedelta(hours=n) for n in range(len(starts) - 1)]  # soonest
    topic = FORMATS["ics"].render(feed_view(catalog, FeedKey("health", "events"), now=now))
    assert topic.count(b"BEGIN:VEVENT") == 1200 + 1


async def test_calendar_properties_agree_with_the_http_cache_and_name_their_source(serve):
    """REFRESH-INTERVAL and X-PUBLISHED-TTL say the same as Cache-Control's max-age; SOURCE
    is the calendar's own URL; NAME and X-WR-CALNAME are the feed title."""
    from syndicate.settings import Settings
    from tests.conftest import CONTENT

    client = await serve(Settings(config=CONTENT, watch=False, access_log=False, max_age=600))
    response = await client.get("/topics/harm-reduction/events.ics")
    assert response.headers["Cache-Control"].startswith("public, max-age=600,")
    calendar = check_ical(await response.read())
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(seconds=600)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert calendar["X-PUBLISHED-TTL"].to_ical() == b"PT10M"
    assert str(calendar["SOURCE"]) == "https://feeds.example.org/topics/harm-reduction/events.ics"
    title = "Open Society Foundations: Harm Reduction – Events"
    assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == title


def test_the_organizer_is_the_publisher_when_it_has_an_email(tmp_path):
    with_email = MINIMAL["site.yaml"].replace(
        "publisher: {name: Example Foundation}",
        "publisher: {name: Example Foundation, email: events@example.org}",
    )
    assert with_email != MINIMAL["site.yaml"]
    folder = write_config(tmp_path, {**MINIMAL, "site.yaml": with_email})
    event = next(iter(check_ical(calendar_of(folder)).walk("VEVENT")))
    assert str(event["ORGANIZER"]) == "mailto:events@example.org"
    assert event["ORGANIZER"].params["CN"] == "Example Foundation"
    without = next(
        iter(check_ical(calendar_of(write_config(tmp_path / "b", MINIMAL))).walk("VEVENT"))
    )
    assert "ORGANIZER" not in without


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("2027-11-07T01:30:00-04:00", datetime(2027, 11, 7, 5, 30, tzinfo=UTC)),  # first 01:30
        ("2027-11-07T01:30:00-05:00", datetime(2027, 11, 7, 6, 30, tzinfo=UTC)),  # second
    ],
)
def test_a_local_time_that_happens_twice_keeps_its_instant(tmp_path, written, instant):
    event = EVENTS.split("  - id: kathmandu")[0].replace(
        "start: 2026-10-31T23:00\n    end: 2026-11-01T03:00", f"start: {written}"
    )
    body = calendar_of(write_config(tmp_path, {**MINIMAL, "items.yaml": event}))
    (parsed,) = check_ical(body).walk("VEVENT")
    assert parsed["DTSTART"].dt == instant
    (other,) = read_vobject(body).vevent_list
    assert other.dtstart.value == instant
    assert b"VTIMEZONE" not in body  # no TZID is left that would need one


def test_an_all_day_event_needs_no_vtimezone(tmp_path):
    conference = (
        "items:\n  - id: conference"
        + EVENTS.split("  - id: conference")[1].split("  - id: moved")[0]
    )
    body = calendar_of(write_config(tmp_path, {**MINIMAL, "items.yaml": conference}))
    calendar = check_ical(body)
    assert len(calendar.walk("VEVENT")) == 1
    assert not calendar.walk("VTIMEZONE")


def test_a_calendar_without_events_still_holds_a_component(tmp_path):
    voices_only = MINIMAL["items.yaml"].split("  - id: an-essay")[1]
    folder = write_config(
        tmp_path, {**MINIMAL, "items.yaml": "items:\n  - id: an-essay" + voices_only}
    )
    catalog = load_catalog(folder)
    body = FORMATS["ics"].render(feed_view(catalog, FeedKey("justice", "events")))
    calendar = check_ical(body)
    assert not calendar.walk("VEVENT")
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]


@pytest.mark.parametrize("zone", ["UTC", "Atlantic/Reykjavik", "Africa/Abidjan"])
def test_an_event_in_a_zone_the_library_writes_as_utc_carries_no_vtimezone(tmp_path, zone):
    event = EVENTS.split("  - id: kathmandu")[0].replace("America/New_York", zone)
    body = calendar_of(write_config(tmp_path, {**MINIMAL, "items.yaml": event}))
    (parsed,) = check_ical(body).walk("VEVENT")
    assert parsed["DTSTART"].dt == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert b"BEGIN:VTIMEZONE" not in body
