"""Counting reach as feeds are served, and writing the counts once a minute.

`Reach.count` runs for every answer to a feed, calendar, event file or embed (never for
pages or operations): a cached User-Agent lookup, a keyed hash for a poller, a few
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
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from syndicate.people import reach as stored
from syndicate.people.database import Database
from syndicate.reach.clients import BOT, HOSTED, HOSTED_READERS, classify
from syndicate.reach.salt import DailySalt
from syndicate.reach.tally import Tally
from syndicate.render.registry import FRAGMENT, FRAME
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.limits import Networks, client_address
from syndicate.web.metrics import Metrics
from syndicate.web.supervise import Health, wait_or_stop

log = logging.getLogger("syndicate.reach")
TASK = "reach"
FLUSH_EVERY = 60.0
CLOSE_AFTER = timedelta(minutes=5)  # a day's pollers are counted once every worker wrote them
EMBEDS = {FRAGMENT: "fragment", FRAME: "iframe"}
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
        trusted: Networks,
        keep_days: int,
    ) -> None:
        self.store, self.db, self.clock, self.metrics, self.health = (
            store, db, clock, metrics, health
        )  # fmt: skip
        self.salt, self.trusted, self.keep_days = salt, trusted, keep_days
        self.day, self.until = day_bounds(clock.now(), self.zone)
        self.tally = Tally(self.day)
        self.key = self.salt.salt(self.day) or b""
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
        if day > self.day:
            self.day = day
            self.key = self.salt.salt(day) or b""  # yesterday's secret is gone from here on
            self.tally.new_day(day)

    def count(self, request: web.BaseRequest, kind: str, path: str, status: int, sent: int) -> None:
        """Count one answer (`status`, `sent` body bytes) of `path`, a `kind` that reach counts."""
        if self.clock.now() >= self.until:
            self._new_day(self.clock.now())
        headers = request.headers
        user_agent = headers.get("User-Agent", "")
        client = classify(user_agent)
        tally, metrics = self.tally, self.metrics
        if client.kind == BOT:
            tally.add(path, "bots")
            metrics.reach_requests[(kind, "bot")] += 1
            return
        answer = "ok" if status == 200 else "not_modified" if status == 304 else "other"
        tally.add(path, "requests")
        tally.add(path, answer)
        if sent:
            tally.add(path, "bytes", "", sent)
            metrics.reach_bytes[kind] += sent
        metrics.reach_requests[(kind, answer)] += 1
        embed = EMBEDS.get(kind)
        origin = headers.get("Origin")
        if embed is None and origin is not None:  # a script fetched it: a page, not a reader
            if origin_of(origin) == self.own_origin:
                return  # our own page (the embed builder's preview)
            embed = COMPONENT
        if embed is not None:
            partner = origin_of(origin or headers.get("Referer"))
            if partner == UNKNOWN and embed == "fragment":
                partner = SERVER
            tally.add(path, embed, tally.bounded(path, embed, partner))
            metrics.reach_embeds[embed] += 1
            return
        if client.kind == HOSTED:
            assert client.subscribers is not None
            tally.set_latest(path, stored.SUBSCRIBERS, client.name, client.subscribers)
            return
        address = client_address(request, self.trusted)
        digest = hashlib.blake2b(
            f"{path}\0{address}\0{user_agent}".encode("utf-8", "replace"),
            key=self.key,
            digest_size=16,
        ).hexdigest()
        tally.poller(path, digest, client.name)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await wait_or_stop(stop, FLUSH_EVERY)
            await self.flush()
            self.health.ok(TASK)

    async def flush(self) -> None:
        """Write what was counted; count finished days; forget what is past keeping."""
        now = self.clock.now()
        if now >= self.until:
            self._new_day(now)
        added, latest, pollers = self.tally.take()
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
