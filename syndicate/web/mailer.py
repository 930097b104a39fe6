"""Email updates' sender: a supervised background task, run by every process but sending from
one at a time (the database lease, `people.outbox.hold_lease`).

Each round, the holder of the lease:
1. announces the items live in the snapshot it serves (when the snapshot changed): new ones
   become pending for their followers (`outbox.announce`), drafts and scheduled items are not
   in a snapshot, and a preview never sends;
2. composes due messages (`outbox.compose`): as-it-happens batches, weekly digests at the
   site's `digest_day` and `digest_time`;
3. sends what is due through the relay, at most `mail_connections` sessions and `mail_rate`
   messages a second, and records each answer as mail/replies.py sorts it: 250 sent; a 4xx
   for the message later (backoff, 1 min doubling to 1 h); a refusal of RCPT TO naming an
   address status bounced (never again); a message refused for itself set aside (kept, not
   retried). The relay's own state (unreachable, TLS, a refused login, sender or HELO) stops
   the round with nothing recorded against anyone: /healthz is `degraded` (task "email",
   with the reason), the log says it once, and the sender tries again after 15 s doubling
   to 10 min, or at once after a restart; nothing is dropped.

About once an hour it forgets what no longer serves (`people.retention`: addresses never
confirmed whose links expired, messages sent 30 days ago).

A round starts when the content changes, when a sign-up in this process queues a
confirmation, and every `TICK` seconds (sign-ups taken by other workers, retries due).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from syndicate.mail import verp
from syndicate.mail.links import CONFIRM_LIFETIME
from syndicate.mail.messages import Composer
from syndicate.mail.relay import Connection, Relay
from syndicate.mail.replies import Outcome, without_addresses
from syndicate.model import Site
from syndicate.people import bounces, outbox, retention
from syndicate.people.database import Database
from syndicate.people.outbox import Due, Live
from syndicate.retrying import backoff
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.metrics import Metrics
from syndicate.web.recorder import Recorder
from syndicate.web.supervise import Health, describe, wait_or_stop

log = logging.getLogger("syndicate.email")
TASK = "email"
TICK = 2.0
LEASE_SECONDS = 30.0
DUE_PER_SESSION = 500  # messages a round takes per relay session (each session is one connection)
UNRECORDED = 8  # 250s a session may be ahead of the outbox (see Recorder)
FIRST_RETRY, LAST_RETRY = timedelta(minutes=1), timedelta(hours=1)
RELAY_FIRST, RELAY_LAST = timedelta(seconds=15), timedelta(minutes=10)  # the relay's faults
COUNT_EVERY = timedelta(seconds=10)  # how often a process that does not send counts the outbox


def digest_moment(site: Site, now: datetime) -> datetime:
    """The latest weekly digest moment not after `now`, in the site's zone."""
    zone = ZoneInfo(site.timezone)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - site.digest_day) % 7)
    moment = datetime.combine(day, site.digest_time, zone)
    return moment if moment <= now else moment - timedelta(days=7)


def retry_delay(attempts: int) -> timedelta:
    return backoff(attempts, FIRST_RETRY, LAST_RETRY)


