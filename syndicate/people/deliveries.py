"""What followers' servers are due, and what reached them: the fediverse's outbox, as named
functions over the database (the only SQL for it).

1. `tell`: the live items of a snapshot against what followers were last told (`posts`):
   a new item becomes its Create (and the Announces of the other actors carrying it), a
   changed one an Update, one no longer live a Delete. Each activity is recorded with one
   delivery per inbox of the followers it is for (a server's shared inbox once), in the same
   transaction as the new state of `posts`: nothing told twice, nothing lost. The first
   call on a database only takes note: followers are not sent the back catalogue (it is in
   the outbox collection for them to read).
2. `enqueue`: one activity to given inboxes (an Accept to a new follower).
3. `due` / `delivered` / `retry` / `failed`: the deliverer claims due deliveries (another
   process skips them while claimed), and records each answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syndicate.people.database import (
    activities,
    deliveries,
    followers,
    insert_ignoring,
    lease,
    posts,
    settings,
)
from syndicate.people.followers import inboxes_within

DELIVERER_LEASE = "fediverse-deliverer"
CREATE, UPDATE, DELETE = "create", "update", "delete"


@dataclass(frozen=True)
class Outgoing:
    """An activity to deliver: its id, our actor that signs it, its JSON, and whose
    followers get it (our handles)."""

    uri: str
    actor: str
    body: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class Live:
    """An item live in a snapshot, as `tell` needs it: what its Note says (a digest), our
    actor it is by, and our actors whose followers get it."""

    item_id: str
    digest: str
    author: str
    audience: tuple[str, ...]


# Makes the activities of one item: (item id, CREATE/UPDATE/DELETE, its author, whose
# followers get them) -> activities. Pure; called only for the items that need telling.
Maker = Callable[[str, str, str, tuple[str, ...]], Sequence[Outgoing]]


@dataclass(frozen=True)
class Delivery:
    id: int
    activity: str  # the body
    uri: str
    actor: str
    inbox: str
    host: str
    attempts: int
    created_at: datetime


def _enqueue(
    connection: Connection, outgoing: Outgoing, inboxes: Mapping[str, str], now: datetime
) -> int:
    insert_ignoring(connection, activities, [{
        "uri": outgoing.uri, "actor": outgoing.actor, "body": outgoing.body, "created_at": now,
    }])  # fmt: skip
    activity_id = connection.execute(
        sa.select(activities.c.id).where(activities.c.uri == outgoing.uri)
    ).scalar_one()
    rows = [
        {"activity_id": activity_id, "inbox": inbox, "host": host, "created_at": now,
         "due_at": now}
        for inbox, host in sorted(inboxes.items())
    ]  # fmt: skip
    insert_ignoring(connection, deliveries, rows)
    return len(rows)


def enqueue(engine: Engine, outgoing: Outgoing, inboxes: Mapping[str, str], now: datetime) -> int:
    """Deliver `outgoing` to `inboxes` (inbox -> host); how many deliveries."""
    with engine.begin() as connection:
        return _enqueue(connection, outgoing, inboxes, now)


def tell(engine: Engine, live: Sequence[Live], make: Maker, now: datetime) -> dict[str, int]:
    """Record what `live` changes for followers, and queue it (see the module's notes);
    how many items were created, updated and deleted."""
    told = {CREATE: 0, UPDATE: 0, DELETE: 0}
    with engine.begin() as connection:
        first = bool(
            insert_ignoring(
                connection, settings, [{"name": "federating_since", "value": now.isoformat()}]
            )
        )
        known = {
            row.item_id: row
            for row in connection.execute(
                sa.select(posts.c.item_id, posts.c.digest, posts.c.deleted, posts.c.author,
                          posts.c.audience)
            )
        }  # fmt: skip
        changes: list[tuple[str, str, str, tuple[str, ...]]] = []
        for item in live:
            before = known.get(item.item_id)
            state = {"digest": item.digest, "author": item.author, "deleted": False,
                     "audience": json.dumps(item.audience), "told_at": now}  # fmt: skip
            if before is None:
                insert_ignoring(connection, posts, [{"item_id": item.item_id, **state}])
                changes.append((item.item_id, CREATE, item.author, item.audience))
                continue
            if before.deleted:  # withdrawn, then live again: a new Create
                kind, audience = CREATE, item.audience
            elif before.digest != item.digest:  # those told before hear of the change too
                kind = UPDATE
                audience = tuple(dict.fromkeys((*json.loads(before.audience), *item.audience)))
            else:
                continue
            connection.execute(
                sa.update(posts).where(posts.c.item_id == item.item_id).values(**state)
            )
            changes.append((item.item_id, kind, item.author, audience))
        live_ids = {item.item_id for item in live}
        for item_id, row in known.items():
            if not row.deleted and item_id not in live_ids:
                connection.execute(
                    sa.update(posts).where(posts.c.item_id == item_id)
                    .values(deleted=True, told_at=now)
                )  # fmt: skip
                changes.append((item_id, DELETE, row.author, tuple(json.loads(row.audience))))
        if first:
            return told
        for item_id, kind, author, audience in changes:
            for outgoing in make(item_id, kind, author, audience):
                _enqueue(connection, outgoing, inboxes_within(connection, outgoing.audience), now)
            told[kind] += 1
    return told


def hold_lease(engine: Engine, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the deliverer's lease; whether `holder` holds it."""
    return lease(engine, DELIVERER_LEASE, holder, now, seconds)


def due(
    engine: Engine,
    now: datetime,
    holder: str,
    limit: int,
    hold: float,
    closed_hosts: Iterable[str] = (),
) -> list[Delivery]:
    """Deliveries to make now, oldest first, claimed by `holder` for `hold` seconds; none to
    `closed_hosts` (whose circuit is open)."""
    until = now + timedelta(seconds=hold)
    free = sa.or_(
        deliveries.c.claimed_until.is_(None),
        deliveries.c.claimed_until < now,
        deliveries.c.claimed_by == holder,
    )
    waiting = sa.and_(
        deliveries.c.delivered_at.is_(None),
        deliveries.c.failed_at.is_(None),
        deliveries.c.due_at <= now,
        free,
    )
    skipped = list(closed_hosts)
    if skipped:
        waiting = sa.and_(waiting, deliveries.c.host.not_in(skipped))
    with engine.begin() as connection:
        ids = connection.execute(
            sa.select(deliveries.c.id).where(waiting)
            .order_by(deliveries.c.due_at, deliveries.c.id).limit(limit)
        ).scalars().all()  # fmt: skip
        if not ids:
            return []
        connection.execute(
            sa.update(deliveries).where(deliveries.c.id.in_(ids), free)
            .values(claimed_by=holder, claimed_until=until)
        )  # fmt: skip
        rows = connection.execute(
            sa.select(deliveries, activities.c.body, activities.c.uri, activities.c.actor)
            .join(activities, activities.c.id == deliveries.c.activity_id)
            .where(deliveries.c.id.in_(ids), deliveries.c.claimed_by == holder,
                   deliveries.c.claimed_until == until)
            .order_by(deliveries.c.due_at, deliveries.c.id)
        ).all()  # fmt: skip
    return [
        Delivery(r.id, r.body, r.uri, r.actor, r.inbox, r.host, r.attempts, r.created_at)
        for r in rows
    ]


def delivered(engine: Engine, ids: Sequence[int], now: datetime) -> None:
    """The inboxes answered 2xx."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(deliveries).where(deliveries.c.id.in_(list(ids))).values(delivered_at=now)
        )


def retry(engine: Engine, delivery_id: int, at: datetime, reason: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.update(deliveries).where(deliveries.c.id == delivery_id)
            .values(due_at=at, attempts=deliveries.c.attempts + 1, last_error=reason[:300],
                    claimed_until=None)
        )  # fmt: skip


def failed(engine: Engine, delivery_id: int, now: datetime, reason: str) -> None:
    """Given up: refused for good, or kept as long as deliveries are."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(deliveries).where(deliveries.c.id == delivery_id)
            .values(failed_at=now, last_error=reason[:300], claimed_until=None)
        )  # fmt: skip


