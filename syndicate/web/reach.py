"""Counting reach as feeds are served, and writing the counts once a minute.

`Reach.count` runs for every answer to a feed, calendar, event file or embed (never for
pages or operations) and only notes it: one lookup of who asked for what (`noted`), where a
client's answers wait up to `NOTE_SECONDS` to be counted together (`_drain`: a cached
User-Agent lookup, a keyed hash for a poller not seen within the minute, a few additions).
A client polling often costs a dictionary lookup an answer; what it is, is worked out once.
Nothing about a person is kept: a poller is a salted hash of the feed, the client's address
and its User-Agent (`reach.salt`: a secret per day, in memory only), a partner is the
origin of the page embedding a feed, a hosted reader its name.

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
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.hdrs import ORIGIN, REFERER, USER_AGENT, X_FORWARDED_FOR

from syndicate.people import reach as stored
from syndicate.people.database import Database
from syndicate.reach.clients import BOT, HOSTED_READERS, classify
from syndicate.reach.salt import DailySalt
from syndicate.reach.tally import Tally
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
NOTE_SECONDS = 1.0  # an answer is counted at most this long after it was given
NOTED = 4096  # clients (feed, address, headers) noted before they are counted, at most
NOTED_CHARS = 1_000_000  # and the characters of their headers held meanwhile, at most
RECENT = 100_000  # pollers remembered as hashed already between two flushes, at most
CLOSE_AFTER = timedelta(minutes=5)  # a day's pollers are counted once every worker wrote them
EMBEDS = {FRAGMENT: "fragment", FRAME: "iframe"}
HUBS = "hubs"  # WebSub pings a hub took, by hub
COMPONENT = "component"  # a feed fetched by the embed's web component, from a partner's page
SERVER = "(a server)"  # a fragment fetched by a partner's server: no origin is sent
UNKNOWN = "(unknown)"
LONGEST_ORIGIN = 200
# What an answer is noted under: path, peer address, User-Agent, X-Forwarded-For, Origin, and
# Referer (for a fragment or an iframe only).
Noted = tuple[str, str | None, str | None, str | None, str | None, str | None]


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
        # Who polled in the last minute, so a poller polling again is not hashed again: a
        # cache, as the tally counts a poller once a day anyway. It holds Python's hash of
        # (feed, address, User-Agent), a number keyed per process, not the address; at most
        # `RECENT` of them (then it starts again: pollers are hashed again, not counted
        # again), emptied at every flush (never longer than `FLUSH_EVERY`).
        self.recent: set[int] = set()
        # Answers waiting to be counted: per (path, peer address, User-Agent, X-Forwarded-For,
        # Origin, Referer of an embed), [ok, not modified, other, bytes].
        self.noted: dict[Noted, list[int]] = {}
        self.noted_chars = 0
        self.draining: asyncio.TimerHandle | None = None
        self.due = 0.0  # when the pending drain was due (a wall-clock timestamp)
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
        """Note one answer (`status`, `sent` body bytes) of `prepared`, a representation reach
        counts (the hot path: the headers read, one lookup, a few additions)."""
        get = request.headers.get
        kind = prepared.reach
        key = (prepared.rep.path, request.remote, get(USER_AGENT), get(X_FORWARDED_FOR),
               get(ORIGIN), get(REFERER) if kind in EMBEDS else None)  # fmt: skip
        counts = self.noted.get(key)
        if counts is None:
            counts = self._note(key, kind or "")
        if status == 304:
            counts[1] += 1
        else:
            counts[0 if status == 200 else 2] += 1
            counts[3] += sent

    def _note(self, key: Noted, kind: str) -> list[int]:
        """The counts of a client not noted since the last drain: a drain is scheduled, or
        done now if `NOTED` clients, or `NOTED_CHARS` of their headers, are waiting."""
        if self.draining is None:
            self._schedule()
        elif len(self.noted) >= NOTED or self.noted_chars >= NOTED_CHARS:
            self._drain()
            self._schedule()
        self.noted_chars += sum(len(header) for header in key[2:] if header)
        self.tally.kinds[key[0]] = kind
        counts = self.noted[key] = [0, 0, 0, 0]
        return counts

    def _schedule(self) -> None:
        """Drain in `NOTE_SECONDS`, or at midnight if it comes first: a day's answers are
        counted in that day."""
        now = self._time()
        self.due = min(now + NOTE_SECONDS, max(now, self.until_ts))
        self.draining = asyncio.get_running_loop().call_later(self.due - now, self._drain)

    def _drain(self) -> None:
        """Count what was noted since the last drain, in the day it was noted in."""
        if self.draining is not None:
            self.draining.cancel()
            self.draining = None
        noted, self.noted, self.noted_chars = self.noted, {}, 0
        now = self._time()
        if now >= self.until_ts and self.due > self.until_ts:  # noted after midnight
            self._new_day(self.clock.now())
        self._count(noted)
        if now >= self.until_ts:  # noted before midnight: counted, then the day turns
            self._new_day(self.clock.now())

    def _count(self, noted: dict[Noted, list[int]]) -> None:
        """Count each client's answers: one tight loop, what it uses held in local names."""
        tally, recent, trust, kinds = self.tally, self.recent, self.trusted.trust, self.tally.kinds
        reported, hasher = tally.reported, self.hasher
        for (path, remote, user_agent, forwarded, origin, referer), counts in noted.items():
            kind = kinds[path]
            answers = counts[0] + counts[1] + counts[2]
            client = classify(user_agent or "")
            if client.kind == BOT:
                tally.add(path, "bots", value=answers)
                tally.answered(kind, "bot", 0, answers)
                continue
            tally.served(path, counts)
            if origin is not None or kind in EMBEDS:
                self._embedded(kind, path, origin or referer, answers)
                continue
            if client.subscribers is not None:  # a hosted reader
                reported(path, client.name, client.subscribers)
                continue
            address = remote or ""
            if forwarded and trust(address):
                address = forwarded.rsplit(",", 1)[-1].strip() or address
            seen = f"{path}\0{address}\0{user_agent or ''}"
            mark = hash(seen)
            if mark in recent:  # polled again within the minute: counted already
                continue
            if len(recent) >= RECENT:
                recent.clear()
            recent.add(mark)
            poller = hasher.copy()
            poller.update(seen.encode("utf-8", "replace"))
            tally.poller(path, poller.hexdigest(), client.name)

    def hub_told(self, hub: str, url: str) -> None:
        """A WebSub hub took a ping for the feed at `url`: counted per feed and hub (its
        origin), as `hubs`."""
        path = urlsplit(url).path
        self.tally.add(path, HUBS, self.tally.bounded(path, HUBS, origin_of(hub)))

    def _embedded(self, kind: str, path: str, page: str | None, answers: int) -> None:
        """`answers` fetches by a page (`page`: its Origin, or else its Referer): a partner's
        (by the web component, a fragment, an iframe), or our own (the embed builder's
        preview, not counted as a partner)."""
        embed = EMBEDS.get(kind)
        if embed is None:  # a script fetched a feed: a page, not a reader
            if origin_of(page) == self.own_origin:
                return
            embed = COMPONENT
        partner = origin_of(page)
        if partner == UNKNOWN and embed == "fragment":
            partner = SERVER
        self.tally.add(path, embed, self.tally.bounded(path, embed, partner), answers)
        self.tally.answered(embed, "embed", 0, answers)

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
