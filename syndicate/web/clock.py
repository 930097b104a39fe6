"""The wall clock as the service reads it, injectable so tests can move time.

What is served depends on time in two ways: scheduled items are published at their moment,
and views of events (upcoming, past, calendar windows) change as events end. The service
reads the time and waits for the next such moment only through a `Clock`; tests pass one
they move by hand (`tests/fakeclock.py`), never sleeping for real.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

LONGEST_SLEEP = 60.0  # re-read the wall clock at least this often: it may have jumped
MARGIN = 0.01  # wake just after a moment, never just before it


class Clock:
    """The system's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime | None, *wake: asyncio.Event) -> None:
        """Return at `moment` (None: no moment), when any of `wake` is set, or after
        LONGEST_SLEEP, whichever comes first."""
        delay = LONGEST_SLEEP
        if moment is not None:
            delay = min(delay, max((moment - self.now()).total_seconds() + MARGIN, 0.0))
        await first_set(wake, delay)


async def first_set(events: tuple[asyncio.Event, ...], timeout: float | None) -> None:
    """Wait until any of `events` is set, or `timeout` seconds (None: no limit)."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        if waits:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        elif timeout is not None:
            await asyncio.sleep(timeout)
    finally:
        for wait in waits:
            wait.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waits, return_exceptions=True)
