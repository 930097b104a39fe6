"""The current snapshot, and reloading it without ever serving less than the last good one.

`ContentStore.reload()` loads and renders off the event loop (in a worker thread), then
swaps the snapshot reference in one assignment: a request that already holds the old
snapshot finishes on it. An invalid edit keeps the last good snapshot and is reported in
the log (the same located messages as `syndicate check`) and in /healthz.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from syndicate.build import snapshot_for
from syndicate.problems import ContentError
from syndicate.settings import Settings
from syndicate.snapshot import Snapshot
from syndicate.web.metrics import Metrics
from syndicate.web.responses import Current, prepare
from syndicate.web.supervise import describe

log = logging.getLogger("syndicate.content")


@dataclass(frozen=True)
class ReloadFailure:
    """The last reload that failed: when, and every problem found."""

    at: datetime
    problems: tuple[str, ...]


class ContentStore:
    """Holds the snapshot being served and knows how to build the next one.

    `reload` never raises: every failure keeps the last good snapshot, is logged, counted and
    kept in `last_failure` (shown by /healthz) until a reload succeeds.
    """

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        """Loads and renders the content now (blocking): a store always has a snapshot.

        ContentError (every problem, located) if the content is invalid.
        """
        self.settings = settings
        self.metrics = metrics
        self.last_failure: ReloadFailure | None = None
        self._lock = asyncio.Lock()
        started = time.perf_counter()
        self._install(self.build(), started)

    def build(self) -> Current:
        """Load, render and prepare everything (blocking: run it off the event loop).

        ContentError if the content is invalid.
        """
        return prepare(snapshot_for(self.settings), self.settings)

    async def reload(self, reason: str) -> bool:
        """Build a new snapshot off the event loop and swap it in; False (and the old snapshot
        kept) when the content is invalid."""
        async with self._lock:
            started = time.perf_counter()
            try:
                current = await asyncio.get_running_loop().run_in_executor(None, self.build)
            except ContentError as error:
                self._fail([str(p) for p in error.problems], reason)
                return False
            except OSError as error:  # the folder vanished mid-edit, a file is unreadable...
                self._fail([f"{self.settings.config}: {error.strerror or error}"], reason)
                return False
            except Exception as error:  # a defect of ours: reported, and the loop goes on
                self._fail([f"internal error: {describe(error)}"], reason, error)
                return False
            snapshot = current.snapshot
            changed = snapshot.version != self.snapshot.version
            self._install(current, started)
            note = "" if changed else " (unchanged)"
            log.info(
                "reloaded (%s): version %s%s in %.3fs",
                reason,
                snapshot.version,
                note,
                self.build_seconds,
            )
            return True

    @property
    def snapshot(self) -> Snapshot:
        return self.current.snapshot

    def _install(self, current: Current, started: float) -> None:
        self.build_seconds = time.perf_counter() - started
        self.current = current  # the atomic swap: one reference assignment
        self.built_at = time.time()
        self.last_failure = None
        self.metrics.build_seconds.observe(self.build_seconds)
        self.metrics.reloads["ok"] += 1
        self.metrics.representations = len(current.prepared)
        self.metrics.built_at = self.built_at

    def _fail(self, problems: list[str], reason: str, error: Exception | None = None) -> None:
        self.last_failure = ReloadFailure(datetime.now(UTC), tuple(problems))
        self.metrics.reloads["failed"] += 1
        log.error(
            "reload (%s) failed; still serving version %s. %d problem(s):\n%s",
            reason, self.snapshot.version, len(problems), "\n".join(problems), exc_info=error,
        )  # fmt: skip
