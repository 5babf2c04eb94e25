"""The callback outbox's operations; :class:`~baton.core.store.Store` provides the sessions.

Rows are written by the store itself, in the transaction of the change they tell (a ticket
link, a new current disposition), only while callbacks are on (``Store.callbacks_enabled``).
The sender (:mod:`baton.core.callback_sender`) claims them under a lease: the oldest due row
of each handoff whose earlier rows are all delivered or dead, so a handoff's events go out in
order; rows of different handoffs go out side by side.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from baton.core.callbacks import CallbackEvent
from baton.core.tables import CallbackRow, HandoffRow
from baton.core.times import utcnow

_ERROR_CHARS = 500
_BLOCKING = ("pending", "leased")  # an earlier row in these states holds a handoff's next one


@dataclass(frozen=True)
class ClaimedCallback:
    """A callback leased to one sender: what to POST and under which id."""

    id: int
    handoff_id: str
    seq: int
    event_type: str
    webhook_id: str
    payload: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class CallbackView:
    """A read-only snapshot of one callback row (for ``baton callbacks``)."""

    id: int
    handoff_id: str
    seq: int
    event_type: str
    webhook_id: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class LeaseLost(Exception):
    """The sender's lease on a callback ran out and another took it."""


class CallbackTables:
    """Callback outbox operations."""

    callbacks_enabled: bool = False

    def session(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        """A write transaction (provided by Store)."""
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        """A read transaction (provided by Store)."""
        raise NotImplementedError

    def enqueue_callbacks(self, session: Session, events: Sequence[CallbackEvent]) -> None:
        """Append ``events`` to their handoffs' callbacks, inside the caller's transaction
        (nothing while callbacks are off)."""
        if not self.callbacks_enabled:
            return
        now = utcnow()
        last: dict[str, int] = {}
        for event in events:
            if event.handoff_id not in last:
                # The handoff's row, locked: two writers telling one handoff's changes at once
                # (the inbox and a sync run) take their turns, so ``seq`` follows the commits.
                session.get(HandoffRow, event.handoff_id, with_for_update=True)
                last[event.handoff_id] = (
                    session.scalar(
                        select(func.max(CallbackRow.seq)).where(
                            CallbackRow.handoff_id == event.handoff_id
                        )
                    )
                    or 0
                )
            last[event.handoff_id] += 1
            session.add(
                CallbackRow(
                    handoff_id=event.handoff_id,
                    seq=last[event.handoff_id],
                    event_type=event.type,
                    webhook_id=f"msg_{uuid.uuid4().hex}",
                    payload=event.payload(),
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        session.flush()

    def claim_callbacks(
        self, owner: str, *, limit: int, now: datetime, lease: timedelta
    ) -> list[ClaimedCallback]:
        """Lease up to ``limit`` due callbacks, at most one per handoff: each handoff's
        oldest row not yet delivered or dead, when it is due (``now`` on Baton's clock)."""
        earlier = aliased(CallbackRow)
        blocked = (
            select(earlier.id)
            .where(
                earlier.handoff_id == CallbackRow.handoff_id,
                earlier.seq < CallbackRow.seq,
                earlier.state.in_(_BLOCKING),
            )
            .exists()
        )
        claimable = or_(
            and_(CallbackRow.state == "pending", CallbackRow.next_attempt_at <= now),
            and_(CallbackRow.state == "leased", CallbackRow.lease_expires_at < now),
        )
        stmt = (
            select(CallbackRow)
            .where(claimable, ~blocked)
            .order_by(CallbackRow.next_attempt_at, CallbackRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.session() as session:
            claimed = []
            for row in session.scalars(stmt):
                row.state, row.lease_owner = "leased", owner
                row.lease_expires_at = now + lease
                row.attempts += 1
                claimed.append(
                    ClaimedCallback(
                        row.id,
                        row.handoff_id,
                        row.seq,
                        row.event_type,
                        row.webhook_id,
                        row.payload,
                        row.attempts,
                        row.created_at,
                    )
                )
            return claimed

    def _leased_callback(self, session: Session, callback_id: int, owner: str) -> CallbackRow:
        row = session.get(CallbackRow, callback_id, with_for_update=True)
        if row is None or row.state != "leased" or row.lease_owner != owner:
            raise LeaseLost(callback_id)
        return row

    def callback_delivered(self, callback_id: int, owner: str, *, at: datetime) -> None:
        """The receiver answered 2xx."""
        with self.session() as session:
            row = self._leased_callback(session, callback_id, owner)
            row.state, row.lease_owner, row.lease_expires_at = "delivered", None, None
            row.delivered_at, row.last_error = at, None

    def retry_callback_later(
        self, callback_id: int, owner: str, *, error: str, at: datetime, dead: bool = False
    ) -> None:
        """The attempt failed: due again at ``at``, or ``dead`` (given up)."""
        with self.session() as session:
            row = self._leased_callback(session, callback_id, owner)
            row.state = "dead" if dead else "pending"
            row.lease_owner, row.lease_expires_at = None, None
            row.next_attempt_at, row.last_error = at, error[:_ERROR_CHARS]

    def list_callbacks(self, state: str | None = None, *, limit: int = 1000) -> list[CallbackView]:
        """Callbacks, oldest first (only those in ``state`` when given)."""
        stmt = select(CallbackRow).order_by(CallbackRow.id).limit(limit)
        if state is not None:
            stmt = stmt.where(CallbackRow.state == state)
        with self.reading() as session:
            return [_view(row) for row in session.scalars(stmt)]

    def callbacks_of(self, handoff_id: str) -> list[CallbackView]:
        """A handoff's callbacks in order."""
        stmt = (
            select(CallbackRow)
            .where(CallbackRow.handoff_id == handoff_id)
            .order_by(CallbackRow.seq)
        )
        with self.reading() as session:
            return [_view(row) for row in session.scalars(stmt)]

    def requeue_callback(self, callback_id: int, *, now: datetime | None = None) -> bool:
        """A dead callback due again now with its attempts reset; False when it is not dead."""
        with self.session() as session:
            row = session.get(CallbackRow, callback_id, with_for_update=True)
            if row is None or row.state != "dead":
                return False
            row.state, row.attempts = "pending", 0
            row.next_attempt_at = now or utcnow()
            return True


def _view(row: CallbackRow) -> CallbackView:
    return CallbackView(
        row.id,
        row.handoff_id,
        row.seq,
        row.event_type,
        row.webhook_id,
        row.state,
        row.attempts,
        row.next_attempt_at,
        row.last_error,
        row.created_at,
        row.delivered_at,
    )
