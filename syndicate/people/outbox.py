"""What is due to whom, and what was sent: the outbox of email updates, as named functions over
the database (the only SQL for it).

1. `announce`: the items live in a snapshot that were never announced are recorded in
   `announced` (once, ever: a restart or a second worker announces nothing twice), and each
   is recorded as pending for every confirmed subscription that follows it, before any email
   exists. The first announcement of a database only takes note of what is live: nobody is
   mailed the back catalogue.
2. `compose`: pending items become messages. As-it-happens ones once the newest of a
   subscriber's pending items has waited `BATCH` (items that go live within minutes of each
   other go in one email); weekly ones at the digest moment. The pending rows point at their
   message in the same transaction, so each item is in exactly one message.
3. `due` / `sent` / `retry` / `set_aside`: the sender takes due messages, and records the
   relay's answer (mail/replies.py sorts it; a refused recipient goes to people/bounces.py);
   `release` puts messages set aside back in the queue. A message marked sent after the
   relay's 250 is never sent again; one the relay took just before a crash is sent again at
   restart, with the same Message-ID (the only way to send twice, bounded by the messages in
   flight at the crash).
4. `hold_lease`: one process sends at a time (a lease row, renewed while it sends).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syndicate.people.database import (
    UTCDateTime,
    announced,
    dialect_insert,
    insert_ignoring,
    lease,
    messages,
    pending,
    settings,
    subscribers,
    subscriptions,
)
from syndicate.people.subscriptions import EVERY, INSTANT, WEEKLY

BATCH = timedelta(minutes=3)
SENDER_LEASE = "email-sender"


@dataclass(frozen=True)
class Live:
    """An item live in a snapshot, as the outbox needs it: which subscriptions follow it."""

    id: str
    type: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Due:
    """A message to send now."""

    id: int
    kind: str
    key: str
    attempts: int
    subscriber_id: int
    address: str
    token_key: str
    items: tuple[str, ...]  # item ids, oldest first (updates and digests)
    detail: Mapping[str, object]  # a confirmation's subscription, nonce and frequency


def link_key(engine: Engine) -> bytes:
    """The key that signs links in emails, made by the first migration, shared by every
    machine using the database."""
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(settings.c.value).where(settings.c.name == "link_key")
        ).scalar_one()
    return bytes.fromhex(value)


def announce(engine: Engine, live: Iterable[Live], now: datetime) -> list[str]:
    """Record the items of `live` never announced, and each as pending for the confirmed
    subscriptions that follow it (not to bounced addresses); the ids newly announced. The
    first call on a database records what is live without making anything pending."""
    items = {item.id: item for item in live}
    with engine.begin() as connection:
        # The first announcement of a database (of any worker) takes note only.
        first = bool(
            insert_ignoring(
                connection, settings, [{"name": "announcing_since", "value": now.isoformat()}]
            )
        )
        known = (
            set(
                connection.execute(
                    sa.select(announced.c.item_id).where(announced.c.item_id.in_(list(items)))
                ).scalars()
            )
            if items
            else set()
        )
        new = [items[i] for i in items if i not in known]
        fresh = []
        for item in new:  # one by one: a second worker may announce the same item meanwhile
            if insert_ignoring(connection, announced, [{"item_id": item.id, "live_at": now}]):
                fresh.append(item)
        if first:
            return []
        for item in fresh:
            _fan_out(connection, item, now)
        return [item.id for item in fresh]


def _fan_out(connection: Connection, item: Live, now: datetime) -> None:
    """`item` pending for every confirmed, unbounced subscriber following it, in one
    statement. Followed twice (a topic weekly, everything as it happens): the sooner wins."""
    follows = sa.and_(
        sa.or_(subscriptions.c.topic == EVERY, subscriptions.c.topic.in_(item.topics)),
        sa.or_(subscriptions.c.type == EVERY, subscriptions.c.type == item.type),
    )
    any_instant = sa.func.max(sa.case((subscriptions.c.frequency == INSTANT, 1), else_=0))
    rows = (
        sa.select(
            subscriptions.c.subscriber_id,
            sa.literal(item.id),
            sa.case((any_instant == 1, INSTANT), else_=WEEKLY),
            sa.literal(now, UTCDateTime),
        )
        .join(subscribers, subscribers.c.id == subscriptions.c.subscriber_id)
        .where(
            follows, subscriptions.c.confirmed_at.is_not(None), subscribers.c.bounced_at.is_(None)
        )
        .group_by(subscriptions.c.subscriber_id)
    )
    columns = ["subscriber_id", "item_id", "frequency", "live_at"]
    connection.execute(
        dialect_insert(connection, pending).from_select(columns, rows).on_conflict_do_nothing()
    )


def _random_key(connection: Connection) -> sa.ColumnElement[str]:
    """A new random Message-ID key for each row, made by the database (32 hex digits)."""
    if connection.dialect.name == "postgresql":
        return sa.func.md5(sa.cast(sa.func.gen_random_uuid(), sa.Text))
    return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))


def compose(
    engine: Engine, now: datetime, digest_moment: datetime | None, batch: timedelta = BATCH
) -> int:
    """Turn pending items into messages: a subscriber's as-it-happens items once the newest
    has waited `batch`; weekly ones gone live by `digest_moment` (the latest digest time, not
    after now). Set-based: ten thousand subscribers are a few statements run by the database,
    not ten thousand rows through Python. How many messages were made."""
    rounds: list[tuple[str, str, datetime | None]] = [(INSTANT, "update", None)]
    if digest_moment is not None:
        rounds.append((WEEKLY, "digest", digest_moment))
    made = 0
    with engine.begin() as connection:
        for frequency, kind, moment in rounds:
            unassigned = sa.and_(pending.c.message_id.is_(None), pending.c.frequency == frequency)
            ready = (
                sa.select(pending.c.subscriber_id)
                .where(unassigned)
                .group_by(pending.c.subscriber_id)
                .having(
                    sa.func.max(pending.c.live_at) <= now - batch
                    if moment is None
                    else sa.func.min(pending.c.live_at) <= moment
                )
            )
            made += (
                connection.execute(
                    sa.insert(messages)
                    .from_select(
                        ["subscriber_id", "kind", "key", "created_at", "due_at"],
                        sa.select(
                            ready.subquery().c.subscriber_id,
                            sa.literal(kind),
                            _random_key(connection),
                            sa.literal(now, UTCDateTime),
                            sa.literal(now, UTCDateTime),
                        ),
                    )
                    .returning(messages.c.id)  # a count every driver gives (rowcount: not all)
                )
                .all()
                .__len__()
            )
            # Each unassigned item of a ready subscriber (by the digest moment, for a digest)
            # goes in the message just made for them: the newest of its kind made now.
            newest = (
                sa.select(sa.func.max(messages.c.id))
                .where(
                    messages.c.subscriber_id == pending.c.subscriber_id,
                    messages.c.kind == kind,
                    messages.c.created_at == sa.literal(now, UTCDateTime),
                    messages.c.sent_at.is_(None),
                    messages.c.claimed_by.is_(None),
                )
                .scalar_subquery()
            )
            connection.execute(
                sa.update(pending)
                .where(
                    unassigned,
                    pending.c.subscriber_id.in_(ready),
                    sa.true() if moment is None else pending.c.live_at <= moment,
                )
                .values(message_id=newest)
            )
        return made


def due(
    engine: Engine, now: datetime, holder: str, limit: int = 100, hold: float = 120.0
) -> list[Due]:
    """Messages to send now (not sent, not given up, due), oldest first, claimed by `holder`
    for `hold` seconds: another sender (a lease that lapsed while this one stalled) skips a
    claimed message, so no message is sent by two processes at once."""
    until = now + timedelta(seconds=hold)
    free = sa.or_(
        messages.c.claimed_until.is_(None),
        messages.c.claimed_until < now,
        messages.c.claimed_by == holder,
    )
    with engine.begin() as connection:
        candidates = (
            connection.execute(
                sa.select(messages.c.id)
                .join(subscribers, subscribers.c.id == messages.c.subscriber_id)
                .where(
                    messages.c.sent_at.is_(None),
                    messages.c.failed_at.is_(None),
                    messages.c.due_at <= now,
                    subscribers.c.bounced_at.is_(None),
                    free,
                )
                .order_by(messages.c.due_at, messages.c.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        if not candidates:
            return []
        connection.execute(
            sa.update(messages)
            .where(messages.c.id.in_(candidates), free)
            .values(claimed_by=holder, claimed_until=until)
        )
        rows = connection.execute(
            sa.select(messages, subscribers.c.address, subscribers.c.token_key)
            .join(subscribers, subscribers.c.id == messages.c.subscriber_id)
            .where(
                messages.c.id.in_(candidates),
                messages.c.claimed_by == holder,
                messages.c.claimed_until == until,
            )
            .order_by(messages.c.due_at, messages.c.id)
        ).all()
        items: dict[int, list[str]] = {row.id: [] for row in rows}
        if items:
            for message_id, item_id in connection.execute(
                sa.select(pending.c.message_id, pending.c.item_id)
                .where(pending.c.message_id.in_(list(items)))
                .order_by(pending.c.live_at, pending.c.item_id)
            ):
                items[message_id].append(item_id)
    return [
        Due(
            row.id,
            row.kind,
            row.key,
            row.attempts,
            row.subscriber_id,
            row.address,
            row.token_key,
            tuple(items[row.id]),
            json.loads(row.detail) if row.detail else {},
        )
        for row in rows
    ]


def sent(engine: Engine, message_ids: Sequence[int], now: datetime) -> None:
    """The relay said 250 to each of `message_ids` (one transaction for all)."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(messages).where(messages.c.id.in_(list(message_ids))).values(sent_at=now)
        )


