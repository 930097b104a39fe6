"""Reach: counts per feed and day, today's poller hashes, operators' sessions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndicate.people.database import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reach_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("path", sa.String(300), primary_key=True),
        sa.Column("measure", sa.String(20), primary_key=True),
        sa.Column("detail", sa.String(200), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "reach_pollers",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("path", sa.String(300), primary_key=True),
        sa.Column("hash", sa.String(32), primary_key=True),
        sa.Column("family", sa.String(40), nullable=False),
    )
    op.create_table(
        "admin_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("admin_sessions")
    op.drop_table("reach_pollers")
    op.drop_table("reach_daily")
