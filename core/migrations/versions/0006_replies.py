"""Public replies: a person's public reply on a ticket Baton made, told once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

``replies``: one row per (platform, ticket_id, reply_id), whichever of a webhook and a sync
run saw it first; the body is stored redacted. Its ``ticket.replied`` callback is written in
the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.String(128), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("reply_id", sa.String(64), nullable=False),
        sa.Column("author", sa.String(256), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name="fk_replies_handoff_id_handoffs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
        sa.UniqueConstraint(
            "platform", "ticket_id", "reply_id", name="uq_replies_platform_ticket_id_reply_id"
        ),
    )
    op.create_index("ix_replies_handoff_id_created_at", "replies", ["handoff_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_replies_handoff_id_created_at", table_name="replies")
    op.drop_table("replies")
