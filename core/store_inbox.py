"""The store's webhook inbox and quarantine: recording, claiming, applying and pruning.

A mixin of :class:`~baton.core.store.Store`, kept apart so each file stays readable. The
unique ``(platform, event_id)`` decides duplicates (RELIABILITY D2); a claimed batch is one
short transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas never take the same
rows, and each event's disposition commits together with its ``processed`` state (D1).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baton.core.disposition import Disposition
from baton.core.errors import BatonError
from baton.core.storable import storable
from baton.core.tables import InboundEventRow, QuarantineRow, utcnow

_MAX_REASON_CHARS = 500
PRUNE_CHUNK = 500  # processed events deleted per transaction
_MAX_EVENT_ERROR_CHARS = 200


@dataclass(frozen=True)
class InboxEntry:
    """A recorded webhook event as the inbox processor gets it."""

    platform: str
    event_id: str
    body: bytes


@dataclass(frozen=True)
class InboxOutcome:
    """What became of one claimed event: ``processed``, ``unlinked`` (processed, about a ticket
    no handoff is linked to: one Baton did not make, or whose link is not committed yet) or
    ``failed`` (with a short error)."""

    platform: str
    event_id: str
    result: str
    error: str | None = None


def short_error(exc: BaseException) -> str:
    """An error as the inbox stores it: Baton's own errors (written without payload text) with
    their message, anything else by its class; always storable (K5)."""
    if isinstance(exc, BatonError):
        return storable(f"{type(exc).__name__}: {exc}"[:_MAX_EVENT_ERROR_CHARS])
    return type(exc).__name__


class InboxTables:
    """Inbox and quarantine operations; :class:`Store` provides the sessions."""

    def session(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        """A write transaction (provided by Store)."""
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        """A read transaction (provided by Store)."""
        raise NotImplementedError

    def add_disposition(self, d: Disposition, *, session: Session | None = None) -> bool:
        """Provided by Store."""
        raise NotImplementedError  # pragma: no cover

    def with_handoff(self, d: Disposition, *, session: Session) -> Disposition:
        """Provided by Store."""
        raise NotImplementedError  # pragma: no cover

    def record_inbound_event(self, platform: str, event_id: str, body: bytes) -> bool:
        """Put a verified webhook event in the inbox, in its own transaction.

        True when new; False when ``(platform, event_id)`` was already there. The unique
        constraint decides, so concurrent deliveries of one event store one row (D2).
        """
        try:
            with self.session() as session:
                session.add(
                    InboundEventRow(
                        platform=platform,
                        event_id=event_id,
                        received_at=utcnow(),
                        body=body,
                        state="received",
                    )
                )
        except IntegrityError:
            if not self._has_inbound_event(platform, event_id):
                raise
            return False
        return True

    def _has_inbound_event(self, platform: str, event_id: str) -> bool:
        stmt = select(InboundEventRow.id).where(
            InboundEventRow.platform == platform, InboundEventRow.event_id == event_id
        )
        with self.reading() as session:
            return session.scalars(stmt).first() is not None

    def quarantine(self, platform: str, reason: str, body: bytes) -> None:
        """Keep a signed but unreadable payload as received (RELIABILITY A7).

        ``reason`` must not contain payload text; it is cut to 500 characters.
        """
        with self.session() as session:
            session.add(
                QuarantineRow(
                    platform=platform,
                    received_at=utcnow(),
                    reason=storable(reason[:_MAX_REASON_CHARS]),
                    body=body,
                )
            )

    def received_inbox(self, platforms: Collection[str], *, limit: int) -> list[InboxEntry]:
        """Up to ``limit`` events of ``platforms`` still to process, oldest first (a read: the
        processor looks ahead at them before it claims them)."""
        if not platforms:
            return []
        stmt = (
            select(InboundEventRow.platform, InboundEventRow.event_id, InboundEventRow.body)
            .where(
                InboundEventRow.state == "received",
                InboundEventRow.platform.in_(sorted(platforms)),
            )
            .order_by(InboundEventRow.id)
            .limit(limit)
        )
        with self.reading() as session:
            return [InboxEntry(*row) for row in session.execute(stmt)]

    def process_inbox(
        self,
        platforms: Collection[str],
        read: Callable[[InboxEntry], Disposition | None],
        *,
        limit: int,
    ) -> list[InboxOutcome]:
        """Claim up to ``limit`` received events of ``platforms`` and apply each one.

        ``read`` turns an entry into its disposition (None: the event says nothing about a
        ticket's state). The disposition is linked to its handoff through the ticket link
        when it names none, and stored; the event ends ``processed``, or ``failed`` with a
        short error when ``read`` or the store refused it, in its own savepoint so that one
        event's failure does not undo the batch.
        """
        if not platforms:
            return []
        stmt = (
            select(InboundEventRow)
            .where(
                InboundEventRow.state == "received",
                InboundEventRow.platform.in_(sorted(platforms)),
            )
            .order_by(InboundEventRow.id)
            .limit(limit)
            # PostgreSQL: replicas skip each other's rows. SQLite renders no FOR UPDATE; the
            # store's BEGIN IMMEDIATE already makes this transaction the only writer.
            .with_for_update(skip_locked=True)
        )
        with self.session() as session:
            rows = session.scalars(stmt).all()
            return [self._apply(session, row, read) for row in rows]

    def _apply(
        self,
        session: Session,
        row: InboundEventRow,
        read: Callable[[InboxEntry], Disposition | None],
    ) -> InboxOutcome:
        result = "processed"
        try:
            with session.begin_nested():
                disposition = read(InboxEntry(row.platform, row.event_id, row.body))
                if disposition is not None:
                    if disposition.event_id is None:
                        disposition = disposition.model_copy(update={"event_id": row.event_id})
                    linked = self.with_handoff(disposition, session=session)
                    # Kept even unlinked: the link may not be committed yet (a webhook can
                    # beat the worker's commit), and linking updates it then.
                    if linked.handoff_id is None:
                        result = "unlinked"
                    # False when sync (or another event) already recorded this observation.
                    self.add_disposition(linked, session=session)
        except Exception as exc:
            row.state, row.error, row.processed_at = "failed", short_error(exc), utcnow()
            return InboxOutcome(row.platform, row.event_id, "failed", row.error)
        row.state, row.error, row.processed_at = "processed", None, utcnow()
        return InboxOutcome(row.platform, row.event_id, result)

    def prune_inbox(self, before: datetime, *, chunk: int = PRUNE_CHUNK) -> int:
        """Delete processed events received before ``before``, in chunks; the number deleted.
        Received and failed events stay."""
        total = 0
        for ids in self._processed_before(before, chunk):
            total += len(ids)
        return total

    def _processed_before(self, before: datetime, chunk: int) -> Iterator[list[int]]:
        while True:
            with self.session() as session:
                ids = list(
                    session.scalars(
                        select(InboundEventRow.id)
                        .where(
                            InboundEventRow.state == "processed",
                            InboundEventRow.received_at < before,
                        )
                        .limit(chunk)
                    )
                )
                if ids:
                    session.execute(delete(InboundEventRow).where(InboundEventRow.id.in_(ids)))
            yield ids
            if len(ids) < chunk:
                return
