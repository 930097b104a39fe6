"""Faults of the relay are not bounces: messages set aside, why an address bounced, soft bounces;
the way back for databases whose bounces were the relay's fault; and the limit on
confirmation emails counted per mailbox (whatever the spelling), not per row.

Until this version, any 5xx reply marked the recipient bounced for good: a wrong password
(535), a refused sender, refused content, a size limit or a refused HELO stopped all mail to
every address that met it. Only a refusal of RCPT TO that names an address status says the
address is bad (syndicate/mail/replies.py). This migration reads the reply recorded with each
bounce (`messages.last_error` of the message that bounced, failed at the same moment) and,
where it does not say the address is bad, clears the bounce and puts that message back in
the queue, due now. The rule is copied here as it stood when it was written (a migration must
not change when the code it was written beside changes).

What cannot come back: items that were still waiting to be composed for such an address were
dropped with the bounce, and an address its owner erased after a false bounce left only its
suppression hash (no reply is kept with it); docs/email.md says so.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from syndicate.people.database import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_REPLY = re.compile(r"^\s*(\d{3})\s*(.*)$", re.DOTALL)
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_ABOUT_US = re.compile(r"relay|authenticat|sender|helo|ehlo|client host", re.IGNORECASE)
_HARD = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 6), (1, 10), (2, 1)}


def address_was_bad(reply: str | None) -> bool:
    """Whether a recorded reply ("550 5.1.1 <address>: no such mailbox") says the address
    is bad; a reply we cannot read keeps the bounce (the safe side for the sender)."""
    found = _REPLY.match(reply or "")
    if found is None:
        return True
    code, text = int(found[1]), found[2]
    if not 500 <= code < 600 or _ABOUT_US.search(text):
        return False
    status = _ENHANCED.match(text)
    if status is None:
        return code in (550, 551, 553)
    return status[1] == "5" and (int(status[2]), int(status[3])) in _HARD


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch: on SQLite a batch rebuilds the table, and dropping the
    # old one (foreign keys on) would cascade to every subscription and message. SQLite has
    # dropped columns in place since 3.35.
    op.add_column("messages", sa.Column("set_aside_at", UTCDateTime))
    op.add_column("subscribers", sa.Column("bounce_reason", sa.String(100)))
    op.add_column(
        "subscribers", sa.Column("soft_bounces", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("subscribers", sa.Column("soft_since", UTCDateTime))
    # Counted per mailbox now (mailbox_asks): a day's counts start afresh.
    op.drop_column("subscribers", "asks")
    op.drop_column("subscribers", "asks_since")
    op.create_table(
        "mailbox_asks",
        sa.Column("mailbox", sa.String(64), primary_key=True),
        sa.Column("asks", sa.Integer, nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
    )
    _clear_false_bounces(op.get_bind())


def _clear_false_bounces(connection: sa.Connection) -> None:
    meta = sa.MetaData()
    subscribers = sa.Table(
        "subscribers", meta, sa.Column("id", sa.Integer), sa.Column("bounced_at", UTCDateTime),
        sa.Column("bounce_reason", sa.String(100)),
    )  # fmt: skip
    messages = sa.Table(
        "messages", meta, sa.Column("id", sa.Integer), sa.Column("subscriber_id", sa.Integer),
        sa.Column("failed_at", UTCDateTime), sa.Column("due_at", UTCDateTime),
        sa.Column("attempts", sa.Integer), sa.Column("last_error", sa.String(300)),
        sa.Column("sent_at", UTCDateTime), sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", UTCDateTime),
    )  # fmt: skip
    now = datetime.now(UTC)
    bounced = connection.execute(
        sa.select(subscribers.c.id, subscribers.c.bounced_at).where(
            subscribers.c.bounced_at.is_not(None)
        )
    ).all()
    for subscriber_id, bounced_at in bounced:
        cause = connection.execute(
            sa.select(messages.c.id, messages.c.last_error).where(
                messages.c.subscriber_id == subscriber_id,
                messages.c.failed_at == bounced_at,
                messages.c.sent_at.is_(None),
            )
        ).first()
        if cause is None:  # forgotten since (over 30 days): keep the bounce
            connection.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(bounce_reason="bounced (recorded before version 0005)")
            )
            continue
        if address_was_bad(cause.last_error):
            connection.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(bounce_reason=f"rcpt: {cause.last_error or ''}"[:100])
            )
            continue
        connection.execute(
            sa.update(subscribers).where(subscribers.c.id == subscriber_id).values(bounced_at=None)
        )
        connection.execute(
            sa.update(messages)
            .where(messages.c.id == cause.id)
            .values(failed_at=None, due_at=now, attempts=0, claimed_by=None, claimed_until=None)
        )


def downgrade() -> None:
    op.drop_table("mailbox_asks")
    op.add_column("subscribers", sa.Column("asks", sa.Integer, nullable=False, server_default="0"))
    op.add_column("subscribers", sa.Column("asks_since", UTCDateTime))
    for column in ("soft_since", "soft_bounces", "bounce_reason"):
        op.drop_column("subscribers", column)
    op.drop_column("messages", "set_aside_at")
