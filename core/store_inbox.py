"""The store's webhook inbox and quarantine: recording, claiming, applying and pruning.

A mixin of :class:`~baton.core.store.Store`, kept apart so each file stays readable. The
unique ``(platform, event_id)`` decides duplicates (RELIABILITY D2); a claimed batch is one
short transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas never take the same
rows, and each event's disposition commits together with its ``processed`` state (D1).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from baton.core.disposition import Disposition
from baton.core.errors import BatonError
from baton.core.replies import PublicReply
from baton.core.storable import storable
from baton.core.tables import InboundEventRow, QuarantineRow
from baton.core.times import utcnow

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
class Observed:
    """What one inbox event reports: a ticket's disposition and/or public replies."""

    disposition: Disposition | None = None
    replies: tuple[PublicReply, ...] = ()


@dataclass(frozen=True)
class InboxOutcome:
    """What became of one claimed event: ``processed``, ``unlinked`` (processed, about a ticket
    no handoff is linked to: one Baton did not make, or whose link is not committed yet) or
    ``failed`` (with a short error)."""

    platform: str
    event_id: str
    result: str
    error: str | None = None


@dataclass(frozen=True)
class InboxProblem:
    """A webhook event that did not become an observation (for ``baton inbox``): a ``failed``
    inbox event (``id`` is the event's row) or a ``quarantined`` payload (the quarantine
    row's). ``error`` says why, never with payload text."""

    kind: str
    id: int
    platform: str
    event_id: str | None
    received_at: datetime
    error: str
    size: int


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

    def add_reply(self, reply: PublicReply, *, session: Session | None = None) -> bool:
        """Provided by ReplyTables."""
        raise NotImplementedError  # pragma: no cover

    def record_inbound_event(self, platform: str, event_id: str, body: bytes) -> bool:
        """Put a verified webhook event in the inbox, in its own transaction.

        True when new; False when ``(platform, event_id)`` was already there. The unique
        constraint decides, so concurrent deliveries of one event store one row (D2).
        """
        return self.record_inbound_events([(platform, event_id, body)])[0]

    def record_inbound_events(self, events: Sequence[tuple[str, str, bytes]]) -> list[bool]:
        """Put verified webhook events ``(platform, event_id, body)`` in the inbox, all in one
        transaction (group commit: the webhook receiver's writer records many requests at once).

        For each, in order: True when it is new, False when ``(platform, event_id)`` was
        already stored or came earlier in ``events``. ``INSERT … ON CONFLICT DO NOTHING``
        lets the unique constraint decide, so a duplicate never fails the others and
        concurrent deliveries of one event store one row (D2). Nothing is stored unless all
        are (the caller answers no request of a failed transaction).
        """
        first: dict[tuple[str, str], int] = {}
        for index, (platform, event_id, _body) in enumerate(events):
            first.setdefault((platform, event_id), index)
        if not first:
            return []
        now = utcnow()
        rows = [
            {
                "platform": events[i][0],
                "event_id": events[i][1],
                "received_at": now,
                "body": events[i][2],
                "state": "received",
            }
            for i in first.values()
        ]
        table = cast(Table, InboundEventRow.__table__)  # Core insert: no ORM bulk machinery
        with self.session() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = (
                insert(table)
                .on_conflict_do_nothing(index_elements=["platform", "event_id"])
                .returning(table.c.platform, table.c.event_id)
            )
            inserted = {(p, e) for p, e in session.execute(stmt, rows)}
        return [
            first[(platform, event_id)] == index and (platform, event_id) in inserted
            for index, (platform, event_id, _body) in enumerate(events)
        ]

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

    def inbox_problems(self, *, limit: int = 1000) -> list[InboxProblem]:
        """Failed inbox events, then quarantined payloads, each oldest first."""
        failed = (
            select(InboundEventRow)
            .where(InboundEventRow.state == "failed")
            .order_by(InboundEventRow.id)
            .limit(limit)
        )
        kept = select(QuarantineRow).order_by(QuarantineRow.id).limit(limit)
        with self.reading() as session:
            problems = [
                InboxProblem(
                    "failed",
                    row.id,
                    row.platform,
                    row.event_id,
                    row.received_at,
                    row.error or "",
                    len(row.body),
                )
                for row in session.scalars(failed)
            ]
            problems += [
                InboxProblem(
                    "quarantined",
                    row.id,
                    row.platform,
                    None,
                    row.received_at,
                    row.reason,
                    len(row.body),
                )
                for row in session.scalars(kept)
            ]
        return problems

    def requeue_inbound_event(self, row_id: int) -> bool:
        """A failed inbox event back to ``received`` (the inbox processor takes it again);
        False when there is no failed event with this id."""
        with self.session() as session:
            row = session.get(InboundEventRow, row_id, with_for_update=True)
            if row is None or row.state != "failed":
                return False
            row.state, row.error, row.processed_at = "received", None, None
            return True

    def quarantined_payload(self, row_id: int) -> tuple[str, bytes] | None:
        """The platform and body of a quarantined payload, or None."""
        with self.reading() as session:
            row = session.get(QuarantineRow, row_id)
            return None if row is None else (row.platform, row.body)

    def release_quarantined(self, row_id: int, events: Collection[tuple[str, bytes]]) -> int:
        """Move a quarantined payload that now reads into the inbox, in one transaction: each
        ``(event_id, slice)`` recorded (deduplicated like a webhook's), the quarantine row
        deleted. Returns the number of new events; LookupError when the row is gone."""
        new = 0
        with self.session() as session:
            row = session.get(QuarantineRow, row_id, with_for_update=True)
            if row is None:
                raise LookupError(row_id)
            seen: set[str] = set()
            for event_id, body in events:
                if event_id in seen:
                    continue
                seen.add(event_id)
                exists = session.scalars(
                    select(InboundEventRow.id).where(
                        InboundEventRow.platform == row.platform,
                        InboundEventRow.event_id == event_id,
                    )
                ).first()
                if exists is None:
                    session.add(
                        InboundEventRow(
                            platform=row.platform,
                            event_id=event_id,
                            received_at=utcnow(),
                            body=body,
                            state="received",
                        )
                    )
                    new += 1
            session.delete(row)
        return new

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
        read: Callable[[InboxEntry], Observed],
        *,
        limit: int,
    ) -> list[InboxOutcome]:
        """Claim up to ``limit`` received events of ``platforms`` and apply each one.

        ``read`` turns an entry into what it reports: a disposition (None: nothing about a
        ticket's state) and public replies. The disposition is linked to its handoff through
        the ticket link when it names none, and stored; each reply is recorded (once, and only
        on a linked ticket). The event ends ``processed``, or ``failed`` with a short error
        when ``read`` or the store refused it, in its own savepoint so that one event's failure
        does not undo the batch.
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
        read: Callable[[InboxEntry], Observed],
    ) -> InboxOutcome:
        result = "processed"
        try:
            with session.begin_nested():
                observed = read(InboxEntry(row.platform, row.event_id, row.body))
                disposition = observed.disposition
                for reply in observed.replies:
                    # False for a duplicate (sync saw it first) and for an unlinked ticket.
                    self.add_reply(reply, session=session)
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
