"""Recording deliveries as they are made, in few database writes: shared by email's sender
and the fediverse's deliverer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from syndicate.people.database import Database
from syndicate.web.clock import Clock

LINGER = 0.05  # seconds a record waits to be written with others when nobody needs it


class Recorder:
    """Records what went out (an email's 250, an inbox's 2xx), every sender's together, in
    few writes: `write(engine, ids, now)` marks `ids` done in one transaction.

    A sender may run ahead of the database; when it needs one of its records written before
    going on (`settled`), everything gathered from every sender is written at once. A record
    waits at most `LINGER` seconds otherwise. How far a sender may run ahead is the sender's
    rule, and it bounds what a crash can make it send twice."""

    def __init__(self, db: Database, clock: Clock, write: Callable[..., None]) -> None:
        self.db, self.clock, self.write = db, clock, write
        self.waiting: dict[int, asyncio.Future[None]] = {}
        self.writing: asyncio.Task[None] | None = None
        self.lingering: asyncio.TimerHandle | None = None

    def record(self, message_id: int) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self.waiting[message_id] = done
        if self.lingering is None:
            self.lingering = loop.call_later(LINGER, self._write_now)
        return done

    async def settled(self, done: asyncio.Future[None]) -> None:
        """Wait until `done` (from `record`) is written, writing now if nothing is."""
        if not done.done():
            self._write_now()
        await done

    def _write_now(self) -> None:
        if self.lingering is not None:
            self.lingering.cancel()
            self.lingering = None
        if self.writing is None or self.writing.done():
            self.writing = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, {}
            try:
                await self.db.run(self.write, list(batch), self.clock.now())
            except BaseException as error:  # each session waiting hears of it
                for done in batch.values():
                    done.set_exception(error)
                continue
            for done in batch.values():
                done.set_result(None)
