"""The store: handoffs, the delivery outbox, ticket links, the inbox, dispositions, public
replies, cursors and sync locks.

One SQLAlchemy engine per :class:`Store`. SQLite (the embedded default) runs in WAL mode with
foreign keys on and a 30 s busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so that writers queue up front instead of failing to upgrade a read lock.
PostgreSQL (scale-out) claims outbox rows with ``SELECT … FOR UPDATE SKIP LOCKED``.

Duplicates are decided by the database's own keys (primary key of ``handoffs``, unique
``(platform, event_id)`` of ``inbound_events``), never by check-then-insert (RELIABILITY D2).

An outbox row's ``attempts`` counts the platform calls made for it, each committed before the
call is made:

==========================  ==========================================================
:meth:`claim_deliveries`    leases due rows; counts nothing
:meth:`count_attempt`       +1, in its own transaction, just before each platform call
:meth:`release_delivery`    gives the lease back; ``refund=True`` takes back one attempt
                            (a call the platform refused with 401/403)
:meth:`requeue`             a dead row back to 0
==========================  ==========================================================

So a worker that dies after claiming a batch costs the rows it never tried nothing, and one
that dies during a call leaves that call counted (the next try looks for its ticket first).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import ColumnElement, and_, create_engine, event, func, or_, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from baton.core.budget import stop_sharing_budgets
from baton.core.callbacks import changes, ticket_created
from baton.core.disposition import Disposition, latest
from baton.core.errors import BatonError, ConfigError, IdempotencyConflict
from baton.core.handoff import Handoff, comparison_digest, load_stored_handoff
from baton.core.settings import DATABASE_URL_ENV, database_url, masked_url, normalize_database_url
from baton.core.store_budget import BudgetTables
from baton.core.store_callbacks import CallbackTables
from baton.core.store_inbox import InboxTables
from baton.core.store_replies import ReplyTables
from baton.core.tables import (
    ROUTE_CHARS,
    TARGET_CHARS,
    Base,
    DeliveryRow,
    DispositionRow,
    HandoffRow,
    SyncCursorRow,
    SyncLockRow,
    TicketLinkRow,
)
from baton.core.times import utcnow

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_MAX_ERROR_CHARS = 500
_READONLY_OPTION = "baton_readonly"
_MIGRATION_LOCK_ID = 0x6261746F6E  # "baton"; serializes concurrent migrate() on PostgreSQL


UNSTORABLE_ERRORS: tuple[type[BaseException], ...] = (DataError, UnicodeError)
"""The database refused the input itself (PostgreSQL's data exceptions, such as a NUL in text;
a driver that cannot encode a lone surrogate): retrying cannot help, so never a 503. Catch these
before the store's other errors, which include DataError."""


class LeaseLost(BatonError):
    """The caller no longer holds the lease on a delivery (it expired and was re-claimed, or
    the delivery was already finished). Its outcome must not be recorded."""


@dataclass(frozen=True)
class AddResult:
    """What :meth:`Store.add_handoff` did: ``created`` a new handoff, or found the same id with
    the same body (neither flag) or with another body (``conflict``)."""

    created: bool
    conflict: bool


@dataclass(frozen=True)
class ClaimedDelivery:
    """An outbox row leased to one worker, with the redacted handoff JSON to deliver.

    ``attempts`` is the number of platform calls counted for it before this claim.
    """

    delivery_id: int
    handoff_id: str
    platform: str
    attempts: int
    body: str


@dataclass(frozen=True)
class DeliveryView:
    """A read-only snapshot of one outbox row (for ``baton deliveries``)."""

    id: int
    handoff_id: str
    platform: str
    state: str
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TicketLink:
    """The ticket (or case) a handoff became, and the route and target its create used
    (``backup``: the mapping's backup target); those three are None when not recorded."""

    handoff_id: str
    platform: str
    ticket_id: str
    ticket_url: str | None
    created_at: datetime
    route: str | None = None
    target: str | None = None
    backup: bool | None = None


@dataclass(frozen=True)
class SyncLock:
    """Who holds a sync job's lock, and until when."""

    name: str
    owner: str
    acquired_at: datetime
    expires_at: datetime


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the bundled migrations; no alembic.ini needed.

    With ``connection``, migrations run inside that connection's transaction.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout; SQLAlchemy emits BEGIN (IMMEDIATE for writers)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver no longer emits BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        readonly = connection.get_execution_options().get(_READONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime; pass a tz-aware datetime")
    return value