def dropped(engine: Engine, message_id: int, now: datetime, reason: str) -> None:
    """Nothing left to send (its items were all withdrawn): done, not sent."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(messages)
            .where(messages.c.id == message_id)
            .values(failed_at=now, last_error=reason[:300])
        )


def retry(engine: Engine, message_id: int, at: datetime, reason: str) -> None:
    """The relay said "later" (4xx) or could not be reached: try again `at`."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(messages)
            .where(messages.c.id == message_id)
            .values(
                due_at=at,
                attempts=messages.c.attempts + 1,
                last_error=reason[:300],
                claimed_until=None,
            )
        )


def set_aside(engine: Engine, message_id: int, now: datetime, reason: str) -> None:
    """`message_id` was refused for itself (or cannot be made): kept with `reason`, not
    retried, until the operator releases it (`release`) or it is forgotten (retention)."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(messages)
            .where(messages.c.id == message_id)
            .values(failed_at=now, set_aside_at=now, last_error=reason[:300], claimed_until=None)
        )


def release(engine: Engine, now: datetime) -> int:
    """Every message set aside goes back in the queue, due now (the operator fixed what
    refused them: a size limit, a content filter); how many."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                sa.update(messages)
                .where(messages.c.set_aside_at.is_not(None), messages.c.sent_at.is_(None))
                .values(failed_at=None, set_aside_at=None, due_at=now, attempts=0)
                .values(claimed_by=None, claimed_until=None)
            ).rowcount
        )


