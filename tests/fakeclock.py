"""A clock the tests move by hand: the service's time-driven work sees only this."""

from __future__ import annotations

import asyncio
from datetime import datetime

from syndicate.web.clock import Clock, first_set


class FakeClock(Clock):
    """Stands still until `advance`; sleepers wake when it passes their moment."""

    def __init__(self, now: datetime) -> None:
        self.current = now
        self._sleepers: set[asyncio.Event] = set()

    def now(self) -> datetime:
        return self.current

    async def sleep_until(self, moment: datetime | None, *wake: asyncio.Event) -> None:
        while moment is None or self.current < moment:
            moved = asyncio.Event()
            self._sleepers.add(moved)
            try:
                await first_set((*wake, moved), None)
            finally:
                self._sleepers.discard(moved)
            if any(event.is_set() for event in wake):
                return

    def advance(self, to: datetime) -> None:
        assert to >= self.current, "time only moves forward"
        self.current = to
        for sleeper in list(self._sleepers):
            sleeper.set()