def _short(error: str) -> str:
    return error[:_MAX_ERROR_CHARS]


def _claimable(now: datetime) -> ColumnElement[bool]:
    due = and_(DeliveryRow.state == "pending", DeliveryRow.next_attempt_at <= now)
    expired = and_(DeliveryRow.state == "leased", DeliveryRow.lease_expires_at < now)
    return or_(due, expired)


def _release(row: DeliveryRow, state: str, error: str | None = None) -> None:
    row.state = state
    row.lease_owner = None
    row.lease_expires_at = None
    row.updated_at = utcnow()
    if error is not None:
        row.last_error = _short(error)


class Store(ReplyTables, InboxTables, CallbackTables, BudgetTables):
    """Baton's database. Thread-safe: share one per process."""

    def __init__(self, url: str | None = None, **engine_kwargs: Any) -> None:
        """Open (lazily) the database at ``url`` (default: ``BATON_DATABASE_URL``).

        ``engine_kwargs`` go to :func:`sqlalchemy.create_engine` (e.g. ``connect_args``).
        """
        self._url = normalize_database_url(url) if url else database_url()
        try:
            parsed = make_url(self._url)
        except ArgumentError:
            raise ConfigError(f"{DATABASE_URL_ENV}: not a valid database URL") from None
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            engine_kwargs.setdefault("pool_pre_ping", True)
        # Error messages must not quote bound parameters: they hold handoff and webhook bodies.
        engine_kwargs.setdefault("hide_parameters", True)
        self.engine: Engine = create_engine(parsed, **engine_kwargs)
        if backend == "sqlite":
            _configure_sqlite(self.engine)
        self._writers = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue here, in order, rather
        # than sleep in SQLite's busy handler, whose coarse, growing naps make a long tail;
        # other processes still meet the busy timeout.
        self._write_turn: AbstractContextManager[object] = (
            threading.RLock() if backend == "sqlite" else nullcontext()
        )
        readonly_engine = self.engine.execution_options(**{_READONLY_OPTION: True})
        self._readers = sessionmaker(readonly_engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({masked_url(self._url)!r})"

    def close(self) -> None:
        """Close every pooled connection (and stop sharing rate budgets through this store)."""
        stop_sharing_budgets(self)
        self.engine.dispose()

    def migrate(self) -> None:
        """Upgrade the schema to the newest bundled migration. Idempotent."""
        log.info("migrating %s", masked_url(self._url))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID)))
            command.upgrade(alembic_config(connection), "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A Session in a write transaction: committed on exit, rolled back on an exception."""
        with self._write_turn, self._writers.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A Session for reads only: on SQLite a plain (deferred) BEGIN, so it never waits for
        a writer; write through :meth:`session`."""
        with self._readers.begin() as session:
            yield session

    @contextmanager
    def _writing(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.session() as own:
                yield own

    # --- handoffs and the outbox -------------------------------------------------------

    def add_handoff(self, handoff: Handoff, platform: str) -> AddResult:
        """Store a handoff and its pending delivery in one transaction (RELIABILITY O4).

        A repeated id writes nothing: the same handoff (equal :func:`comparison_digest`, which
        leaves out the fields a retrying client regenerates) → not created; another → conflict.
        The primary key decides between concurrent duplicates.
        """
        body = handoff.model_dump_json()
        digest = comparison_digest(handoff)
        now = utcnow()
        try:
            with self.session() as session:
                session.add(
                    HandoffRow(
                        id=handoff.id,
                        platform=platform,
                        body=body,
                        body_sha256=digest,
                        status="received",
                        received_at=now,
                        updated_at=now,
                    )
                )
                session.flush()  # the handoff first: the delivery's foreign key needs it
                session.add(DeliveryRow(**_new_delivery(handoff.id, platform, now)))
        except IntegrityError:
            existing = self._handoff_digest(handoff.id)
            if existing is None:
                raise
            return AddResult(created=False, conflict=existing != digest)
        return AddResult(created=True, conflict=False)

    def _handoff_digest(self, handoff_id: str) -> str | None:
        with self.reading() as session:
            stmt = select(HandoffRow.body).where(HandoffRow.id == handoff_id)
            body = session.scalars(stmt).one_or_none()
        # Recomputed from the stored body rather than read from body_sha256, so rows stored
        # before the comparison rule last changed are compared by today's rule.
        return None if body is None else comparison_digest(load_stored_handoff(body))

    def claim_deliveries(
        self,
        owner: str,
        *,
        limit: int = 10,
        lease_seconds: float = 60,
        now: datetime | None = None,
        platforms: Collection[str] | None = None,
        handoff_ids: Collection[str] | None = None,
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries to ``owner``: pending rows whose time has come
        and leased rows whose lease expired (a crashed worker's). Claiming counts no attempt:
        :meth:`count_attempt` does, for each platform call actually made.

        ``platforms`` limits the claim to those platforms, ``handoff_ids`` to those handoffs'
        deliveries (an empty collection claims nothing).
        """
        now = _aware(now)
        if (platforms is not None and not platforms) or (
            handoff_ids is not None and not handoff_ids
        ):
            return []
        expires = now + timedelta(seconds=lease_seconds)
        stmt = (
            select(DeliveryRow, HandoffRow.body)
            .join(HandoffRow, DeliveryRow.handoff_id == HandoffRow.id)
            .where(_claimable(now))
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            .limit(limit)
            # PostgreSQL: concurrent workers skip each other's rows. SQLite renders no
            # FOR UPDATE; BEGIN IMMEDIATE already makes this transaction the only writer.
            .with_for_update(skip_locked=True, of=DeliveryRow)
        )
        if platforms is not None:
            stmt = stmt.where(DeliveryRow.platform.in_(sorted(platforms)))
        if handoff_ids is not None:
            stmt = stmt.where(DeliveryRow.handoff_id.in_(sorted(handoff_ids)))
        claimed = []
        with self.session() as session:
            for row, body in session.execute(stmt):
                row.state = "leased"
                row.lease_owner = owner
                row.lease_expires_at = expires
                row.updated_at = utcnow()
                claimed.append(
                    ClaimedDelivery(row.id, row.handoff_id, row.platform, row.attempts, body)
                )
        return claimed

    def _leased(self, session: Session, delivery_id: int, owner: str) -> DeliveryRow:
        stmt = select(DeliveryRow).where(DeliveryRow.id == delivery_id).with_for_update()
        row = session.scalars(stmt).one_or_none()
        if row is None or row.state != "leased" or row.lease_owner != owner:
            raise LeaseLost(f"delivery {delivery_id}: the lease is no longer held by this worker")
        return row

    def count_attempt(self, delivery_id: int, owner: str) -> int:
        """Count one more platform call for a leased delivery; the new count.

        Commits on its own, before the caller makes the call, so that a crash during the call
        leaves it counted and the next try looks for the ticket it may have made (O1).
        Raises :class:`LeaseLost` (and counts nothing) if ``owner`` no longer holds the lease.
        """
        with self.session() as session:
            row = self._leased(session, delivery_id, owner)
            row.attempts += 1
            row.updated_at = utcnow()
            return row.attempts

    def complete_delivery(
        self,
        delivery_id: int,
        owner: str,
        *,
        ticket_id: str,
        ticket_url: str | None,
        route: str | None = None,
        target: str | None = None,
        backup: bool | None = None,
    ) -> None:
        """Record the ticket a delivery made: link, delivery and handoff in one transaction.

        ``route`` and ``target`` label where the create sent the ticket (cut to their columns'
        sizes), ``backup`` whether that was the mapping's backup target.
        Raises :class:`LeaseLost` if ``owner`` no longer holds the lease, and
        :class:`IdempotencyConflict` if the handoff or the ticket is already linked elsewhere.
        """
        with self.session() as session:
            row = self._leased(session, delivery_id, owner)
            handoff_id, platform = row.handoff_id, row.platform
            _link(session, row, ticket_id, ticket_url, _Routed(route, target, backup))
            _release(row, "delivered")
            _set_handoff_status(session, handoff_id, "delivered")
            created = ticket_created(handoff_id, platform, ticket_id, ticket_url, utcnow())
            self.enqueue_callbacks(session, [created])

    def retry_delivery_later(
        self, delivery_id: int, owner: str, *, error: str, at: datetime
    ) -> None:
        """Give the lease back and make the delivery due again at ``at``.

        ``error`` is a short code and message without secrets; it is cut to 500 characters.
        """
        at = _aware(at)
        with self.session() as session:
            row = self._leased(session, delivery_id, owner)
            _release(row, "pending", error)
            row.next_attempt_at = at

    def release_delivery(
        self,
        delivery_id: int,
        owner: str,
        *,
        at: datetime,
        error: str | None = None,
        refund: bool = False,
    ) -> None:
        """Give the lease back, due again at ``at``, leaving its attempts as they are.

        For a delivery held up by a configuration problem (its platform refused Baton's
        credentials), so that fixing the configuration does not cost the handoff attempts.
        ``refund=True`` also takes back the attempt counted for the call that was refused.
        """
        at = _aware(at)
        with self.session() as session:
            row = self._leased(session, delivery_id, owner)
            _release(row, "pending", error)
            row.next_attempt_at = at
            if refund:
                row.attempts = max(0, row.attempts - 1)

    def dead_letter(self, delivery_id: int, owner: str, *, error: str) -> None:
        """Give up on a delivery: state ``dead``, its handoff ``failed``."""
        with self.session() as session:
            row = self._leased(session, delivery_id, owner)
            _release(row, "dead", error)
            _set_handoff_status(session, row.handoff_id, "failed")

    def requeue(self, delivery_id: int) -> bool:
        """Put a dead delivery back in the queue, due now, with its attempts reset.

        Returns False (and changes nothing) when the delivery does not exist or is not dead.
        """
        with self.session() as session:
            row = session.get(DeliveryRow, delivery_id, with_for_update=True)
            if row is None or row.state != "dead":
                return False
            _release(row, "pending")
            row.attempts = 0
            row.next_attempt_at = utcnow()
            _set_handoff_status(session, row.handoff_id, "received")
            return True

    def get_delivery(self, delivery_id: int) -> DeliveryView | None:
        """One delivery, or None when there is no such id."""
        with self.reading() as session:
            row = session.get(DeliveryRow, delivery_id)
            return None if row is None else _delivery_view(row)

    def oldest_handoff_at(self, platform: str | None = None) -> datetime | None:
        """When the oldest handoff (for ``platform``, or any) was received; None if none was."""
        stmt = select(func.min(HandoffRow.received_at))
        if platform is not None:
            stmt = stmt.where(HandoffRow.platform == platform)
        with self.reading() as session:
            return session.scalar(stmt)

    def list_deliveries(self, state: str | None = None) -> list[DeliveryView]:
        """Every delivery (or those in ``state``), oldest first."""
        stmt = select(DeliveryRow).order_by(DeliveryRow.id)
        if state is not None:
            stmt = stmt.where(DeliveryRow.state == state)
        with self.reading() as session:
            return [_delivery_view(row) for row in session.scalars(stmt)]

    # --- ticket links -------------------------------------------------------------------

    def ticket_link(self, handoff_id: str) -> TicketLink | None:
        """The ticket a handoff became, if it has been delivered."""
        with self.reading() as session:
            row = session.get(TicketLinkRow, handoff_id)
            if row is None:
                return None
            return TicketLink(
                row.handoff_id,
                row.platform,
                row.ticket_id,
                row.ticket_url,
                row.created_at,
                route=row.route,
                target=row.target,
                backup=row.backup,
            )

    def with_handoff(self, d: Disposition, *, session: Session) -> Disposition:
        """``d`` linked to the handoff its ticket was made for, when it names none and Baton
        made the ticket (the one place webhooks and sync link an observation)."""
        if d.handoff_id is not None:
            return d
        handoff_id = self.handoff_for_ticket(d.platform, d.ticket_id, session=session)
        return d if handoff_id is None else d.model_copy(update={"handoff_id": handoff_id})

    def handoff_for_ticket(
        self, platform: str, ticket_id: str, *, session: Session | None = None
    ) -> str | None:
        """The handoff id a platform's ticket was made for, if Baton made it.

        Pass ``session`` to read inside the caller's transaction.
        """
        stmt = select(TicketLinkRow.handoff_id).where(
            TicketLinkRow.platform == platform, TicketLinkRow.ticket_id == ticket_id
        )
        if session is not None:
            return session.scalars(stmt).one_or_none()
        with self.reading() as own:
            return own.scalars(stmt).one_or_none()

    # --- dispositions -------------------------------------------------------------------

    def add_disposition(self, d: Disposition, *, session: Session | None = None) -> bool:
        """Append one observation to the history. Pass ``session`` to commit it together with
        other work (a sync job's cursor, S2); otherwise it commits on its own.

        Returns True when stored, False when the same observation (platform, ticket_id,
        occurred_at, outcome — whatever its source) already was. The unique index decides, in
        a savepoint, so concurrent writers of one observation store one row (S1).
        """
        row = DispositionRow(
            handoff_id=d.handoff_id,
            platform=d.platform,
            ticket_id=d.ticket_id,
            outcome=d.outcome,
            occurred_at=d.occurred_at,
            source=d.source,
            event_id=d.event_id,
            data=d.model_dump_json(),
            recorded_at=utcnow(),
        )
        with self._writing(session) as s:
            before = self._current_in(s, d.handoff_id) if self.callbacks_enabled else None
            try:
                with s.begin_nested():
                    s.add(row)
            except IntegrityError:
                _enrich(s, d)
                return False
            if self.callbacks_enabled and (before is None or d.occurred_at >= before.occurred_at):
                self.enqueue_callbacks(s, changes(before, d))
        return True

    def _current_in(self, session: Session, handoff_id: str | None) -> Disposition | None:
        """The handoff's current disposition as the caller's transaction sees it."""
        if handoff_id is None:
            return None
        stmt = select(DispositionRow.data).where(DispositionRow.handoff_id == handoff_id)
        return latest(Disposition.model_validate_json(data) for data in session.scalars(stmt))

    def dispositions(self, handoff_id: str) -> list[Disposition]:
        """A handoff's history, ordered by the platform's timestamp (then arrival)."""
        stmt = (
            select(DispositionRow.data)
            .where(DispositionRow.handoff_id == handoff_id)
            .order_by(DispositionRow.occurred_at, DispositionRow.id)
        )
        with self.reading() as session:
            # A row linked after the fact (backfilled) has the id in its column only.
            return [
                Disposition.model_validate_json(data).model_copy(update={"handoff_id": handoff_id})
                for data in session.scalars(stmt)
            ]

    def current_disposition(self, handoff_id: str) -> Disposition | None:
        """The newest observation by the platform's own timestamp, never by arrival (D4)."""
        return latest(self.dispositions(handoff_id))

    # --- sync cursors -------------------------------------------------------------------

    def get_cursor(self, session: Session, name: str) -> str | None:
        """A sync job's cursor, read in the caller's session."""
        row = session.get(SyncCursorRow, name)
        return None if row is None else row.cursor

    def set_cursor(self, session: Session, name: str, value: str) -> None:
        """Move a sync job's cursor in the caller's session, so it commits with the data it
        covers or not at all (RELIABILITY S2)."""
        row = session.get(SyncCursorRow, name)
        if row is None:
            session.add(SyncCursorRow(name=name, cursor=value, updated_at=utcnow()))
        else:
            row.cursor = value
            row.updated_at = utcnow()

    # --- sync locks ---------------------------------------------------------------------

    def acquire_sync_lock(
        self, name: str, owner: str, *, seconds: float, now: datetime | None = None
    ) -> SyncLock:
        """Take the lock of sync job ``name`` for ``seconds``, or take over an expired one.

        Returns the lock as it stands afterwards: the caller holds it iff ``lock.owner ==
        owner``. Never waits for a run that is committing a page (its row is locked on
        PostgreSQL: that run holds the lock). The primary key decides between first takers.
        """
        now = _aware(now)
        expires = now + timedelta(seconds=seconds)
        by_name = select(SyncLockRow).where(SyncLockRow.name == name)
        for _ in range(3):
            try:
                with self.session() as session:
                    row = session.scalars(by_name.with_for_update(skip_locked=True)).one_or_none()
                    if row is None:
                        busy = session.scalars(by_name).one_or_none()
                        if busy is not None:  # locked by a run inside a page transaction
                            return _sync_lock(busy)
                        row = SyncLockRow(
                            name=name, owner=owner, acquired_at=now, expires_at=expires
                        )
                        session.add(row)
                        session.flush()
                    elif row.owner == owner or row.expires_at <= now:
                        if row.owner != owner:
                            log.warning(
                                "sync %s: taking over the expired lock of %s", name, row.owner
                            )
                            row.acquired_at = now
                        row.owner = owner
                        row.expires_at = expires
                    return _sync_lock(row)
            except IntegrityError:
                holder = self.sync_lock(name)
                if holder is not None:
                    return holder
                # released between our insert and this read: try again
        raise BatonError(f"sync {name}: the lock keeps changing hands; try again")

    def renew_sync_lock(
        self,
        session: Session,
        name: str,
        owner: str,
        *,
        seconds: float,
        now: datetime | None = None,
    ) -> bool:
        """Extend ``owner``'s lock in the caller's session, so the work committed with it is
        fenced: False (and nothing changed) when ``owner`` no longer holds the lock."""
        row = session.get(SyncLockRow, name, with_for_update=True)
        if row is None or row.owner != owner:
            return False
        row.expires_at = _aware(now) + timedelta(seconds=seconds)
        return True

    def release_sync_lock(self, name: str, owner: str) -> None:
        """Give the lock back, if ``owner`` still holds it."""
        with self.session() as session:
            row = session.get(SyncLockRow, name, with_for_update=True)
            if row is not None and row.owner == owner:
                session.delete(row)

    def sync_lock(self, name: str) -> SyncLock | None:
        """Who holds sync job ``name``'s lock (possibly expired), if anyone."""
        with self.reading() as session:
            row = session.get(SyncLockRow, name)
            return None if row is None else _sync_lock(row)

    # --- diagnostics --------------------------------------------------------------------

    def table_counts(self) -> dict[str, int]:
        """Rows per table, e.g. to prove that a rejected request stored nothing."""
        with self.reading() as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
            }


