"""Sync locks, and one disposition row per observation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-15

``sync_locks`` keeps two runs of one sync job from overlapping (a lease that expires).
A unique index on dispositions (platform, ticket_id, occurred_at, outcome) makes applying an
observation idempotent whatever its source; duplicates stored before it keep their first row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OBSERVATION_INDEX = "ix_dispositions_platform_ticket_id_occurred_at_outcome"


def upgrade() -> None:
    op.execute(
        "DELETE FROM dispositions WHERE id NOT IN ("
        "SELECT MIN(id) FROM dispositions GROUP BY platform, ticket_id, occurred_at, outcome)"
    )
    op.create_index(
        _OBSERVATION_INDEX,
        "dispositions",
        ["platform", "ticket_id", "occurred_at", "outcome"],
        unique=True,
    )
    op.create_table(
        "sync_locks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sync_locks"),
    )


def downgrade() -> None:
    op.drop_table("sync_locks")
    op.drop_index(_OBSERVATION_INDEX, table_name="dispositions")
