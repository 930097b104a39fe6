"""Messages found by subscriber: composing matches each pending item to its subscriber's new
message, and erasing a subscriber deletes their messages; both scanned the whole outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("messages_by_subscriber", "messages", ["subscriber_id", "kind"])


def downgrade() -> None:
    op.drop_index("messages_by_subscriber", table_name="messages")
