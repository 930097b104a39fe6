"""Reach in the database: counts per feed and day, added by every worker once a minute.

Nothing here holds an address or a User-Agent: a row is a day, a path, a measure, a detail
(a hosted reader's name, a poller family, a partner's origin) and a number. Today's pollers
are salted hashes (`reach_pollers`), counted into the day's row and deleted once the day is
over (`close_days`), so nothing finer than a day is kept past it. Daily rows are kept for
the days `SYNDICATE_REACH_DAYS` says (two years), then deleted (`tidy`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syndicate import urls
from syndicate.people.database import (
    admin_sessions,
    dialect_insert,
    followers,
    insert_ignoring,
    reach_daily,
    reach_pollers,
    subscriptions,
)

POLLERS, SUBSCRIBERS, EMAIL, FOLLOWERS = "pollers", "subscribers", "email", "followers"
_KEY = ["day", "path", "measure", "detail"]


@dataclass(frozen=True)
class Row:
    day: date
    path: str
    measure: str
    detail: str
    value: int


def _upsert(connection: Connection, rows: Sequence[Row], adding: bool) -> None:
    if not rows:
        return
    statement = dialect_insert(connection, reach_daily)
    value = reach_daily.c.value + statement.excluded.value if adding else statement.excluded.value
    connection.execute(
        statement.on_conflict_do_update(index_elements=_KEY, set_={"value": value}),
        [row.__dict__ for row in rows],
    )


def add(
    engine: Engine,
    additions: Sequence[Row],
    latest: Sequence[Row],
    pollers: Sequence[tuple[date, str, str, str]],
) -> None:
    """One worker's minute, in one transaction: `additions` added to what is there, `latest`
    (figures such as a hosted reader's subscribers) replacing it, `pollers` (day, path,
    hash, family) recorded once each."""
    with engine.begin() as connection:
        _upsert(connection, additions, adding=True)
        _upsert(connection, latest, adding=False)
        insert_ignoring(
            connection,
            reach_pollers,
            [{"day": d, "path": p, "hash": h, "family": f} for d, p, h, f in pollers],
        )


def close_days(engine: Engine, today: date) -> int:
    """Count the pollers of every day before `today` into its rows, and forget their hashes;
    how many were counted. Deleting is what counts (DELETE ... RETURNING): two workers
    closing at once count each hash once."""
    with engine.begin() as connection:
        gone = connection.execute(
            sa.delete(reach_pollers)
            .where(reach_pollers.c.day < today)
            .returning(reach_pollers.c.day, reach_pollers.c.path, reach_pollers.c.family)
        ).all()
        counted = Counter((day, path, family) for day, path, family in gone)
        _upsert(
            connection,
            [Row(day, path, POLLERS, family, n) for (day, path, family), n in counted.items()],
            adding=True,
        )
    return len(gone)


def tidy(engine: Engine, oldest: date) -> int:
    """Delete the daily rows of days before `oldest`; how many."""
    with engine.begin() as connection:
        return connection.execute(sa.delete(reach_daily).where(reach_daily.c.day < oldest)).rowcount


def rows(engine: Engine, since: date) -> list[Row]:
    """Every row from `since` on, today's pollers counted from their hashes."""
    with engine.connect() as connection:
        found = [
            Row(day, path, measure, detail, int(value))
            for day, path, measure, detail, value in connection.execute(
                sa.select(
                    reach_daily.c.day,
                    reach_daily.c.path,
                    reach_daily.c.measure,
                    reach_daily.c.detail,
                    reach_daily.c.value,
                ).where(reach_daily.c.day >= since)
            )
        ]
        today = connection.execute(
            sa.select(
                reach_pollers.c.day, reach_pollers.c.path, reach_pollers.c.family, sa.func.count()
            )
            .where(reach_pollers.c.day >= since)
            .group_by(reach_pollers.c.day, reach_pollers.c.path, reach_pollers.c.family)
        )
        found += [Row(day, path, POLLERS, family, int(n)) for day, path, family, n in today]
    return found


def channel_path(topic: str | None, type_: str | None) -> str:
    """The path counts of a channel (email, fediverse) are kept under: the feed's, without
    its extension (`/topics/harm-reduction/feed`, `/events`)."""
    return urls.feed_path(urls.FeedKey(topic, type_), "x")[: -len(".x")]


def channels(engine: Engine, day: date) -> list[Row]:
    """Today's confirmed email subscriptions and fediverse followers, per feed they follow."""
    with engine.connect() as connection:
        email = connection.execute(
            sa.select(subscriptions.c.topic, subscriptions.c.type, sa.func.count())
            .where(subscriptions.c.confirmed_at.is_not(None))
            .group_by(subscriptions.c.topic, subscriptions.c.type)
        ).all()
        fediverse = connection.execute(
            sa.select(followers.c.actor, sa.func.count()).group_by(followers.c.actor)
        ).all()
    found = [
        Row(day, channel_path(None if t == "*" else t, None if k == "*" else k), EMAIL, "", int(n))
        for t, k, n in email
    ]
    for actor, n in fediverse:
        if actor == urls.SITE_HANDLE:
            path = channel_path(None, None)
        elif actor == urls.EVENTS_HANDLE:
            path = channel_path(None, urls.EVENTS_HANDLE)
        else:
            path = channel_path(actor, None)
        found.append(Row(day, path, FOLLOWERS, "", int(n)))
    return found


# Operators' sessions ---------------------------------------------------------------------


def open_session(engine: Engine, token_hash: str, expires_at: datetime, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(sa.delete(admin_sessions).where(admin_sessions.c.expires_at <= now))
        connection.execute(
            sa.insert(admin_sessions), {"token_hash": token_hash, "expires_at": expires_at}
        )


def session_open(engine: Engine, token_hash: str, now: datetime) -> bool:
    with engine.connect() as connection:
        return (
            connection.execute(
                sa.select(admin_sessions.c.token_hash).where(
                    admin_sessions.c.token_hash == token_hash, admin_sessions.c.expires_at > now
                )
            ).first()
            is not None
        )


def close_session(engine: Engine, token_hash: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.delete(admin_sessions).where(admin_sessions.c.token_hash == token_hash)
        )
