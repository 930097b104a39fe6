"""Counting reach as feeds are served, and writing the counts once a minute.

`Reach.count` runs for every answer to a feed, calendar, event file or embed (never for
pages or operations) and only notes it; the notes are counted in batches (`_drain`): a
cached User-Agent lookup, a keyed hash for a poller not seen within the minute, a few
dictionary increments. Nothing about a person is kept: a poller is a salted hash of the
feed, the client's address and its User-Agent (`reach.salt`: a secret per day, in memory
only), a partner is the origin of the page embedding a feed, a hosted reader its name.

`Reach.run` (supervised) writes this worker's counts to the database every `FLUSH_EVERY`
seconds (a crash loses at most that minute), records the day's email subscribers and
fediverse followers per feed, counts each finished day's pollers and forgets their hashes,
and deletes days older than `SYNDICATE_REACH_DAYS`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time as time_module
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from syndicate.people import reach as stored
from syndicate.people.database import Database
from syndicate.reach.clients import BOT, HOSTED_READERS, classify
from syndicate.reach.salt import DailySalt
from syndicate.reach.tally import NOT_MODIFIED, OK, OTHER, Tally
from syndicate.render.registry import FRAGMENT, FRAME
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.limits import Proxies
from syndicate.web.metrics import Metrics
from syndicate.web.responses import Prepared
from syndicate.web.supervise import Health, wait_or_stop

log = logging.getLogger("syndicate.reach")
TASK = "reach"
FLUSH_EVERY = 60.0
BATCH, BATCH_SECONDS = 256, 0.05  # answers noted before they are counted, at most
CLOSE_AFTER = timedelta(minutes=5)  # a day's pollers are counted once every worker wrote them
EMBEDS = {FRAGMENT: "fragment", FRAME: "iframe"}
HUBS = "hubs"  # WebSub pings a hub took, by hub
COMPONENT = "component"  # a feed fetched by the embed's web component, from a partner's page
SERVER = "(a server)"  # a fragment fetched by a partner's server: no origin is sent
UNKNOWN = "(unknown)"
LONGEST_ORIGIN = 200


def origin_of(value: str | None) -> str:
    """The origin (scheme://host[:port]) of an Origin or Referer value; UNKNOWN if none."""
    if not value or len(value) > 2000:
        return UNKNOWN
    try:
        parts = urlsplit(value.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return UNKNOWN
    if parts.scheme not in ("http", "https") or not host:
        return UNKNOWN
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return origin if len(origin) <= LONGEST_ORIGIN else UNKNOWN


def day_bounds(now: datetime, zone: str) -> tuple[date, datetime]:
    """The day `now` is in, in `zone`, and when the next one starts."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    following = datetime.combine(local.date() + timedelta(days=1), time(0), tz)
    return local.date(), following


class Reach:
    def __init__(
        self,
        store: ContentStore,
        db: Database,
        clock: Clock,
        metrics: Metrics,
        health: Health,
        salt: DailySalt,
        trusted: Proxies,
        keep_days: int,
    ) -> None:
        self.store, self.db, self.clock, self.metrics, self.health = (
            store, db, clock, metrics, health
        )  # fmt: skip
        self.salt, self.trusted, self.keep_days = salt, trusted, keep_days
        self.day, self.until = day_bounds(clock.now(), self.zone)
        self.until_ts = self.until.timestamp()
        # The wall clock as a number (the system's: a call; a test's: its own time).
        self._time = time_module.time if type(clock) is Clock else lambda: clock.now().timestamp()
        self.tally = Tally(self.day)
        # Who polled in the last minute, so a poller polling again is not hashed again: in
        # memory only, and emptied at every flush (never longer than `FLUSH_EVERY`).
        self.recent: set[str] = set()
        self.pending: list[tuple[Any, str | None, str, str, int, int]] = []
        self.draining: asyncio.TimerHandle | None = None
        self._key(self.day)
        self.closed: date | None = None
        self.tidied: date | None = None

    @property
    def zone(self) -> str:
        return self.store.snapshot.catalog.site.timezone

    @property
    def own_origin(self) -> str:
        feeds_url = self.store.snapshot.catalog.site.feeds_url
        return origin_of(feeds_url) if feeds_url else UNKNOWN

    def _new_day(self, now: datetime) -> None:
        day, self.until = day_bounds(now, self.zone)
        self.until_ts = self.until.timestamp()
        if day > self.day:
            self.day = day
            self._key(day)  # yesterday's secret is gone from here on
            self.tally.new_day(day)
            self.recent = set()

    def _key(self, day: date) -> None:
        """The day's keyed hash of pollers, ready to copy."""
        # A day whose secret is gone (the clock went back across midnight) gets a random key:
        # its pollers may count twice, but a poller is never hashed without a secret.
        key = self.salt.salt(day) or os.urandom(32)
        self.hasher = hashlib.blake2b(key=key, digest_size=16)

    def count(self, request: web.BaseRequest, prepared: Prepared, status: int, sent: int) -> None:
        """Count one answer (`status`, `sent` body bytes) of `prepared`, a representation reach
        counts. On the hot path the answer is only noted; notes are counted together
        (`_drain`) at most `BATCH` answers or `BATCH_SECONDS` later, in a tight loop that
        costs a fraction of counting each one where it is answered."""
        pending = self.pending
        # What counting needs, not the request (holding requests longer costs more).
        pending.append((request.headers, request.remote, prepared.reach or "", prepared.rep.path,
                        status, sent))  # fmt: skip
        if len(pending) >= BATCH:
            self._drain()
        elif self.draining is None:
            self.draining = asyncio.get_running_loop().call_later(BATCH_SECONDS, self._drain)

    def _drain(self) -> None:
        """Count the answers noted since the last drain: one tight loop, everything it uses
        held in local names (the hot path of counting, run for every answer)."""
        if self.draining is not None:
            self.draining.cancel()
            self.draining = None
        pending, self.pending = self.pending, []
        if self._time() >= self.until_ts:
            self._new_day(self.clock.now())
        tally, recent, trust = self.tally, self.recent, self.trusted.trust
        served, reported, hasher = tally.served_today, tally.reported, self.hasher
        for headers, remote, kind, path, status, sent in pending:
            get = headers.get
            user_agent = get("User-Agent", "")
            client = classify(user_agent)
            if client.kind == BOT:
                tally.add(path, "bots")
                tally.answered(kind, "bot", 0)
                continue
            answer = OK if status == 200 else NOT_MODIFIED if status == 304 else OTHER
            counts = served.get(path)
            if counts is None:
                tally.served(path, kind, answer, sent)
            else:
                counts[0] += 1
                counts[answer] += 1
                counts[4] += sent
            origin = get("Origin")
            if origin is not None or kind in EMBEDS:
                self._embedded(headers, kind, path, origin)
                continue
            if client.subscribers is not None:  # a hosted reader
                reported(path, client.name, client.subscribers)
                continue
            address = remote or ""
            forwarded = get("X-Forwarded-For")
            if forwarded and trust(address):
                address = forwarded.rsplit(",", 1)[-1].strip() or address
            seen = f"{path}\0{address}\0{user_agent}"  # a string: nothing for the collector
            if seen in recent:  # polled again within the minute: counted already
                continue
            recent.add(seen)
            poller = hasher.copy()
            poller.update(seen.encode("utf-8", "replace"))
            tally.poller(path, poller.hexdigest(), client.name)

    def hub_told(self, hub: str, url: str) -> None:
        """A WebSub hub took a ping for the feed at `url`: counted per feed and hub (its
        origin), as `hubs`."""
        path = urlsplit(url).path
        self.tally.add(path, HUBS, self.tally.bounded(path, HUBS, origin_of(hub)))

    def _embedded(self, headers: Any, kind: str, path: str, origin: str | None) -> None:
        """A fetch by a page: a partner's (by the web component, a fragment, an iframe), or
        our own (the embed builder's preview, not counted as a partner)."""
        embed = EMBEDS.get(kind)
        if embed is None:  # a script fetched a feed: a page, not a reader
            if origin_of(origin) == self.own_origin:
                return
            embed = COMPONENT
        partner = origin_of(origin or headers.get("Referer"))
        if partner == UNKNOWN and embed == "fragment":
            partner = SERVER
        self.tally.add(path, embed, self.tally.bounded(path, embed, partner))
        self.tally.answered(embed, "embed", 0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await wait_or_stop(stop, FLUSH_EVERY)
            await self.flush()
            self.health.ok(TASK)

    async def flush(self) -> None:
        """Write what was counted; count finished days; forget what is past keeping."""
        self._drain()
        now = self.clock.now()
        if now >= self.until:
            self._new_day(now)
        self.recent = set()
        added, latest, pollers = self.tally.take()
        self._metrics(self.tally.take_answers())
        try:
            latest += await self.db.run(stored.channels, self.day)
            await self.db.run(stored.add, added, latest, pollers)
        except Exception:
            self.tally.give_back(added, latest, pollers)  # written with the next minute's
            raise
        if self.closed != self.day and now - (self.until - timedelta(days=1)) >= CLOSE_AFTER:
            counted = await self.db.run(stored.close_days, self.day)
            if counted:
                log.info("counted %d pollers of days before %s; their hashes are gone",
                         counted, self.day)  # fmt: skip
            self.closed = self.day
        if self.tidied != self.day:
            await self.db.run(stored.tidy, self.day - timedelta(days=self.keep_days))
            self.tidied = self.day
        today = await self.db.run(stored.rows, self.day)
        self._gauges(today)

    def _metrics(self, answers: dict[tuple[str, str], list[int]]) -> None:
        """Add the answers counted since the last flush to /metrics' counters."""
        metrics = self.metrics
        for (kind, answer), (n, sent) in answers.items():
            if answer == "embed":
                metrics.reach_embeds[kind] += n
            else:
                metrics.reach_requests[(kind, answer)] += n
                if sent:
                    metrics.reach_bytes[kind] += sent

    def _gauges(self, today: list[stored.Row]) -> None:
        subscribers: dict[str, int] = {}
        pollers = 0
        for row in today:
            if row.measure == stored.SUBSCRIBERS:
                reader = row.detail if row.detail in HOSTED_READERS else "other"
                subscribers[reader] = subscribers.get(reader, 0) + row.value
            elif row.measure == stored.POLLERS:
                pollers += row.value
        self.metrics.reach_subscribers = subscribers
        self.metrics.reach_pollers = pollers
