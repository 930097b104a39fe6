"""Email updates: subscribers, subscriptions, what was announced, the outbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

from syndicate.people.database import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = op.create_table(
        "settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    # The key that signs the links in emails, made once for every machine sharing the
    # database (a link made by one is checked by another).
    op.bulk_insert(settings, [{"name": "link_key", "value": secrets.token_hex(32)}])
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_at", UTCDateTime),
        sa.Column("bounced_at", UTCDateTime),
        sa.Column("token_key", sa.String(32), nullable=False),
        sa.Column("asks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("asks_since", UTCDateTime),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_at", UTCDateTime),
        sa.Column("nonce", sa.String(32)),
        sa.UniqueConstraint("subscriber_id", "topic", "type"),
    )
    op.create_table(
        "announced",
        sa.Column("item_id", sa.String(120), primary_key=True),
        sa.Column("live_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("failed_at", UTCDateTime),
        sa.Column("last_error", sa.String(300)),
        sa.Column("detail", sa.Text),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", UTCDateTime),
    )
    op.create_table(
        "pending",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("item_id", sa.String(120), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("live_at", UTCDateTime, nullable=False),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.UniqueConstraint("subscriber_id", "item_id"),
    )
    op.create_index("pending_unassigned", "pending", ["message_id", "frequency"])
    op.create_table(
        "suppressed",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
