"""What the people wing learns from what comes back (mail/returns.py sorts it; here it is kept):
a hard bounce or a complaint stops mail to the address at once; soft bounces are counted, and
`SOFT_LIMIT` of them with no more than `SOFT_WINDOW` between one and the next stop it too.

Nothing here sees an address in a report: the subscriber is found by the return path's
token (mail/verp.py, checked by the caller with `token_key`), by a signed unsubscribe link
quoted in a complaint, or, for a provider's verified webhook, by the address it names.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syndicate.people.database import subscribers
from syndicate.people.outbox import suppress

SOFT_LIMIT = 5
SOFT_WINDOW = timedelta(days=30)
HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"


def token_key(engine: Engine, subscriber_id: int) -> str | None:
    """The subscriber's current token key (None: no such subscriber, or erased)."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(subscribers.c.token_key).where(subscribers.c.id == subscriber_id)
        ).scalar()
    return None if found is None else str(found)


def subscriber_by_address(engine: Engine, address: str) -> int | None:
    """The subscriber with the address a provider's verified webhook names (normalised)."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(subscribers.c.id).where(subscribers.c.address == address)
        ).scalar()
    return None if found is None else int(found)


def record(engine: Engine, subscriber_id: int, kind: str, detail: str, now: datetime) -> str:
    """Keep what a report says of `subscriber_id`; what became of it: "suppressed",
    "counted" (a soft bounce under the limit), or "known" (suppressed already)."""
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(subscribers.c.bounced_at, subscribers.c.soft_bounces,
                      subscribers.c.soft_since)
            .where(subscribers.c.id == subscriber_id)
            .with_for_update()
        ).first()  # fmt: skip
        if row is None or row.bounced_at is not None:
            return "known"
        if kind in (HARD, COMPLAINT):
            suppress(connection, subscriber_id, now, f"{kind}: {detail}")
            return "suppressed"
        # The count goes on while soft bounces keep coming, and starts again after a quiet
        # SOFT_WINDOW (a mailbox that was full for a week and then emptied is fine).
        fresh = row.soft_since is None or now - row.soft_since > SOFT_WINDOW
        count = 1 if fresh else row.soft_bounces + 1
        connection.execute(
            sa.update(subscribers)
            .where(subscribers.c.id == subscriber_id)
            .values(soft_bounces=count, soft_since=now)
        )
        if count >= SOFT_LIMIT:
            suppress(connection, subscriber_id, now, f"soft x{count}: {detail}")
            return "suppressed"
        return "counted"
