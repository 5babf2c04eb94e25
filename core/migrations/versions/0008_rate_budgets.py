"""Shared rate budgets and platform pauses.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

``rate_budgets``: one token bucket per platform account, shared by every process
(``core.budget``). ``platform_pauses``: a platform that refused Baton's credentials, paused
for every worker until ``until``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_budgets",
        sa.Column("account", sa.String(300), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_rate_budgets"),
    )
    op.create_table(
        "platform_pauses",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", name="pk_platform_pauses"),
    )


def downgrade() -> None:
    op.drop_table("platform_pauses")
    op.drop_table("rate_budgets")
