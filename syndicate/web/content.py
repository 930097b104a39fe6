"""The current snapshot, and reloading it without ever serving less than the last good one.

`ContentStore.reload()` loads and renders off the event loop (in a worker thread), then
swaps the snapshot reference in one assignment: a request that already holds the old
snapshot finishes on it. An invalid edit keeps the last good snapshot and is reported in
the log (the same located messages as `syndicate check`) and in /healthz.

The store also keeps what each path was served with, so that Last-Modified never goes
back or ahead of the clock (`lastmodified.py`), and knows the next scheduled publication
(`schedule.py`), for the publishing timer to wait on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from syndicate.build import snapshot_for
from syndicate.lastmodified import History, settle
from syndicate.loader import LoadCache
from syndicate.problems import ContentError
from syndicate.published import Gone, Removed
from syndicate.settings import Settings
from syndicate.snapshot import Snapshot
from syndicate.web.clock import Clock
from syndicate.web.metrics import Metrics
from syndicate.web.responses import Current, prepare
from syndicate.web.state import StateFolder
from syndicate.web.supervise import Health, describe

STATE_TASK = "state"

log = logging.getLogger("syndicate.content")


@dataclass(frozen=True)
class Built:
    """A build, ready to swap in."""

    current: Current
    history: History
    serve_from: datetime
    save_error: str | None  # the history could not be saved (shown in /healthz as "state")


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

    def __init__(
        self, settings: Settings, metrics: Metrics, health: Health, clock: Clock | None = None
    ) -> None:
        """Loads and renders the content now (blocking): a store always has a snapshot.

        ContentError (every problem, located) if the content is invalid.
        """
        self.settings = settings
        self.metrics = metrics
        self.health = health
        self.clock = clock or Clock()
        self.last_failure: ReloadFailure | None = None
        self.state = StateFolder(settings.state_dir) if settings.state_dir else None
        self.history: History = self.state.read_history(self.clock.now()) if self.state else {}
        self.schedule_changed = asyncio.Event()  # set at every swap: the schedule may differ
        self.content_swapped = asyncio.Event()  # set at every swap, for the WebSub publisher
        self.export_due = asyncio.Event()  # set at every swap, for the live export
        self.email_due = asyncio.Event()  # set at every swap, for the email sender
        self.fediverse_due = asyncio.Event()  # and for the fediverse's deliverer
        self._lock = asyncio.Lock()
        self.load_cache = LoadCache()  # builds run one at a time (the lock), never together
        started = time.perf_counter()
        built = self.build()
        time.sleep(self._wait(built.serve_from))  # the history may date a change this second
        self._install(built, started)

    def build(self, previous: Snapshot | None = None) -> Built:
        """Load, render and prepare everything (blocking: run it off the event loop): what to
        serve, the history after it (saved in the state folder, if any, before anything is
        served with it) and the moment it may be served from. `previous`, the snapshot being
        served, lends what did not change (reuse.py); the load cache spares the files that
        did not change.

        ContentError if the content is invalid.
        """
        now = self.clock.now()
        snapshot = snapshot_for(self.settings, now, previous, self.load_cache)
        settled = settle(snapshot, self.history, self.clock.now())
        save_error = None
        if self.state is not None and settled.history != self.history:
            try:
                self.state.write_history(settled.history)
            except OSError as error:
                save_error = f"cannot save {self.state.history_path}: {error.strerror or error}"
        current = prepare(settled.snapshot, self.settings)
        return Built(current, settled.history, settled.serve_from, save_error)

    @property
    def next_scheduled(self) -> datetime | None:
        """When the next scheduled item is due; None if none is."""
        scheduled = self.snapshot.scheduled
        return scheduled[0].published if scheduled else None

    @property
    def next_rebuild(self) -> datetime | None:
        """When what is served next changes with time alone (a scheduled item is due, an
        event ends...), for the timer in `publishing.py`; None if never."""
        moments = [self.next_scheduled, self.snapshot.next_change]
        return min((moment for moment in moments if moment is not None), default=None)

    async def reload(self, reason: str) -> bool:
        """Build a new snapshot off the event loop and swap it in; False (and the old snapshot
        kept) when the content is invalid."""
        async with self._lock:
            started = time.perf_counter()
            try:
                built = await asyncio.get_running_loop().run_in_executor(
                    None, self.build, self.snapshot
                )
            except ContentError as error:
                self._fail([str(p) for p in error.problems], reason)
                return False
            except OSError as error:  # the folder vanished mid-edit, a file is unreadable...
                self._fail([f"{self.settings.config}: {error.strerror or error}"], reason)
                return False
            except Exception as error:  # a defect of ours: reported, and the loop goes on
                self._fail([f"internal error: {describe(error)}"], reason, error)
                return False
            # A change dated by the clock waits for the second it is dated (at most 1 s), so
            # Last-Modified is never later than Date.
            await asyncio.sleep(self._wait(built.serve_from))
            snapshot = built.current.snapshot
            changed = snapshot.version != self.snapshot.version
            self._install(built, started)
            note = "" if changed else " (unchanged)"
            log.info(
                "reloaded (%s): version %s%s in %.3fs (%d of %d representations rendered)%s",
                reason,
                snapshot.version,
                note,
                self.build_seconds,
                snapshot.rendered,
                len(snapshot.representations),
                describe_schedule(snapshot),
            )
            return True

    @property
    def snapshot(self) -> Snapshot:
        return self.current.snapshot

    def _wait(self, serve_from: datetime) -> float:
        """Seconds until `serve_from` (0 if it has passed)."""
        return max(0.0, (serve_from - self.clock.now()).total_seconds())

    @property
    def content_reasons(self) -> list[str]:
        """Why the content needs an editor, from the record of what was published: each
        item removed without a withdrawal, each published slug that leads nowhere."""
        snapshot = self.snapshot
        return [removed_reason(r) for r in snapshot.removed] + [
            gone_reason(g) for g in snapshot.gone
        ]

    def _install(self, built: Built, started: float) -> None:
        before = getattr(self, "current", None)  # None at the first install
        for reason in _new_reasons(before.snapshot if before else None, built.current.snapshot):
            log.warning("%s", reason)
        current = built.current
        self.build_seconds = time.perf_counter() - started
        self.current = current  # the atomic swap: one reference assignment
        self.history = built.history
        self.schedule_changed.set()
        self.content_swapped.set()
        self.export_due.set()
        self.email_due.set()
        self.fediverse_due.set()
        if built.save_error:
            self.health.fail(STATE_TASK, built.save_error)
        elif self.state is not None:
            self.health.ok(STATE_TASK)
        self.built_at = time.time()
        self.last_failure = None
        self.metrics.build_seconds.observe(self.build_seconds)
        self.metrics.reloads["ok"] += 1
        self.metrics.representations = len(current)
        self.metrics.built_at = self.built_at
        self.metrics.scheduled_items = len(current.snapshot.scheduled)
        self.metrics.removed_items = len(current.snapshot.removed)
        due = self.next_rebuild
        self.metrics.next_rebuild = due.timestamp() if due else 0.0

    def _fail(self, problems: list[str], reason: str, error: Exception | None = None) -> None:
        self.last_failure = ReloadFailure(datetime.now(UTC), tuple(problems))
        self.metrics.reloads["failed"] += 1
        log.error(
            "reload (%s) failed; still serving version %s. %d problem(s):\n%s",
            reason, self.snapshot.version, len(problems), "\n".join(problems), exc_info=error,
        )  # fmt: skip


def removed_reason(found: Removed) -> str:
    """What /healthz and the log say of an item removed without a withdrawal."""
    how = "made a draft again" if found.drafted else "removed from the content"
    return (
        f"item {found.id!r} ({found.entry.title!r}) was published and is now {how}, without "
        "'withdrawn:'; it is served as withdrawn (\"Removed from the site.\") until an editor "
        "puts it back with 'withdrawn:' (a date and the reason subscribers see) or runs "
        f"`syndicate forget {found.id}`"
    )


def gone_reason(found: Gone) -> str:
    return (
        f"{found.kind} {found.slug!r} was published and is neither a {found.kind} nor an alias "
        f"now{found.hint}: its subscribers get 404; if it was renamed, add it to the new "
        f"{found.kind}'s 'aliases'"
    )


def _new_reasons(before: Snapshot | None, after: Snapshot) -> list[str]:
    """Reasons to log at a swap: those the snapshot before did not have (once each)."""
    was = {r.id for r in before.removed} if before else set()
    was_gone = {(g.kind, g.slug) for g in before.gone} if before else set()
    return [removed_reason(r) for r in after.removed if r.id not in was] + [
        gone_reason(g) for g in after.gone if (g.kind, g.slug) not in was_gone
    ]


def describe_schedule(snapshot: Snapshot) -> str:
    """`; 2 items scheduled, next: events/a-talk at 2026-12-01T09:00:00+00:00`, or ''."""
    if not snapshot.scheduled:
        return ""
    first = snapshot.scheduled[0]
    count = len(snapshot.scheduled)
    return (
        f"; {count} item{'s' if count != 1 else ''} scheduled, next: {first.id} "
        f"at {first.published.isoformat()}"
    )
