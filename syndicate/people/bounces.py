"""What stops mail to an address, and what the people wing learns from what comes back: the
relay refusing it at RCPT TO (`bounced`), and the reports mail/returns.py sorts (`record`):
a hard bounce or a complaint stops mail to the address at once; soft bounces are counted, and
`SOFT_LIMIT` of them with no more than `SOFT_WINDOW` between one and the next stop it too.

Nothing here sees an address in a report: the subscriber is found by the return path's
token (mail/verp.py, checked by the caller with `token_key`), by a signed unsubscribe link
quoted in a complaint, or, for a provider's verified webhook, by the address it names.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syndicate.people.database import messages, pending, subscribers

SOFT_LIMIT = 5
SOFT_WINDOW = timedelta(days=30)
HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"


def bounced(
    engine: Engine, message_id: int, subscriber_id: int, now: datetime, reason: str
) -> None:
    """The relay refused the recipient of `message_id` at RCPT TO, for good: no more mail to
    the address, nothing pending for it. `reason` is the relay's reply."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(messages)
            .where(messages.c.id == message_id)
            .values(failed_at=now, last_error=reason[:300])
        )
        suppress(connection, subscriber_id, now, f"rcpt: {reason}")


def suppress(connection: Connection, subscriber_id: int, now: datetime, reason: str) -> None:
    """No more mail to `subscriber_id` (bounced, or complained): nothing pending for them is
    composed, nothing composed is sent. `reason` says how we learnt it (never the address)."""
    connection.execute(
        sa.update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.bounced_at.is_(None))
        .values(bounced_at=now, bounce_reason=reason[:100])
    )
    connection.execute(
        sa.delete(pending).where(
            pending.c.subscriber_id == subscriber_id, pending.c.message_id.is_(None)
        )
    )


def bounce_reasons(engine: Engine) -> list[tuple[str, int]]:
    """How the addresses no longer mailed were learnt to be bad, with how many each."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(subscribers.c.bounce_reason, sa.func.count())
            .where(subscribers.c.bounced_at.is_not(None))
            .group_by(subscribers.c.bounce_reason)
            .order_by(sa.func.count().desc(), subscribers.c.bounce_reason)
        ).all()
    return [(str(reason or ""), int(count)) for reason, count in rows]


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
