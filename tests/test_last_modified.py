"""Last-Modified that date-only clients can trust: never later than Date, and past every
earlier value whenever the bytes change (RFC 9110 8.8.2, 13.1.3)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest

from syndicate.lastmodified import Served, settle
from syndicate.loader import load_catalog
from syndicate.settings import Settings
from syndicate.snapshot import build_snapshot
from tests.conftest import CONTENT

EVENTS = "/topics/harm-reduction/events.atom"
EVENTS_FILE = "items/harm-reduction/events.yaml"
WITHDRAWAL = """    withdrawn:
      date: 2026-11-25T08:00
      reason: The recording is no longer available.
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def http_date(value: str) -> datetime:
    return parsedate_to_datetime(value)


def edit(config: Path, name: str, old: str, new: str) -> None:
    path = config / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


# The rules, on snapshots (no clock, no HTTP).

SNAPSHOT = build_snapshot(load_catalog(CONTENT))
FEED = "/feed.atom"
NOW = datetime(2026, 11, 26, 12, 0, 0, 250_000, tzinfo=UTC)


def test_a_first_snapshot_keeps_the_dates_of_its_content():
    settled = settle(SNAPSHOT, {}, NOW)
    for path, rep in SNAPSHOT.representations.items():
        assert settled.snapshot.representations[path].last_modified == rep.last_modified
    assert settled.serve_from == NOW.replace(microsecond=0)


def test_a_date_later_than_now_is_served_as_now():
    early = datetime(2026, 11, 24, 9, 30, 15, tzinfo=UTC)  # before the content's dates
    settled = settle(SNAPSHOT, {}, early)
    for path, rep in settled.snapshot.representations.items():
        assert rep.last_modified == min(SNAPSHOT.representations[path].last_modified, early)
    assert max(r.last_modified for r in settled.snapshot.representations.values()) == early


def test_unchanged_bytes_keep_the_last_modified_they_were_served_with():
    earlier = NOW.replace(microsecond=0) - timedelta(hours=1)
    served = {FEED: Served(SNAPSHOT.representations[FEED].etag, earlier)}
    settled = settle(SNAPSHOT, served, NOW)
    assert settled.snapshot.representations[FEED].last_modified == earlier


def test_changed_bytes_whose_date_did_not_move_are_dated_now():
    before = NOW.replace(microsecond=0) - timedelta(minutes=5)
    settled = settle(SNAPSHOT, {FEED: Served('"other bytes"', before)}, NOW)
    assert settled.snapshot.representations[FEED].last_modified == NOW.replace(microsecond=0)


def test_a_change_within_the_second_already_served_waits_for_the_next_second():
    this_second = NOW.replace(microsecond=0)
    settled = settle(SNAPSHOT, {FEED: Served('"other bytes"', this_second)}, NOW)
    assert settled.snapshot.representations[FEED].last_modified == this_second + timedelta(
        seconds=1
    )
    assert settled.serve_from == this_second + timedelta(seconds=1)


# Over HTTP, on a real server.


async def test_last_modified_is_never_later_than_date_for_any_representation(serve):
    client = await serve(Settings(config=CONTENT, watch=False, access_log=False))
    for path in client.service.store.snapshot.representations:
        response = await client.get(path)
        headers = response.headers
        assert http_date(headers["Last-Modified"]) <= http_date(headers["Date"]), path


async def test_a_withdrawal_taken_back_moves_last_modified_forward(serve, config):
    """The feed's newest date goes back (11-25 -> 11-21), yet its bytes changed: a client
    that sends only the date it was given must get them."""
    client = await serve(Settings(config=config, watch=False, access_log=False))
    first = await client.get(EVENTS)
    given = first.headers["Last-Modified"]
    assert http_date(given) == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 New York
    edit(config, EVENTS_FILE, WITHDRAWAL, "")
    assert await client.service.store.reload("test")
    again = await client.get(EVENTS, headers={"If-Modified-Since": given})
    assert again.status == 200
    assert b"Addiction Now" in await again.read()
    moved = http_date(again.headers["Last-Modified"])
    assert http_date(given) < moved <= http_date(again.headers["Date"])


async def test_a_title_fixed_without_a_new_date_moves_last_modified_forward(serve, config):
    client = await serve(Settings(config=config, watch=False, access_log=False))
    given = (await client.get(EVENTS)).headers["Last-Modified"]
    edit(config, EVENTS_FILE, 'title: "Locking Up Our Own:', 'title: "Locking Up Our Own (video):')
    assert await client.service.store.reload("test")
    response = await client.get(EVENTS, headers={"If-Modified-Since": given})
    assert response.status == 200
    assert http_date(response.headers["Last-Modified"]) > http_date(given)


async def test_an_unrelated_edit_leaves_a_feed_last_modified_alone(serve, config):
    client = await serve(Settings(config=config, watch=False, access_log=False))
    given = (await client.get(EVENTS)).headers["Last-Modified"]
    edit(config, "items/drug-policy/an-old-voice.yaml", "An Old Voice\n", "An Old Voice, Again\n")
    assert await client.service.store.reload("test")
    response = await client.get(EVENTS, headers={"If-Modified-Since": given})
    assert response.status == 304
    assert response.headers["Last-Modified"] == given


def test_http_date_round_trip_is_exact():
    """Sanity for the helper: the header form has whole seconds, in GMT."""
    moment = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert http_date(format_datetime(moment, usegmt=True)) == moment


