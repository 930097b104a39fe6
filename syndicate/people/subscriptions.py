"""Sign-up, confirmation, unsubscribing and the manage page: the subscriber side of email
updates, as named functions over the database (the only SQL for it).

Double opt-in: `request` records a subscription as pending with a one-time nonce and puts
a confirmation email in the outbox; only `confirm` with that nonce makes it count. Whether
the address was new, pending, subscribed or suppressed, `request` gives the caller nothing
to tell apart (no enumeration). A mailbox gets at most `ASKS_PER_DAY` confirmation
emails a day, whoever asks and however the address is spelt (`mailbox_key`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syndicate.people.database import (
    UTCDateTime,
    dialect_insert,
    insert_ignoring,
    mailbox_asks,
    messages,
    subscribers,
    subscriptions,
    suppressed,
)

ASKS_PER_DAY = 3
INSTANT, WEEKLY = "instant", "weekly"
FREQUENCIES = (INSTANT, WEEKLY)
EVERY = "*"  # every topic, or every type


@dataclass(frozen=True)
class Feed:
    """What a subscription follows: a topic (or EVERY) and a type (or EVERY)."""

    topic: str
    type: str


@dataclass(frozen=True)
class Subscription:
    id: int
    feed: Feed
    frequency: str
    confirmed_at: datetime | None


@dataclass(frozen=True)
class Subscriber:
    id: int
    address: str
    created_at: datetime
    confirmed_at: datetime | None
    bounced_at: datetime | None
    token_key: str
    subscriptions: tuple[Subscription, ...]


def suppression_hash(address: str) -> str:
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


def _is_suppressed(connection: Connection, address: str) -> bool:
    found = connection.execute(
        sa.select(suppressed.c.hash).where(suppressed.c.hash == suppression_hash(address))
    )
    return found.first() is not None


def mailbox_key(address: str) -> str:
    """Which mailbox `address` reaches, for the limit only: lower-cased, its +tag (and
    Gmail's dots) left out, hashed. `Reader+1@Example.org` and `reader@example.org` are one
    mailbox at nearly every provider; the address itself is stored as given."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return hashlib.sha256(f"{local}@{domain}".encode()).hexdigest()


def _ask(connection: Connection, address: str, now: datetime) -> bool:
    """Count one confirmation email for `address`'s mailbox, if it is under ASKS_PER_DAY
    today; whether it was counted. One statement (an upsert that updates only under the
    limit), so sign-ups at once on PostgreSQL, or in several workers, cannot pass it."""
    table = mailbox_asks
    day_ago = now - timedelta(days=1)
    insert = dialect_insert(connection, table).values(mailbox=mailbox_key(address), asks=1,
                                                      since=now)  # fmt: skip
    fresh = table.c.since <= sa.literal(day_ago, UTCDateTime)
    counted = connection.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.mailbox],
            set_={
                "asks": sa.case((fresh, 1), else_=table.c.asks + 1),
                "since": sa.case((fresh, sa.literal(now, UTCDateTime)), else_=table.c.since),
            },
            where=sa.or_(fresh, table.c.asks < ASKS_PER_DAY),
        ).returning(table.c.asks)
    ).first()
    return counted is not None