def counts(engine: Engine, now: datetime) -> dict[str, Any]:
    """For /healthz and /metrics: queued, the oldest queued's age (s), followers."""
    with engine.connect() as connection:
        waiting = sa.and_(deliveries.c.delivered_at.is_(None), deliveries.c.failed_at.is_(None))
        queued, oldest = connection.execute(
            sa.select(sa.func.count(), sa.func.min(deliveries.c.created_at)).where(waiting)
        ).one()
        total = connection.execute(sa.select(sa.func.count()).select_from(followers)).scalar_one()
    return {
        "queued": int(queued),
        "oldest_seconds": (now - oldest).total_seconds() if oldest is not None else 0.0,
        "followers": int(total),
    }


def postpone(engine: Engine, host: str, until: datetime) -> None:
    """`host`'s circuit opened: its waiting deliveries are due again when it closes (not
    stuck meanwhile, and not tried)."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(deliveries)
            .where(deliveries.c.host == host, deliveries.c.delivered_at.is_(None),
                   deliveries.c.failed_at.is_(None), deliveries.c.due_at < until)
            .values(due_at=until, claimed_until=None)
        )  # fmt: skip


def stuck(engine: Engine, now: datetime) -> float:
    """Seconds the longest-due waiting delivery has been due (0: none is due): more than a
    few minutes means deliveries are not being made."""
    with engine.connect() as connection:
        oldest = connection.execute(
            sa.select(sa.func.min(deliveries.c.due_at)).where(
                deliveries.c.delivered_at.is_(None), deliveries.c.failed_at.is_(None),
                deliveries.c.due_at <= now,
            )
        ).scalar_one()  # fmt: skip
    return (now - oldest).total_seconds() if oldest is not None else 0.0
