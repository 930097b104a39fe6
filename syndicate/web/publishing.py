"""The time-driven rebuild: scheduled publications and views that change as events end.

No file changes and no signal comes when a `published` moment passes or an event ends, yet
what is served must change then: scheduled items appear, an event moves from the upcoming
views to the past ones, a calendar's window moves on. This timer waits (on the injected
`Clock`) until the next such moment of the snapshot being served, waking early whenever a
reload swaps in a snapshot, whose moments may differ, then reloads. It runs under
`supervise` as the "scheduler" task: a reload that fails at that moment (content made
invalid meanwhile) is a background failure, shown in /healthz and retried with backoff.
"""

from __future__ import annotations

import asyncio

from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.supervise import Health

TASK = "scheduler"


async def rebuild_on_time(
    store: ContentStore, stop: asyncio.Event, health: Health, clock: Clock
) -> None:
    """Reload `store` at every moment its snapshot changes with time, until `stop` is set."""
    while not stop.is_set():
        store.schedule_changed.clear()
        due, now = store.next_rebuild, clock.now()
        if due is None or now < due:
            health.ok(TASK)  # nothing is overdue: an earlier failure is over
            await clock.sleep_until(due, stop, store.schedule_changed)
            continue
        published = [item.id for item in store.snapshot.scheduled if item.published <= now]
        reason = (
            f"scheduled publication of {', '.join(published)}"
            if published
            else f"time-dependent views changed at {due.isoformat()}"
        )
        if not await store.reload(reason):
            raise RuntimeError(
                f"the {reason} could not be built: the content is invalid (see last_reload_error)"
            )
