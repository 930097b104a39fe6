"""What the people wing forgets, and when: nothing is kept longer than it serves.

* An address that never confirmed is erased once every confirmation link sent to it has
  expired (it can no longer become a subscription); a subscriber's unconfirmed extra
  subscription likewise.
* A mailbox's count of confirmation emails (a hash, for the daily limit) after a day.
* Messages sent or given up are deleted after `SENT_KEPT` (long enough to answer "did it go
  out?" and to bound a complaint), with their rows of which item went in which. Items are
  announced once ever (`announced`), so forgetting a message never makes its items due again.

* Fediverse deliveries made or given up are deleted after `SENT_KEPT` too, with the
  activities left with none (`tidy_deliveries`, run by the deliverer).

`tidy` does the email side; the sender runs it about once an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syndicate.people.database import (
    activities,
    deliveries,
    mailbox_asks,
    messages,
    pending,
    subscribers,
    subscriptions,
)
from syndicate.people.subscriptions import erase_with

SENT_KEPT = timedelta(days=30)
TIDY_EVERY = timedelta(hours=1)  # how often the sender and the deliverer forget


def tidy(engine: Engine, now: datetime, links_last: timedelta) -> dict[str, int]:
    """Forget what no longer serves (`links_last`: how long a confirmation link works);
    how many addresses, subscriptions and messages were forgotten."""
    expired = now - links_last
    live_link = sa.exists().where(
        messages.c.subscriber_id == subscribers.c.id,
        messages.c.kind == "confirm",
        sa.or_(
            sa.and_(messages.c.sent_at.is_(None), messages.c.failed_at.is_(None)),  # not out yet
            sa.func.coalesce(messages.c.sent_at, messages.c.created_at) >= expired,
        ),
    )
    with engine.begin() as connection:
        stale = connection.execute(
            sa.select(subscribers.c.id).where(~live_link, subscribers.c.created_at < expired)
        ).scalars().all()  # fmt: skip
        never = connection.execute(
            sa.select(subscribers.c.id).where(
                subscribers.c.id.in_(stale), subscribers.c.confirmed_at.is_(None)
            )
        ).scalars().all()  # fmt: skip
        for subscriber_id in never:
            erase_with(connection, subscriber_id)
        dropped = connection.execute(
            sa.delete(subscriptions).where(
                subscriptions.c.subscriber_id.in_(stale),
                subscriptions.c.confirmed_at.is_(None),
            )
        ).rowcount
        old = sa.select(messages.c.id).where(
            sa.or_(messages.c.sent_at < now - SENT_KEPT, messages.c.failed_at < now - SENT_KEPT)
        )
        # Their item rows first: a row whose message is gone would look due again.
        connection.execute(sa.delete(pending).where(pending.c.message_id.in_(old)))
        forgotten = connection.execute(sa.delete(messages).where(messages.c.id.in_(old))).rowcount
        # A mailbox's count of confirmations asked serves for a day.
        connection.execute(
            sa.delete(mailbox_asks).where(mailbox_asks.c.since < now - timedelta(days=1))
        )
    return {"addresses": len(never), "subscriptions": dropped, "messages": forgotten}


def tidy_deliveries(engine: Engine, now: datetime) -> int:
    """Forget fediverse deliveries made (or given up) more than `SENT_KEPT` ago, and the
    activities left with none; how many deliveries went. What followers were told of each
    item (`posts`) stays: it is what makes the next change an Update, never a new Create."""
    before = now - SENT_KEPT
    with engine.begin() as connection:
        gone = connection.execute(
            sa.delete(deliveries).where(
                sa.or_(deliveries.c.delivered_at < before, deliveries.c.failed_at < before)
            )
        ).rowcount
        unused = ~sa.exists().where(deliveries.c.activity_id == activities.c.id)
        connection.execute(sa.delete(activities).where(activities.c.created_at < before, unused))
    return int(gone)