def set_aside_reasons(engine: Engine) -> list[tuple[str, int]]:
    """Why messages are set aside, with how many each (for the operator; never an address)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(messages.c.last_error, sa.func.count())
            .where(messages.c.set_aside_at.is_not(None), messages.c.sent_at.is_(None))
            .group_by(messages.c.last_error)
            .order_by(sa.func.count().desc(), messages.c.last_error)
        ).all()
    return [(str(reason or ""), int(count)) for reason, count in rows]


def counts(engine: Engine) -> dict[str, int]:
    """Counts for /healthz and /metrics (never an address)."""
    with engine.connect() as connection:

        def count(query: sa.Select[Any]) -> int:
            return int(connection.execute(query).scalar_one())

        return {
            "subscribers": count(
                sa.select(sa.func.count())
                .select_from(subscribers)
                .where(subscribers.c.confirmed_at.is_not(None))
            ),
            "queued": count(
                sa.select(sa.func.count())
                .select_from(messages)
                .where(messages.c.sent_at.is_(None), messages.c.failed_at.is_(None))
            ),
            "set_aside": count(
                sa.select(sa.func.count())
                .select_from(messages)
                .where(messages.c.set_aside_at.is_not(None), messages.c.sent_at.is_(None))
            ),
            "bounced": count(
                sa.select(sa.func.count())
                .select_from(subscribers)
                .where(subscribers.c.bounced_at.is_not(None))
            ),
            "pending_items": count(
                sa.select(sa.func.count())
                .select_from(pending)
                .where(pending.c.message_id.is_(None))
            ),
        }


def hold_lease(engine: Engine, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the email sender's lease for `seconds`; whether `holder` holds it."""
    return lease(engine, SENDER_LEASE, holder, now, seconds)
