"""The publishing timer: rebuilds the snapshot when a scheduled item is due.

Nothing else would: no file changes and no signal comes when a `published` moment passes.
The timer sleeps until the next scheduled moment of the snapshot being served (waking
early whenever a reload swaps in a snapshot, whose schedule may differ, and at least every
`LONGEST_SLEEP` so a wall clock that jumps is noticed), then reloads. It runs under
`supervise` as the "scheduler" task: a reload that fails at that moment (content made
invalid meanwhile) is a background failure, shown in /healthz and retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from syndicate.web.content import ContentStore
from syndicate.web.supervise import Health

LONGEST_SLEEP = 60.0
MARGIN = 0.01  # wake just after the moment, never just before it
TASK = "scheduler"


async def publish_on_schedule(store: ContentStore, stop: asyncio.Event, health: Health) -> None:
    """Reload `store` at every scheduled moment until `stop` is set."""
    while not stop.is_set():
        store.schedule_changed.clear()
        due, now = store.next_scheduled, datetime.now(UTC)
        if due is None or now < due:
            health.ok(TASK)  # nothing is overdue: an earlier failure is over
        else:
            items = [item.id for item in store.snapshot.scheduled if item.published <= now]
            if not await store.reload(f"scheduled publication of {', '.join(items)}"):
                raise RuntimeError(
                    f"{', '.join(items)} could not be published at {due.isoformat()}: "
                    "the content is invalid (see last_reload_error)"
                )
            continue
        delay = LONGEST_SLEEP
        if due is not None:
            delay = min(delay, (due - datetime.now(UTC)).total_seconds() + MARGIN)
        await _first(stop.wait(), store.schedule_changed.wait(), timeout=max(delay, 0.0))


async def _first(*waits: Coroutine[Any, Any, Any], timeout: float) -> None:
    """Wait until any of `waits` finishes, or `timeout` seconds."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
