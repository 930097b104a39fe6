"""WebSub publishing (W3C WebSub, section 5 "Publishing"): tell the site's hubs which feeds
changed, so subscribers get new items in seconds instead of at their next poll.

* Topics are what `registry.advertises_hubs` says (Atom, RSS and JSON Feed of every feed
  and view, not archive pages): what advertise the hubs with `rel="hub"`. Calendars,
  fragments and pages are not topics.
* After every swap of the snapshot, a topic is pending for a hub when its ETag differs from
  the ETag that hub was last told of. Several edits before a ping coalesce into one.
* One topic per request: `POST hub` with `hub.mode=publish` and `hub.url=<topic>` (the
  de facto publish ping; Google's hub silently ignores all but about ten URLs of a batch
  while still answering 204). At most `CONCURRENCY` requests at a time, each within
  `TIMEOUT` seconds; any 2xx is success.
* A failed ping is retried with exponential backoff per hub (`FIRST_RETRY` doubling to
  `MAX_RETRY`), counted in `/metrics` and shown in `/healthz` (task "websub") until the hub
  takes pings again. Nothing here delays a request or a reload: it runs on its own task,
  under `supervise`.
* What each hub was told is saved in the state folder (`websub.json`, beside
  `last-modified.json`) after each round of pings, so pending notifications are re-derived
  after a restart: a change made while the service was down, or not yet pinged when it
  stopped, is pinged once it is up. Without a state folder this lives in memory: changes
  made while the service was down are not pushed (subscribers' polls still find them).
  A hub seen for the first time is told nothing about the past (it has no subscribers yet).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from syndicate import urls
from syndicate.atomic import replace_file
from syndicate.render import FORMATS
from syndicate.render.registry import advertises_hubs
from syndicate.snapshot import Snapshot
from syndicate.web.clock import first_set
from syndicate.web.content import ContentStore
from syndicate.web.metrics import Metrics
from syndicate.web.supervise import Health

TASK = "websub"
STATE_FILE = "websub.json"
CONCURRENCY = 4
TIMEOUT = 10.0  # seconds per ping
FIRST_RETRY, MAX_RETRY = 5.0, 600.0  # seconds
log = logging.getLogger("syndicate.websub")

Told = dict[str, dict[str, str]]  # hub -> topic URL -> the ETag it was told of
Job = tuple[str, str, str]  # hub, topic URL, its ETag


def topics(snapshot: Snapshot) -> dict[str, str]:
    """Every WebSub topic of `snapshot`: absolute feed URL -> its ETag."""
    site = snapshot.catalog.site
    return {
        urls.absolute(site, path): rep.etag
        for path, rep in snapshot.representations.items()
        if rep.key is not None
        and rep.format in FORMATS
        and advertises_hubs(FORMATS[rep.format], rep.key)
    }


def _told(document: object) -> Told:
    """The `told` of a state file's document; ValueError if it is of any other shape (the
    file is input: anything in it is a warning and a fresh start)."""
    told = document.get("told") if isinstance(document, dict) else None
    if not isinstance(told, dict) or not all(
        isinstance(hub, str)
        and isinstance(topics, dict)
        and all(isinstance(u, str) and isinstance(e, str) for u, e in topics.items())
        for hub, topics in told.items()
    ):
        raise ValueError("not {told: {hub: {topic URL: ETag}}}")
    return {hub: dict(topics) for hub, topics in told.items()}


class Publisher:
    """Knows what each hub was told, and pings them about the rest."""

    def __init__(
        self, store: ContentStore, metrics: Metrics, health: Health, state_dir: Path | None
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.health = health
        self.path = state_dir / STATE_FILE if state_dir else None
        self.told: Told = self._load()
        self.retry_at: dict[str, float] = {}  # hub -> monotonic time of its next attempt
        self.failures: dict[str, int] = {}  # hub -> consecutive failed rounds
        self._topics: tuple[Snapshot, dict[str, str]] | None = None
        # Told of each hub that took a ping (hub, topic URL): reach counts it (web/reach.py).
        self.on_told: Callable[[str, str], None] = lambda hub, url: None
        self._adopt(store.snapshot)

    def _load(self) -> Told:
        if self.path is None:
            return {}
        try:
            return _told(json.loads(self.path.read_bytes()))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            log.warning(
                "ignoring %s (%s): hubs will be told of changes from now on", self.path, error
            )
            return {}

    def _save(self) -> None:
        if self.path is None:
            return
        replace_file(self.path, json.dumps({"told": self.told}, sort_keys=True).encode())

    def _topics_of(self, snapshot: Snapshot) -> dict[str, str]:
        """`topics(snapshot)`, computed once per snapshot (read-only)."""
        if self._topics is None or self._topics[0] is not snapshot:
            self._topics = (snapshot, topics(snapshot))
        return self._topics[1]

    def _current_topics(self) -> dict[str, str]:
        """The topics of the snapshot served now."""
        return self._topics_of(self.store.snapshot)

    def _adopt(self, snapshot: Snapshot) -> None:
        """A hub seen for the first time starts from what is served now."""
        current = self._topics_of(snapshot)
        for hub in snapshot.catalog.site.hubs:
            self.told.setdefault(hub, dict(current))

    def work(self, snapshot: Snapshot, now: float) -> list[Job]:
        """(hub, topic, etag) for every topic a hub was not told of, of hubs not waiting."""
        self._adopt(snapshot)
        current = self._topics_of(snapshot)
        hubs = snapshot.catalog.site.hubs
        self.metrics.websub_pending = sum(
            1 for hub in hubs for url, etag in current.items() if self.told[hub].get(url) != etag
        )
        return [
            (hub, url, etag)
            for hub in hubs
            if self.retry_at.get(hub, 0.0) <= now
            for url, etag in current.items()
            if self.told[hub].get(url) != etag
        ]

    async def run(self, stop: asyncio.Event) -> None:
        """Ping until `stop` is set; wake at every swap of the snapshot or retry due."""
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not stop.is_set():
                self.store.content_swapped.clear()
                work = self.work(self.store.snapshot, time.monotonic())
                if work:
                    await self._round(session, work)
                    continue
                # Until the soonest retry is due (none: until a swap or the stop).
                waits = [max(at - time.monotonic(), 0.0) for at in self.retry_at.values()]
                await first_set((stop, self.store.content_swapped), min(waits, default=None))

    async def _round(
        self, session: aiohttp.ClientSession, work: list[tuple[str, str, str]]
    ) -> None:
        """Ping `work`. What a hub is recorded as told of is the topic's ETag when its ping
        is sent, not when the round began: an edit made while the ping waited for its turn
        (behind a slow hub) is in what the hub fetches, and must not be pinged again. A hub's
        first failure shows in /healthz at once, and its pings still waiting in the round
        are not sent (they would hang as well); they wait for its retry."""
        limit = asyncio.Semaphore(CONCURRENCY)
        failed: dict[str, str] = {}

        async def ping(hub: str, url: str) -> None:
            async with limit:
                etag = self._current_topics().get(url)
                if hub in failed or etag is None or self.told[hub].get(url) == etag:
                    return  # the hub is failing, or the topic is gone or was told meanwhile
                error = await _publish(session, hub, url)
            self.metrics.websub_pings[(hub, "failed" if error else "ok")] += 1
            if error is None:
                self.told[hub][url] = etag
                self.on_told(hub, url)
            elif hub not in failed:
                failed[hub] = f"{hub}: {error} (publishing {url})"
                self.health.fail(TASK, "; ".join(sorted(failed.values())))

        await asyncio.gather(*(ping(hub, url) for hub, url, _ in work))
        for hub in {job[0] for job in work}:
            if hub in failed:
                count = self.failures[hub] = self.failures.get(hub, 0) + 1
                self.retry_at[hub] = time.monotonic() + min(
                    FIRST_RETRY * 2 ** (count - 1), MAX_RETRY
                )
            else:
                self.failures.pop(hub, None)
                self.retry_at.pop(hub, None)
        if not failed and not self.retry_at:
            self.health.ok(TASK)
        try:
            self._save()
        except OSError as error:
            self.health.fail(TASK, f"cannot save {self.path}: {error.strerror or error}")


async def _publish(session: aiohttp.ClientSession, hub: str, url: str) -> str | None:
    """One publish ping; None on success, else what went wrong."""
    try:
        async with session.post(hub, data={"hub.mode": "publish", "hub.url": url}) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
