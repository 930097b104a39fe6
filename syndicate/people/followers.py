"""Who follows our actors from the fediverse, as named functions over the database (the only
SQL for it): a verified Follow adds a row, an Undo or the follower's Delete removes it.
Followers are never listed publicly; only their count is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syndicate.people.database import followers, insert_ignoring


@dataclass(frozen=True)
class Follower:
    actor: str  # our handle
    follower: str  # the remote actor's id
    inbox: str
    shared_inbox: str | None
    follow_id: str


def add(engine: Engine, found: Follower, now: datetime) -> bool:
    """Record `found`; whether it is new (a repeated Follow changes nothing but its inbox
    and Follow id, which the Accept and an Undo name)."""
    # The server deliveries go to (host and port: a circuit and a limit each).
    host = urlsplit(found.shared_inbox or found.inbox).netloc
    with engine.begin() as connection:
        new = insert_ignoring(connection, followers, [{
            "actor": found.actor, "follower": found.follower, "inbox": found.inbox,
            "shared_inbox": found.shared_inbox, "host": host, "follow_id": found.follow_id,
            "created_at": now,
        }])  # fmt: skip
        if not new:
            connection.execute(
                sa.update(followers)
                .where(followers.c.actor == found.actor, followers.c.follower == found.follower)
                .values(inbox=found.inbox, shared_inbox=found.shared_inbox,
                        follow_id=found.follow_id)
            )  # fmt: skip
        return bool(new)


def remove(
    engine: Engine, follower: str, actor: str | None = None, follow_id: str | None = None
) -> int:
    """An Undo of a Follow by `follower`: of our `actor`, or (when the Undo names the Follow
    by id only) the Follow `follow_id`; with neither, everything it follows (its Delete).
    How many rows went."""
    query = sa.delete(followers).where(followers.c.follower == follower)
    if actor is not None:
        query = query.where(followers.c.actor == actor)
    if follow_id is not None:
        query = query.where(followers.c.follow_id == follow_id)
    with engine.begin() as connection:
        return int(connection.execute(query).rowcount)


def count(engine: Engine, actor: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(followers).where(followers.c.actor == actor)
            ).scalar_one()
        )


def inboxes_within(connection: Connection, actors: Iterable[str]) -> dict[str, str]:
    """Where to deliver to the followers of any of `actors`: each server's shared inbox where
    it has one, else each follower's own; inbox -> its host. One delivery per inbox."""
    rows = connection.execute(
        sa.select(followers.c.inbox, followers.c.shared_inbox, followers.c.host)
        .where(followers.c.actor.in_(list(actors)))
        .distinct()
    ).all()
    return {shared or inbox: host for inbox, shared, host in rows}


def inboxes(engine: Engine, actors: Iterable[str]) -> dict[str, str]:
    """`inboxes_within`, in a connection of its own."""
    with engine.connect() as connection:
        return inboxes_within(connection, actors)
