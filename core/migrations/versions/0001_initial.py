"""Initial schema: handoffs, the delivery outbox, ticket links, the inbound inbox,
quarantine, dispositions and sync cursors.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Hand-written; it mirrors core/tables.py (tests/store compares the two). Constraint names
follow core.tables.NAMING_CONVENTION and are spelled out here so this file never changes
when the metadata does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("received_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_handoffs"),
        sa.CheckConstraint(
            "status IN ('received', 'delivered', 'failed')", name="ck_handoffs_status"
        ),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.String(128), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        _ts("lease_expires_at", nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name="fk_deliveries_handoff_id_handoffs"
        ),
        sa.UniqueConstraint("handoff_id", "platform", name="uq_deliveries_handoff_id_platform"),
        sa.CheckConstraint(
            "state IN ('pending', 'leased', 'delivered', 'dead')", name="ck_deliveries_state"
        ),
    )
    op.create_index(
        "ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"]
    )
    op.create_table(
        "ticket_links",
        sa.Column("handoff_id", sa.String(128), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("ticket_url", sa.String(2048), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("handoff_id", name="pk_ticket_links"),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name="fk_ticket_links_handoff_id_handoffs"
        ),
        sa.UniqueConstraint("platform", "ticket_id", name="uq_ticket_links_platform_ticket_id"),
    )
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(256), nullable=False),
        _ts("received_at"),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("processed_at", nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_events"),
        sa.UniqueConstraint("platform", "event_id", name="uq_inbound_events_platform_event_id"),
        sa.CheckConstraint(
            "state IN ('received', 'processed', 'failed')", name="ck_inbound_events_state"
        ),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        _ts("received_at"),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.String(128), nullable=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        _ts("occurred_at"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(256), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        _ts("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_dispositions"),
    )
    op.create_index("ix_dispositions_handoff_id", "dispositions", ["handoff_id"])
    op.create_index(
        "ix_dispositions_platform_ticket_id_occurred_at",
        "dispositions",
        ["platform", "ticket_id", "occurred_at"],
    )
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_sync_cursors"),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    op.drop_index("ix_dispositions_platform_ticket_id_occurred_at", table_name="dispositions")
    op.drop_index("ix_dispositions_handoff_id", table_name="dispositions")
    op.drop_table("dispositions")
    op.drop_table("quarantine")
    op.drop_table("inbound_events")
    op.drop_table("ticket_links")
    op.drop_index("ix_deliveries_state_next_attempt_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("handoffs")
