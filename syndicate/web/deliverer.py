"""The fediverse's deliverer: a supervised background task, run by every process but
delivering from one at a time (the database lease `fediverse-deliverer`).

Each round, the holder of the lease:
1. tells followers what the snapshot it serves changed (`deliveries.tell`): a new item is a
   Create (and an Announce by each other actor carrying it), a changed one an Update, a
   withdrawn one a Delete; each recorded with a delivery per inbox before any is made;
2. delivers what is due: signed POSTs (draft-cavage rsa-sha256, Digest), `CONCURRENCY` at
   once and `PER_HOST` to one server, and records each answer: 2xx delivered; 4xx other
   than 408 and 429 refused for good; anything else tried again after 60 s x 2^n, for up
   to `KEPT` (7 days). A server that fails 5 times within 10 minutes is left alone for 30
   (its circuit opens: retrying.Circuits), its deliveries due again when it closes.

A remote server down never slows serving or reloads: all of this is in its own task, off
the request path. /healthz is `degraded` (task "fediverse") only when deliveries due stay
undelivered for `STUCK` seconds, which means the deliverer itself is not working.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import aiohttp

from syndicate import urls
from syndicate.fediverse import activities, notes, signatures
from syndicate.fediverse.remote import read_capped
from syndicate.model import Catalog
from syndicate.people import deliveries, retention
from syndicate.people.database import Database
from syndicate.people.deliveries import CREATE, DELETE, Delivery, Live, Outgoing
from syndicate.retrying import Circuits, backoff
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.metrics import Metrics
from syndicate.web.recorder import Recorder
from syndicate.web.supervise import Health, wait_or_stop

log = logging.getLogger("syndicate.fediverse")
TASK = "fediverse"
TICK = 5.0
LEASE_SECONDS = 60.0
CONCURRENCY = 16  # POSTs at once, all servers together
PER_HOST = 2  # POSTs at once to one server
DUE_PER_ROUND = 1000
SIGN_AHEAD = 32  # deliveries signed together, ahead of their POSTs
FIRST_RETRY, LAST_RETRY = timedelta(seconds=60), timedelta(hours=12)
KEPT = timedelta(days=7)
STUCK = 600.0
POST_TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)
PERMANENT = frozenset(range(400, 500)) - {408, 429}


def _body(activity: dict[str, object]) -> str:
    return json.dumps(activity, ensure_ascii=False, separators=(",", ":"))


def maker(catalog: Catalog, now: datetime) -> deliveries.Maker:
    """The activities `deliveries.tell` records for an item that needs telling."""
    site = catalog.site
    items = {item.id: item for item in catalog.items}

    def outgoing(found: dict[str, object], by: str, audience: tuple[str, ...]) -> Outgoing:
        return Outgoing(str(found["id"]), by, _body(found), audience)

    def make(item_id: str, kind: str, author: str, audience: tuple[str, ...]) -> list[Outgoing]:
        item = items.get(item_id)
        events = urls.EVENTS_HANDLE in audience  # event software gets the Event, not the Note
        notes_to = tuple(handle for handle in audience if handle != urls.EVENTS_HANDLE)
        made: list[Outgoing] = []
        if kind == DELETE or item is None or item.withdrawn is not None:
            when = item.withdrawn.date if item is not None and item.withdrawn else now
            made.append(outgoing(activities.delete(site, item_id, author, when), author, notes_to))
            if events:
                gone = activities.delete(site, item_id, urls.EVENTS_HANDLE, when)
                made.append(outgoing(gone, urls.EVENTS_HANDLE, (urls.EVENTS_HANDLE,)))
            return made
        if kind == CREATE:  # to the author's followers; each other carrier announces it
            made.append(outgoing(activities.create(catalog, item), author, (author,)))
            made += [outgoing(activities.announce(catalog, item, handle), handle, (handle,))
                     for handle in notes_to if handle != author]  # fmt: skip
            if events and item.event is not None:
                made.append(outgoing(activities.create_event(catalog, item),
                                     urls.EVENTS_HANDLE, (urls.EVENTS_HANDLE,)))  # fmt: skip
            return made
        version = notes.digest(notes.note(catalog, item))
        made.append(outgoing(activities.update(catalog, item, version), author, notes_to))
        if events and item.event is not None:
            made.append(outgoing(activities.update_event(catalog, item, version),
                                 urls.EVENTS_HANDLE, (urls.EVENTS_HANDLE,)))  # fmt: skip
        return made

    return make


def live_of(catalog: Catalog) -> list[Live]:
    return [
        Live(item.id, notes.digest(notes.note(catalog, item)), notes.author(item),
             notes.carriers(item))
        for item in catalog.items
        if item.withdrawn is None
    ]  # fmt: skip


class Deliverer:
    def __init__(
        self,
        store: ContentStore,
        db: Database,
        private_pem: str,
        metrics: Metrics,
        health: Health,
        clock: Clock,
        client: aiohttp.ClientSession,
        holder: str = "",
    ) -> None:
        self.store, self.db, self.private_pem = store, db, private_pem
        self.metrics, self.health, self.clock, self.client = metrics, health, clock, client
        self.holder = holder or socket.gethostname()
        self.wakeup = asyncio.Event()
        self.busy = asyncio.Lock()
        self.told_version: str | None = None
        self.tidied_at: datetime | None = None
        self.circuits = Circuits()
        self.signer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signer")
        self.signer.submit(signatures.private_key, private_pem)  # loaded before it is needed

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wakeup.clear()
            self.store.fediverse_due.clear()
            await self.round()
            waits = [asyncio.ensure_future(self.wakeup.wait()),
                     asyncio.ensure_future(self.store.fediverse_due.wait()),
                     asyncio.ensure_future(stop.wait())]  # fmt: skip
            await asyncio.wait(waits, timeout=TICK, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        await wait_or_stop(stop, 0)

    def close(self) -> None:
        """Let the signing thread go (once `run` has stopped)."""
        self.signer.shutdown(wait=False, cancel_futures=True)

    async def round(self) -> None:
        """Lease, tell, deliver, count. Raises (for `supervise`) on a database fault."""
        async with self.busy:
            await self._round()

    async def _round(self) -> None:
        now = self.clock.now()
        if await self.db.run(deliveries.hold_lease, self.holder, now, LEASE_SECONDS):
            snapshot = self.store.snapshot
            if snapshot.version != self.told_version:
                catalog = snapshot.catalog
                # Each live item's Note, digested: off the event loop, as the telling is.
                live = await asyncio.to_thread(live_of, catalog)
                told = await self.db.run(deliveries.tell, live, maker(catalog, now), now)
                if any(told.values()):
                    log.info("told followers: %s", told)
                self.told_version = snapshot.version
            if self.tidied_at is None or now - self.tidied_at >= retention.TIDY_EVERY:
                forgotten = await self.db.run(retention.tidy_deliveries, now)
                if forgotten:
                    log.info("forgot %d deliveries made over 30 days ago", forgotten)
                self.tidied_at = now
            closed = self.circuits.opened(now)
            due = await self.db.run(deliveries.due, now, self.holder, DUE_PER_ROUND, 300.0, closed)
            if due:
                await self.deliver(due)
        counts = await self.db.run(deliveries.counts, self.clock.now())
        self.metrics.fediverse_queued = counts["queued"]
        self.metrics.fediverse_oldest = counts["oldest_seconds"]
        self.metrics.fediverse_followers = counts["followers"]
        stuck = await self.db.run(deliveries.stuck, self.clock.now())
        if stuck > STUCK:
            self.health.fail(
                TASK, f"deliveries due for {int(stuck)} s are not being made; see the log"
            )
        else:
            self.health.ok(TASK)

    async def deliver(self, due: Sequence[Delivery]) -> None:
        """Deliver `due`, `CONCURRENCY` at once. A delivery keeps its place until its 2xx is
        written (a `Recorder` gathers them into few writes): killed at any moment, at most
        `CONCURRENCY` deliveries have reached their inbox unrecorded, the only ones a
        restart makes again."""
        everyone = asyncio.Semaphore(CONCURRENCY)
        hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(PER_HOST)
        )
        recorder = Recorder(self.db, self.clock, deliveries.delivered)
        # Signing (a quarter of a millisecond each) is done ahead, in chunks, by a thread of
        # its own while the event loop POSTs what is signed: the two overlap.
        loop = asyncio.get_running_loop()
        chunks = [due[at : at + SIGN_AHEAD] for at in range(0, len(due), SIGN_AHEAD)]
        signing = [loop.run_in_executor(self.signer, self.sign_all, chunk) for chunk in chunks]
        signed = {
            delivery.id: (signing[n // SIGN_AHEAD], n % SIGN_AHEAD)
            for n, delivery in enumerate(due)
        }

        async def one(delivery: Delivery) -> None:
            # A server's turn first, then a place: waiting for a busy server holds no place
            # another server's delivery could use.
            async with hosts[delivery.host], everyone:
                if self.circuits.is_open(delivery.host, self.clock.now()):
                    return  # opened during this round: due again when it closes
                chunk, place = signed[delivery.id]
                if await self.deliver_one(delivery, (await chunk)[place]):
                    await recorder.settled(recorder.record(delivery.id))

        await asyncio.gather(*(one(d) for d in due))

    def sign_all(self, chunk: Sequence[Delivery]) -> list[dict[str, str]]:
        """The signed headers of each delivery of `chunk` (in the signing thread)."""
        site, now = self.store.snapshot.catalog.site, self.clock.now()
        signed = []
        for delivery in chunk:
            key_id = f"{notes.actor_url(site, delivery.actor)}#main-key"
            body = delivery.activity.encode("utf-8")
            signed.append(
                signatures.sign("POST", delivery.inbox, key_id, self.private_pem, now, body)
            )
        return signed

    async def deliver_one(self, delivery: Delivery, headers: dict[str, str]) -> bool:
        """POST `delivery` with its signed `headers` and record a failure; whether its inbox
        took it (2xx)."""
        body = delivery.activity.encode("utf-8")
        now = self.clock.now()
        try:
            async with self.client.post(
                delivery.inbox, data=body, headers=headers, timeout=POST_TIMEOUT,
                allow_redirects=False,
            ) as response:  # fmt: skip
                status = response.status
                await read_capped(response, 65536)
        except Exception as error:  # any fault of the remote side or the network
            status, reason = 0, f"{type(error).__name__}: {error}"[:300]
        else:
            reason = f"HTTP {status}"
        if 200 <= status < 300:
            self.circuits.succeeded(delivery.host)
            self.metrics.fediverse_deliveries["delivered"] += 1
            return True
        if status in PERMANENT:
            await self.db.run(deliveries.failed, delivery.id, now, reason)
            self.metrics.fediverse_deliveries["failed"] += 1
            log.info("%s refused a delivery for good (%s): not tried again", delivery.host, reason)
            return False
        opened = self.circuits.failed(delivery.host, now)
        if opened is not None:
            log.warning("%s failed 5 times in 10 minutes (%s): left alone until %s",
                        delivery.host, reason, opened.isoformat())  # fmt: skip
            await self.db.run(deliveries.postpone, delivery.host, opened)
        if now - delivery.created_at >= KEPT:
            await self.db.run(deliveries.failed, delivery.id, now, f"kept 7 days: {reason}")
            self.metrics.fediverse_deliveries["failed"] += 1
            return False
        at = now + backoff(delivery.attempts, FIRST_RETRY, LAST_RETRY)
        if opened is not None:
            at = max(at, opened)
        await self.db.run(deliveries.retry, delivery.id, at, reason)
        self.metrics.fediverse_deliveries["retried"] += 1
        return False