def request(engine: Engine, address: str, feed: Feed, frequency: str, now: datetime) -> bool:
    """Record a wish to follow `feed` at `frequency` from `address` (normalised), pending
    until confirmed, and queue the confirmation email; whether an email was queued (False:
    already subscribed so, suppressed, or the recipient's daily limit reached; the caller
    answers the same either way)."""
    with engine.begin() as connection:
        if _is_suppressed(connection, address):
            return False
        # Two sign-ups of one address at once: the second waits for the first's row.
        insert_ignoring(connection, subscribers, [{
            "address": address, "created_at": now, "token_key": secrets.token_hex(16)
        }])  # fmt: skip
        row = connection.execute(
            sa.select(subscribers.c.id, subscribers.c.bounced_at).where(
                subscribers.c.address == address
            )
        ).one()
        subscriber_id = row.id
        if row.bounced_at is not None:
            return False
        existing = connection.execute(
            sa.select(subscriptions).where(
                subscriptions.c.subscriber_id == subscriber_id,
                subscriptions.c.topic == feed.topic,
                subscriptions.c.type == feed.type,
            )
        ).first()
        if existing is not None and existing.confirmed_at and existing.frequency == frequency:
            return False  # nothing to confirm: it is so already
        if not _ask(connection, address, now):
            return False
        nonce = secrets.token_hex(16)
        if existing is None:
            subscription_id = connection.execute(
                sa.insert(subscriptions).values(
                    subscriber_id=subscriber_id,
                    topic=feed.topic,
                    type=feed.type,
                    frequency=frequency,
                    created_at=now,
                    nonce=nonce,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        else:
            subscription_id = existing.id
            # Confirmed already, it keeps counting at its frequency until the new one is
            # confirmed (the frequency asked for travels in the signed link).
            connection.execute(
                sa.update(subscriptions)
                .where(subscriptions.c.id == existing.id)
                .values(nonce=nonce)
            )
        connection.execute(
            sa.insert(messages).values(
                subscriber_id=subscriber_id,
                kind="confirm",
                key=secrets.token_hex(16),
                created_at=now,
                due_at=now,
                detail=json.dumps(
                    {
                        "subscription": subscription_id,
                        "nonce": nonce,
                        "frequency": frequency,
                        "topic": feed.topic,
                        "type": feed.type,
                    }
                ),
            )
        )
        return True


def confirm(
    engine: Engine, subscription_id: int, nonce: str, frequency: str, now: datetime
) -> bool:
    """Confirm the pending subscription whose link carried `nonce` (once: the nonce is then
    gone); whether it was confirmed."""
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(subscriptions.c.subscriber_id).where(
                subscriptions.c.id == subscription_id, subscriptions.c.nonce == nonce
            )
        ).first()
        if row is None:
            return False
        connection.execute(
            sa.update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(nonce=None, confirmed_at=now, frequency=frequency)
        )
        connection.execute(
            sa.update(subscribers)
            .where(subscribers.c.id == row.subscriber_id, subscribers.c.confirmed_at.is_(None))
            .values(confirmed_at=now)
        )
        return True


def subscriber(engine: Engine, subscriber_id: int) -> Subscriber | None:
    """Everything kept about one subscriber (what the manage page shows and exports)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(subscribers).where(subscribers.c.id == subscriber_id)
        ).first()
        if row is None:
            return None
        found = connection.execute(
            sa.select(subscriptions)
            .where(subscriptions.c.subscriber_id == subscriber_id)
            .order_by(subscriptions.c.topic, subscriptions.c.type)
        ).all()
    return Subscriber(
        row.id,
        row.address,
        row.created_at,
        row.confirmed_at,
        row.bounced_at,
        row.token_key,
        tuple(
            Subscription(s.id, Feed(s.topic, s.type), s.frequency, s.confirmed_at) for s in found
        ),
    )


def set_frequency(engine: Engine, subscriber_id: int, subscription_id: int, frequency: str) -> None:
    """From the manage page (its link is the owner's): no confirmation needed."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(subscriptions)
            .where(
                subscriptions.c.id == subscription_id,
                subscriptions.c.subscriber_id == subscriber_id,
            )
            .values(frequency=frequency)
        )


def follow(engine: Engine, subscriber_id: int, feed: Feed, frequency: str, now: datetime) -> None:
    """From the manage page: `feed` added at `frequency`, confirmed now (the page's link went
    to the address, so its owner is asking: the consent is recorded as of now). Followed
    already: its frequency changes."""
    with engine.begin() as connection:
        updated = connection.execute(
            sa.update(subscriptions)
            .where(
                subscriptions.c.subscriber_id == subscriber_id,
                subscriptions.c.topic == feed.topic,
                subscriptions.c.type == feed.type,
            )
            .values(frequency=frequency, confirmed_at=sa.func.coalesce(
                subscriptions.c.confirmed_at, sa.literal(now, UTCDateTime)), nonce=None)
        ).rowcount  # fmt: skip
        if not updated:
            connection.execute(
                sa.insert(subscriptions).values(
                    subscriber_id=subscriber_id, topic=feed.topic, type=feed.type,
                    frequency=frequency, created_at=now, confirmed_at=now,
                )
            )  # fmt: skip


def unsubscribe(engine: Engine, subscriber_id: int, subscription_id: int | None = None) -> None:
    """End one subscription, or (None) all of them. An address left with none is erased
    (there is nothing to keep it for), unless it bounced: then its hash stays suppressed."""
    with engine.begin() as connection:
        query = sa.delete(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id)
        if subscription_id is not None:
            query = query.where(subscriptions.c.id == subscription_id)
        connection.execute(query)
        left = connection.execute(
            sa.select(sa.func.count()).where(subscriptions.c.subscriber_id == subscriber_id)
        ).scalar_one()
        if not left:
            erase_with(connection, subscriber_id)


def erase(engine: Engine, subscriber_id: int) -> None:
    """Delete everything kept about a subscriber (the manage page's "delete everything")."""
    with engine.begin() as connection:
        erase_with(connection, subscriber_id)


def erase_with(connection: Connection, subscriber_id: int) -> None:
    """`erase`, in the caller's transaction."""
    row = connection.execute(
        sa.select(subscribers.c.address, subscribers.c.bounced_at).where(
            subscribers.c.id == subscriber_id
        )
    ).first()
    if row is None:
        return
    if row.bounced_at is not None:  # never mail it again: keep its hash, not the address
        connection.execute(
            sa.insert(suppressed).values(
                hash=suppression_hash(row.address), reason="bounced", created_at=row.bounced_at
            )
        )
    # Cascades to its subscriptions, its pending items and its messages.
    connection.execute(sa.delete(subscribers).where(subscribers.c.id == subscriber_id))
