"""Following topics from the fediverse: the signing key, followers, what they were told of
each item, and the activities to deliver to their inboxes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndicate.people.database import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keys",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "followers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("follower", sa.String(500), nullable=False),
        sa.Column("inbox", sa.String(500), nullable=False),
        sa.Column("shared_inbox", sa.String(500)),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("follow_id", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("actor", "follower"),
    )
    op.create_index("followers_by_follower", "followers", ["follower"])
    op.create_table(
        "posts",
        sa.Column("item_id", sa.String(120), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("told_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uri", sa.String(500), nullable=False, unique=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "activity_id",
            sa.Integer,
            sa.ForeignKey("activities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("inbox", sa.String(500), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("failed_at", UTCDateTime),
        sa.Column("last_error", sa.String(300)),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", UTCDateTime),
        sa.UniqueConstraint("activity_id", "inbox"),
    )
    op.create_index("deliveries_due", "deliveries", ["delivered_at", "failed_at", "due_at"])


def downgrade() -> None:
    for table in ("deliveries", "activities", "posts", "followers", "keys"):
        op.drop_table(table)
