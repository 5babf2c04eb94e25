"""The agent's conversation volume per day and channel, for containment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

``volume``: one row per (day, channel), ``channel`` ``""`` for a figure over all channels;
``conversations`` is never negative.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "volume",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("conversations >= 0", name="ck_volume_conversations"),
        sa.PrimaryKeyConstraint("day", "channel", name="pk_volume"),
    )


def downgrade() -> None:
    op.drop_table("volume")
