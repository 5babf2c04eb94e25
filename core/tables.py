"""The database schema (SQLAlchemy 2 typed declarative).

Every change here needs a hand-written Alembic revision in ``core/migrations/versions``;
``tests/store`` checks that the migrated schema equals this metadata.

Datetimes are stored as UTC and come back as tz-aware UTC on every backend (:class:`UTCDateTime`).
Constraint and index names follow :data:`NAMING_CONVENTION`, so migrations can name them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HANDOFF_STATUSES = ("received", "delivered", "failed")
DELIVERY_STATES = ("pending", "leased", "delivered", "dead")
INBOUND_STATES = ("received", "processed", "failed")
CALLBACK_STATES = ("pending", "leased", "delivered", "dead")
ROUTE_CHARS = 256  # a ticket link's route label (a rule name of up to 200, " (backup)")
TARGET_CHARS = 512  # a ticket link's target label ("group …, agent …")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and returned tz-aware UTC, on SQLite and PostgreSQL alike.

    Naive datetimes are refused: their meaning depends on the machine that made them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime; Baton stores tz-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite keeps no offset; store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    # Built from the constants above, never from input.
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and its naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class HandoffRow(Base):
    """One accepted handoff: the redacted JSON body and where it stands."""

    __tablename__ = "handoffs"
    __table_args__ = (CheckConstraint(_one_of("status", HANDOFF_STATUSES), name="status"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeliveryRow(Base):
    """The outbox: one row per handoff and platform, claimed by workers under a lease."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("handoff_id", "platform"),
        Index(None, "state", "next_attempt_at"),
        CheckConstraint(_one_of("state", DELIVERY_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(String(128), ForeignKey("handoffs.id"))
    platform: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TicketLinkRow(Base):
    """The ticket (or case) a handoff became; at most one per handoff and one per ticket."""

    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("platform", "ticket_id"),)

    handoff_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("handoffs.id"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(String(64))
    ticket_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime]
    # The route and target the create used, and whether that was the mapping's backup target;
    # NULL for links made before they were recorded, or when the connector could not tell.
    route: Mapped[str | None] = mapped_column(String(ROUTE_CHARS))
    target: Mapped[str | None] = mapped_column(String(TARGET_CHARS))
    backup: Mapped[bool | None] = mapped_column(Boolean)


class InboundEventRow(Base):
    """The webhook inbox. The unique (platform, event_id) decides duplicates (RELIABILITY D2)."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        CheckConstraint(_one_of("state", INBOUND_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(256))
    received_at: Mapped[datetime]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))


class QuarantineRow(Base):
    """A signed but unreadable inbound payload, kept as received (RELIABILITY A7)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    body: Mapped[bytes] = mapped_column(LargeBinary)


class DispositionRow(Base):
    """One observation of a ticket; ``data`` holds the full Disposition as JSON."""

    __tablename__ = "dispositions"
    __table_args__ = (
        # One row per observation, whatever its source: a webhook and a sync run that see the
        # same update store it once (RELIABILITY S1, D1).
        Index(None, "platform", "ticket_id", "occurred_at", "outcome", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str | None] = mapped_column(String(128), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str | None] = mapped_column(String(256))
    data: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]


class SyncCursorRow(Base):
    """Where a sync job stopped; committed with the data it covers (RELIABILITY S2)."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SyncLockRow(Base):
    """Who runs a sync job now. A lease: a killed job's lock expires, so it never blocks forever."""

    __tablename__ = "sync_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class VolumeRow(Base):
    """How many conversations the agent had on a day (on one channel, or ``""`` for all): the
    denominator of containment. One row per day and channel; a new figure replaces the old."""

    __tablename__ = "volume"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversations: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("conversations >= 0", name="conversations"),)


class CallbackRow(Base):
    """The callback outbox: one row per change of a handoff's state to tell the agent platform,
    written in the transaction that made the change; ``seq`` orders a handoff's rows, and
    ``webhook_id`` is the stable id every attempt of the row carries."""

    __tablename__ = "callbacks"
    __table_args__ = (
        UniqueConstraint("handoff_id", "seq"),
        UniqueConstraint("webhook_id"),
        Index(None, "state", "next_attempt_at"),
        CheckConstraint(_one_of("state", CALLBACK_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(String(128), ForeignKey("handoffs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ReplyRow(Base):
    """A person's public reply on a ticket Baton made, redacted and fitted (``core.replies``).
    The unique (platform, ticket_id, reply_id) makes recording one idempotent, whichever of a
    webhook and a sync run sees it first."""

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("platform", "ticket_id", "reply_id"),
        Index(None, "handoff_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(String(128), ForeignKey("handoffs.id"))
    platform: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(String(64))
    reply_id: Mapped[str] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class RateBudgetRow(Base):
    """One platform account's shared token bucket (``core.budget``): every process that talks
    to the account takes its tokens here. Times are seconds on the processes' wall clock."""

    __tablename__ = "rate_budgets"

    account: Mapped[str] = mapped_column(String(300), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[float] = mapped_column(Float)
    paused_until: Mapped[float] = mapped_column(Float)


class PlatformPauseRow(Base):
    """A platform refused Baton's credentials (401/403): no process delivers to it before
    ``until`` (``core.delivery``); ``baton deliveries`` shows it with its reason."""

    __tablename__ = "platform_pauses"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    paused_at: Mapped[datetime]
