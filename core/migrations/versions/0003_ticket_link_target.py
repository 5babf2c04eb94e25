"""The route and target a ticket's create used, on its ticket link.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

``route`` (the routing rule's name, ``"<rule> (backup)"`` on the backup target), ``target``
(its label, e.g. ``"group General Support"``) and ``backup`` (whether the mapping's backup
target was used, after the platform refused the chosen one). All nullable: links made before
this revision keep NULL, as do links whose connector could not tell.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_links") as batch:
        batch.add_column(sa.Column("route", sa.String(256), nullable=True))
        batch.add_column(sa.Column("target", sa.String(512), nullable=True))
        batch.add_column(sa.Column("backup", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_links") as batch:
        batch.drop_column("backup")
        batch.drop_column("target")
        batch.drop_column("route")
