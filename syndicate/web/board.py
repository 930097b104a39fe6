"""A pool worker's status board: what it tells the other workers, and what it reads of theirs.

Each worker writes its status (pid, content version, health, counters) into the pool's
status folder (`workers.Member`) when its snapshot changes and every `HEARTBEAT_SECONDS`,
so any worker can answer `/healthz` for the whole pool and `/metrics` with the pool's sums.
Reading the others' files happens only for those two endpoints, never on the hot path.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from syndicate.web.content import ContentStore
from syndicate.web.member import HEARTBEAT_SECONDS, LEAD_WORKER, Member, running
from syndicate.web.metrics import Counts, Metrics
from syndicate.web.supervise import Health, wait_or_stop

BOARD_TASK = "pool-status"
# Workers may hold different versions for as long as a reload takes; longer is a fault.
DISAGREE_SECONDS = 60.0


class Board:
    def __init__(
        self, member: Member, store: ContentStore, metrics: Metrics, health: Health
    ) -> None:
        self.member = member
        self.store = store
        self.health = health
        self.metrics = metrics
        # The last status read of each worker: a status file that cannot be read at one
        # moment keeps its worker in the view (CI once showed a running worker without a
        # version); its heartbeat's age still tells whether that worker is running.
        self.last_read: dict[int, dict[str, Any]] = {}
        metrics.others = self.others_counts
        if member.index != LEAD_WORKER:
            metrics.websub_pending_now = self.pending_of_the_pinging_worker

    def status(self) -> dict[str, Any]:
        snapshot = self.store.snapshot
        return {
            "index": self.member.index,
            "pid": os.getpid(),
            "version": snapshot.version,
            "built_at": self.store.built_at,
            "degraded": self.store.last_failure is not None or bool(self.health.failures),
            "heartbeat": time.time(),
            "counts": self.metrics.counts(),
            "websub_pending": self.metrics.websub_pending,
        }

    async def run(self, stop: asyncio.Event, pool_gone: Callable[[], None]) -> None:
        """Write the status every heartbeat until `stop`; call `pool_gone` if the pool that
        started this worker has exited (this worker's parent is no longer it)."""
        while not stop.is_set():
            await asyncio.get_running_loop().run_in_executor(
                None, self.member.write_status, self.status()
            )
            self.health.ok(BOARD_TASK)
            if os.getppid() != self.member.parent:
                pool_gone()
                return
            await wait_or_stop(stop, HEARTBEAT_SECONDS)

    def statuses(self) -> dict[int, dict[str, Any] | None]:
        """Every worker's status as last read (None: never read)."""
        for index, status in self.member.statuses().items():
            if status is not None:
                self.last_read[index] = status
        return {index: self.last_read.get(index) for index in range(self.member.count)}

    def pending_of_the_pinging_worker(self) -> int:
        """WebSub changes not yet told to a hub, as the worker that pings last said."""
        status = self.statuses().get(LEAD_WORKER)
        return int(status.get("websub_pending", 0)) if status is not None else 0

    def others_counts(self) -> list[Counts]:
        """The counters of the other running workers (for /metrics)."""
        now = time.time()
        return [
            status.get("counts", {})
            for index, status in self.statuses().items()
            if index != self.member.index and status is not None and running(status, now)
        ]

    def view(self) -> tuple[dict[str, Any], list[str]]:
        """The pool as /healthz shows it, and the reasons it is degraded (if any)."""
        now = time.time()
        own = self.store.snapshot.version
        workers, reasons = [], []
        for index, status in self.statuses().items():
            if index == self.member.index:
                status = self.status()
            alive = running(status, now)
            entry: dict[str, Any] = {"index": index, "running": alive}
            if status is not None:
                entry.update(
                    pid=status.get("pid"),
                    version=status.get("version"),
                    status="degraded" if status.get("degraded") else "ok",
                )
            workers.append(entry)
            if not alive:
                reasons.append(f"worker {index} is not running")
            elif status is not None and status.get("degraded") and index != self.member.index:
                reasons.append(f"worker {index} is degraded")
            elif (
                status is not None
                and status.get("version") != own
                and now - max(float(status.get("built_at", now)), self.store.built_at)
                > DISAGREE_SECONDS
            ):
                reasons.append(f"worker {index} serves version {status.get('version')}, not {own}")
        pool = {
            "answered_by": {"index": self.member.index, "pid": os.getpid()},
            "workers": workers,
            "restarts": self.member.restarts(),
        }
        return pool, reasons