# Across restarts, with a state folder (SYNDICATE_STATE_DIR).


def test_the_history_survives_a_round_trip_through_its_file(tmp_path):
    from syndicate.web.state import StateFolder

    history = settle(SNAPSHOT, {}, NOW).history
    state = StateFolder(tmp_path / "state")
    state.write_history(history)
    assert state.read_history(NOW) == history
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["last-modified.json"]


@pytest.mark.parametrize("garbage", [
    b"", b"{", b'{"version": 99, "paths": {}}', b"[1, 2]", b"null", b"1", b'"x"', b"\xff\xfe",
    b'{"version": 1, "paths": []}', b'{"version": 1, "paths": null}', b'{"version": 1}',
    b'{"version": 1, "paths": {"/a": ["x", "not a date"]}}',
    b'{"version": 1, "paths": {"/a": "x"}}', b'{"version": 1, "paths": {"/a": [1, 2]}}',
    b'{"version": 1, "paths": {"/a": ["x"]}}', b'{"version": 1, "paths": {"/a": null}}',
    b'{"version": 1, "paths": {"/a": ["x", "2026-11-01T00:00:00"]}}',  # no offset
    b'{"version": 1, "paths": {"/a": ["x", "0001-01-01T00:00:00+05:00"]}}',  # overflows UTC
    b'{"version": 1, "paths": {"/a": ["x", "0001-01-01T00:00:00+00:00"]}}',
    b'{"version": 1, "paths": {"/a": ["x", "9999-12-31T23:59:59+00:00"]}}',
    b'{"version": 1, "paths": {"/a": ["x", "9999-12-31T23:59:59-05:00"]}}',  # overflows UTC
    b"[" * 100_000,
])  # fmt: skip
def test_a_history_file_of_any_wrong_shape_is_ignored_with_a_warning(tmp_path, garbage, caplog):
    from syndicate.web.state import StateFolder

    (tmp_path / "last-modified.json").write_bytes(garbage)
    assert StateFolder(tmp_path).read_history(NOW) == {}
    assert "ignoring" in caplog.text


def test_a_history_dated_ahead_of_the_clock_is_ignored_not_waited_for(tmp_path, caplog):
    from syndicate.web.state import StateFolder

    ahead = NOW + timedelta(minutes=5)  # the clock was ahead when the file was written
    StateFolder(tmp_path).write_history({"/feed.atom": Served('"old"', ahead)})
    assert StateFolder(tmp_path).read_history(NOW) == {}
    assert "ignoring" in caplog.text and "not between 1970 and now" in caplog.text


async def test_a_service_starts_at_once_on_a_history_written_while_the_clock_was_ahead(
    serve, config, tmp_path
):
    import time

    folder = tmp_path / "st"
    future = datetime.now(UTC) + timedelta(minutes=3)
    from syndicate.web.state import StateFolder

    # Every path served with other bytes, three minutes from now: new bytes must be dated
    # after that, which the service would wait for before serving them.
    StateFolder(folder).write_history(
        {path: Served('"old"', future) for path in SNAPSHOT.representations}
    )
    started = time.monotonic()
    client = await serve(Settings(config=config, watch=False, access_log=False, state_dir=folder))
    assert time.monotonic() - started < 5  # not the three minutes the file would make it wait
    response = await client.get(EVENTS)
    assert response.status == 200
    assert http_date(response.headers["Last-Modified"]) <= datetime.now(UTC)


async def test_a_change_made_while_the_service_was_down_moves_last_modified_forward(
    serve, config, tmp_path
):
    """Restart = a new Service on the same state folder. Without the folder, the second
    service would date the feed 11-21 again and a date-only client would get a 304."""
    settings = Settings(config=config, watch=False, access_log=False, state_dir=tmp_path / "st")
    before = await serve(settings)
    given = (await before.get(EVENTS)).headers["Last-Modified"]
    await before.service.stop()
    edit(config, EVENTS_FILE, WITHDRAWAL, "")  # while down; the feed's own date goes back
    after = await serve(settings)
    response = await after.get(EVENTS, headers={"If-Modified-Since": given})
    assert response.status == 200
    assert http_date(given) < http_date(response.headers["Last-Modified"])


async def test_unchanged_bytes_keep_their_last_modified_across_a_restart(serve, config, tmp_path):
    settings = Settings(config=config, watch=False, access_log=False, state_dir=tmp_path / "st")
    first = await serve(settings)
    edit(config, EVENTS_FILE, 'title: "Locking Up Our Own:', 'title: "Locking Up Our Own (video):')
    assert await first.service.store.reload("test")  # dated by the clock: not from content
    bumped = (await first.get(EVENTS)).headers["Last-Modified"]
    assert http_date(bumped) > datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    await first.service.stop()
    again = await serve(settings)
    response = await again.get(EVENTS, headers={"If-Modified-Since": bumped})
    assert response.status == 304
    assert response.headers["Last-Modified"] == bumped


async def test_a_state_folder_that_cannot_be_written_is_reported_and_content_still_served(
    serve, config, tmp_path
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the state folder should be", encoding="utf-8")
    settings = Settings(config=config, watch=False, access_log=False, state_dir=blocked)
    client = await serve(settings)
    assert (await client.get(EVENTS)).status == 200
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert "cannot save" in health["background"]["state"]["reason"]
