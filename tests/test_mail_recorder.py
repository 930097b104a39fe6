"""The record of the relay's 250s: many sessions' together in few writes, none lost, a failed
write heard by every session waiting on it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from syndicate.people import outbox
from syndicate.web import recorder as recording
from syndicate.web.recorder import Recorder
from tests.fakeclock import FakeClock

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


class Writes:
    """A stand-in for the database that keeps what `outbox.sent` was asked to write."""

    def __init__(self, fail: bool = False) -> None:
        self.written: list[list[int]] = []
        self.fail = fail

    async def run(self, function: Any, *args: Any) -> None:
        assert function is outbox.sent
        await asyncio.sleep(0.01)  # a write takes a while: 250s gather meanwhile
        if self.fail:
            raise OSError("database unreachable")
        self.written.append(list(args[0]))


async def test_250s_recorded_while_a_write_is_in_flight_go_in_the_next_one() -> None:
    db = Writes()
    recorder = Recorder(db, FakeClock(NOW), outbox.sent)  # type: ignore[arg-type]
    first = recorder.record(1)
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(recorder.settled(first))
    await asyncio.sleep(0.001)  # the first write is under way
    later = [recorder.record(n) for n in (2, 3, 4)]
    await waiting
    for done in later:
        await recorder.settled(done)
    assert db.written == [[1], [2, 3, 4]]


async def test_a_250_nobody_waits_for_is_written_after_the_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recording, "LINGER", 0.02)
    db = Writes()
    done = Recorder(db, FakeClock(NOW), outbox.sent).record(7)  # type: ignore[arg-type]
    await asyncio.wait_for(asyncio.shield(done), 1)
    assert db.written == [[7]]


async def test_a_failed_write_reaches_every_session_waiting_on_it() -> None:
    recorder = Recorder(Writes(fail=True), FakeClock(NOW), outbox.sent)  # type: ignore[arg-type]
    marks = [recorder.record(n) for n in (1, 2)]
    for done in marks:
        with pytest.raises(OSError, match="unreachable"):
            await recorder.settled(done)