class Mailer:
    def __init__(
        self,
        store: ContentStore,
        db: Database,
        relay: Relay,
        sender: str,
        metrics: Metrics,
        health: Health,
        clock: Clock,
        connections: int = 2,
        rate: int = 10,
        batch: timedelta = outbox.BATCH,
        holder: str = "",
        return_path: str | None = None,
    ) -> None:
        self.store, self.db, self.relay, self.sender = store, db, relay, sender
        self.metrics, self.health, self.clock = metrics, health, clock
        self.connections, self.rate, self.batch = connections, rate, batch
        # Who holds the lease and the claims: the same name after a restart, so a process
        # killed mid-send is taken over at once by its successor, not after they lapse.
        self.holder = holder or socket.gethostname()
        self.wakeup = asyncio.Event()
        self.busy = asyncio.Lock()
        self.next_send = 0.0  # the event loop's time the next email may go at
        self.announced_version: str | None = None
        self.tidied_at: datetime | None = None
        self.secret = outbox.link_key(db.engine)
        self.return_path = return_path  # VERP's base (mail/verp.py); None: the sender
        # The relay's own faults (refused login, sender, HELO; unreachable): in memory, so a
        # restart (after the operator fixed the password) tries again at once.
        self.relay_faults = 0
        self.relay_wait_until = datetime.min.replace(tzinfo=UTC)
        self.counted_at: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wakeup.clear()
            self.store.email_due.clear()
            await self.round()
            waits = [
                asyncio.ensure_future(self.wakeup.wait()),
                asyncio.ensure_future(self.store.email_due.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            await asyncio.wait(waits, timeout=TICK, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        await wait_or_stop(stop, 0)

    async def round(self) -> None:
        """One round: lease, announce, compose, send. Raises (for `supervise`) on a database
        fault; the relay's faults are recorded and waited out. One at a time."""
        async with self.busy:
            await self._round()

    async def _round(self) -> None:
        now = self.clock.now()
        holding = await self.db.run(outbox.hold_lease, self.holder, now, LEASE_SECONDS)
        if holding:
            await self._work(now)
        # Every process's own figures for /healthz and /metrics (a pool's worker answering
        # may not be the one sending): the sender's after each round, the others' now and then.
        if not holding and self.counted_at and now - self.counted_at < COUNT_EVERY:
            return
        self.counted_at = now
        counts = await self.db.run(outbox.counts)
        self.metrics.email_queued = counts["queued"]
        self.metrics.email_subscribers = counts["subscribers"]
        self.metrics.email_set_aside = counts["set_aside"]
        self.metrics.email_bounced = counts["bounced"]
        if not self.relay_faults:  # a round that went through: the database and relay work
            self.health.ok(TASK)

    async def _work(self, now: datetime) -> None:
        """The lease holder's round: announce, forget, compose, send."""
        snapshot = self.store.snapshot
        if snapshot.version != self.announced_version:
            live = [
                Live(item.id, item.type, item.topics)
                for item in snapshot.catalog.items
                if item.withdrawn is None
            ]
            fresh = await self.db.run(outbox.announce, live, now)
            if fresh:
                log.info("%d new item(s) went live: due to their email subscribers", len(fresh))
            self.announced_version = snapshot.version
        if self.tidied_at is None or now - self.tidied_at >= retention.TIDY_EVERY:
            forgotten = await self.db.run(retention.tidy, now, CONFIRM_LIFETIME)
            if any(forgotten.values()):
                log.info("forgotten as they no longer serve: %s", forgotten)
            self.tidied_at = now
        moment = digest_moment(snapshot.catalog.site, now)
        await self.db.run(outbox.compose, now, moment, self.batch)
        if now < self.relay_wait_until:  # the relay failed of itself: wait it out
            return
        # A round takes at most a minute's sends, each claimed for as long as they take and
        # two minutes more: another sender never takes a message this one is sending.
        limit = min(DUE_PER_SESSION * self.connections, self.rate * 60)
        due = await self.db.run(outbox.due, now, self.holder, limit, 120.0 + limit / self.rate)
        if due:
            await self.send(due)

    async def send(self, due: list[Due]) -> None:
        queue: asyncio.Queue[Due] = asyncio.Queue()
        for message in due:
            queue.put_nowait(message)
        composer = Composer(self.store.snapshot.catalog, self.sender, self.secret)
        interval = 1.0 / self.rate
        pace = asyncio.Lock()
        loop = asyncio.get_running_loop()
        faults: list[str] = []  # the relay's state, when it stopped the round
        recorder = Recorder(self.db, self.clock, outbox.sent)

        async def session(connection: Connection) -> None:
            marking: list[asyncio.Future[None]] = []  # this session's record of its last 250
            try:
                while not queue.empty() and not faults:
                    message = queue.get_nowait()
                    async with pace:  # at most `rate` a second, all sessions together
                        # (kept across rounds: a new round does not start the count again)
                        wait = self.next_send - loop.time()
                        if wait > 0:
                            await asyncio.sleep(wait)
                        self.next_send = max(loop.time(), self.next_send) + interval
                    await self.send_one(connection, composer, message, faults, recorder, marking)
            finally:
                for done in marking:
                    await recorder.settled(done)
                await connection.close()

        first = Connection(self.relay)
        refused = await first.open()  # one login first: the others only if it works
        if refused is not None:
            self.metrics.email_sent[refused.outcome.value] += 1
            faults.append(refused.reply)
        else:
            more = min(self.connections, len(due)) - 1
            await asyncio.gather(
                session(first), *(session(Connection(self.relay)) for _ in range(more))
            )
        now = self.clock.now()
        if faults:
            # Nothing is recorded against the messages: they stay claimed by this sender,
            # due as they were, and go out in order once the relay works again.
            self.relay_faults += 1
            self.relay_wait_until = now + backoff(self.relay_faults, RELAY_FIRST, RELAY_LAST)
            self.health.fail(TASK, f"the SMTP relay {self.relay!r}: {faults[0]}; messages wait")
        else:
            self.relay_faults = 0

    async def send_one(
        self,
        connection: Connection,
        composer: Composer,
        due: Due,
        faults: list[str],
        recorder: Recorder,
        marking: list[asyncio.Future[None]],
    ) -> None:
        """Send `due` and record the answer. A 250 is recorded while the session sends on
        (`Recorder`: the session waits only when `UNRECORDED` of its 250s are not written
        yet): killed at any moment, a session leaves at most `UNRECORDED` + 1 messages the
        relay took unrecorded, which are sent again at restart with the same Message-ID.
        A message that cannot be made is set aside: no one message stops the others."""
        now = self.clock.now()
        try:
            email = (
                composer.confirmation(due, now)
                if due.kind == "confirm"
                else composer.update(due, now)
            )
        except Exception as error:  # an address or a text that cannot go in a message
            await self._set_aside(due, now, f"cannot be made: {describe(error)}")
            return
        if email is None:  # every item of it withdrawn since
            await self.db.run(outbox.dropped, due.id, now, "nothing left")
            self.metrics.email_sent["dropped"] += 1
            return
        envelope_from = (
            verp.return_path(self.return_path, due.subscriber_id, due.id, due.token_key,
                             self.secret)
            if self.return_path else self.sender
        )  # fmt: skip
        answer = await connection.send(email.data, envelope_from, email.recipient)
        if answer.outcome is Outcome.SENT:
            if len(marking) >= UNRECORDED:
                await recorder.settled(marking.pop(0))  # the previous 250, recorded first
            marking.append(recorder.record(due.id))
        elif answer.outcome is Outcome.BOUNCED:
            await self.db.run(bounces.bounced, due.id, due.subscriber_id, now, answer.reply)
            log.warning(
                "a %s email bounced at RCPT TO (%s): no more mail to that address",
                due.kind,
                answer.reply,
            )
        elif answer.outcome is Outcome.SET_ASIDE:
            await self._set_aside(due, now, answer.reply)
            return
        elif answer.outcome is Outcome.RELAY:
            faults.append(answer.reply)
        else:
            await self.db.run(outbox.retry, due.id, now + retry_delay(due.attempts), answer.reply)
        self.metrics.email_sent[answer.outcome.value] += 1

    async def _set_aside(self, due: Due, now: datetime, reason: str) -> None:
        reason = without_addresses(reason)
        await self.db.run(outbox.set_aside, due.id, now, reason)
        self.metrics.email_sent[Outcome.SET_ASIDE.value] += 1
        log.warning("a %s email was set aside, not retried: %s", due.kind, reason)