def _new_delivery(handoff_id: str, platform: str, now: datetime) -> dict[str, Any]:
    return {
        "handoff_id": handoff_id,
        "platform": platform,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


@dataclass(frozen=True)
class _Routed:
    """Where a ticket's create sent it, as the ticket link records it."""

    route: str | None
    target: str | None
    backup: bool | None


def _link(
    session: Session,
    row: DeliveryRow,
    ticket_id: str,
    ticket_url: str | None,
    routed: _Routed,
) -> None:
    handoff_id, platform = row.handoff_id, row.platform  # a failed flush expires `row`
    existing = session.get(TicketLinkRow, handoff_id)
    if existing is not None:
        if (existing.platform, existing.ticket_id) != (platform, ticket_id):
            raise IdempotencyConflict(
                f"handoff {handoff_id} is already linked to another ticket", platform=platform
            )
        return
    session.add(
        TicketLinkRow(
            handoff_id=handoff_id,
            platform=platform,
            ticket_id=ticket_id,
            ticket_url=ticket_url,
            created_at=utcnow(),
            route=None if routed.route is None else routed.route[:ROUTE_CHARS],
            target=None if routed.target is None else routed.target[:TARGET_CHARS],
            backup=routed.backup,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise IdempotencyConflict(
            f"ticket {ticket_id} is already linked to another handoff", platform=platform
        ) from None
    # A webhook about the ticket may have been processed before this link existed.
    session.execute(
        update(DispositionRow)
        .where(
            DispositionRow.platform == platform,
            DispositionRow.ticket_id == ticket_id,
            DispositionRow.handoff_id.is_(None),
        )
        .values(handoff_id=handoff_id)
    )


_MEASURES = (
    "first_response_seconds",
    "resolution_seconds",
    "reopen_count",
    "transfer_count",
    "public_replies",
    "csat",
    "csat_raw",
)


def _enrich(session: Session, d: Disposition) -> None:
    """Fill measures the stored copy of this observation lacks (a webhook saw the change, a
    sync run later read its metrics and CSAT): still one observation, now complete."""
    stmt = select(DispositionRow).where(
        DispositionRow.platform == d.platform,
        DispositionRow.ticket_id == d.ticket_id,
        DispositionRow.occurred_at == d.occurred_at,
        DispositionRow.outcome == d.outcome,
    )
    stored = session.scalars(stmt).one_or_none()
    if stored is None:
        return
    known = Disposition.model_validate_json(stored.data)
    missing = {
        name: getattr(d, name)
        for name in _MEASURES
        if _measured(getattr(d, name), name) and not _measured(getattr(known, name), name)
    }
    if missing:
        stored.data = known.model_copy(update=missing).model_dump_json()


def _measured(value: object, name: str) -> bool:
    # Counts default to 0, so 0 says nothing; a CSAT of 0.0 is a real (bad) rating.
    return value is not None and not (name.endswith("_count") and value == 0)


def _set_handoff_status(session: Session, handoff_id: str, status: str) -> None:
    handoff = session.get_one(HandoffRow, handoff_id)
    handoff.status = status
    handoff.updated_at = utcnow()


def _sync_lock(row: SyncLockRow) -> SyncLock:
    return SyncLock(row.name, row.owner, row.acquired_at, row.expires_at)


def _delivery_view(row: DeliveryRow) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        handoff_id=row.handoff_id,
        platform=row.platform,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
