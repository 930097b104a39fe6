"""Background work that never stops silently: failures are recorded, logged once, shown in
/healthz and /metrics, and the work is restarted.

`Health` is the record of what is wrong in the background right now, by task name ("watcher",
"scheduler", "sighup"...). `supervise` runs a coroutine for as long as the service runs:
when it raises, the failure goes into `Health` and the coroutine is started again after a
backoff (0.5 s, doubling up to 30 s). A cause is logged with its traceback the first time it
is seen, not at every retry, so a persistent fault does not flood the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syndicate.web.metrics import Metrics

log = logging.getLogger("syndicate.background")
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 30.0


@dataclass(frozen=True)
class Failure:
    """What went wrong in one background task, and since when."""

    since: datetime
    reason: str


class Health:
    """Current background failures by task; a task that works again clears its entry."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.failures: dict[str, Failure] = {}

    def fail(self, task: str, reason: str, error: BaseException | None = None) -> None:
        previous = self.failures.get(task)
        self.metrics.background_failures[task] += 1
        if previous is not None and previous.reason == reason:
            log.debug("%s still failing: %s", task, reason)
            return
        log.error("%s failed: %s", task, reason, exc_info=error)
        self.failures[task] = Failure(datetime.now(UTC), reason)

    def ok(self, task: str) -> None:
        if self.failures.pop(task, None) is not None:
            log.info("%s works again", task)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def supervise(
    task: str,
    run: Callable[[], Coroutine[Any, Any, None]],
    health: Health,
    stop: asyncio.Event,
) -> None:
    """Run `run()` until `stop` is set, restarting it (with backoff) whenever it fails."""
    backoff = FIRST_BACKOFF
    while not stop.is_set():
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            health.fail(task, describe(error), error)
            await wait_or_stop(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        else:
            if not stop.is_set():  # returned by itself: start it again, without a busy loop
                await wait_or_stop(stop, FIRST_BACKOFF)
