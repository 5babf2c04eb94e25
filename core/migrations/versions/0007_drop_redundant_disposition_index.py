"""Drop the dispositions index that the unique observation index already covers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

``ix_dispositions_platform_ticket_id_occurred_at`` is a prefix of the unique
``ix_dispositions_platform_ticket_id_occurred_at_outcome`` (0002): every query it served, the
longer one serves, and each insert paid for both.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REDUNDANT = "ix_dispositions_platform_ticket_id_occurred_at"


def upgrade() -> None:
    op.drop_index(_REDUNDANT, table_name="dispositions")


def downgrade() -> None:
    op.create_index(_REDUNDANT, "dispositions", ["platform", "ticket_id", "occurred_at"])
