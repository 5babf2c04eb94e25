"""The callback outbox: each change of a handoff's state, to POST to the agent platform.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

``callbacks``: one row per event, ordered per handoff by ``seq``; ``webhook_id`` is stable
across attempts; claimed by the callback sender under a lease, like ``deliveries``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'leased', 'delivered', 'dead')", name="ck_callbacks_state"
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name="fk_callbacks_handoff_id_handoffs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
        sa.UniqueConstraint("handoff_id", "seq", name="uq_callbacks_handoff_id_seq"),
        sa.UniqueConstraint("webhook_id", name="uq_callbacks_webhook_id"),
    )
    op.create_index("ix_callbacks_state_next_attempt_at", "callbacks", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_state_next_attempt_at", table_name="callbacks")
    op.drop_table("callbacks")
