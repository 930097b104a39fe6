"""Sign-in limits every worker shares: /stats/ sign-ins of the last 15 minutes.

Until this version each worker counted sign-ins in its own memory, so a pool of three took
three times the documented number of wrong passwords. A row is a keyed hash of the client's
address, when, and whether the password was wrong; rows older than the window are deleted as
new ones come.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndicate.people.database import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("failed", sa.Boolean, nullable=False),
    )
    op.create_index("ix_sign_in_attempts_at", "sign_in_attempts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempts_at", "sign_in_attempts")
    op.drop_table("sign_in_attempts")
