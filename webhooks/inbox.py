"""The inbox processor: turns recorded webhook events into dispositions, after the ack.

The receiver only records events (state ``received``); this background job claims them in
batches — one short transaction per batch, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that
several replicas never take the same rows — re-reads each event out of its signed body with the
source's ``parse_webhook``, links it to its handoff, appends the disposition and marks the event
``processed`` (or ``failed`` with a short error code, never body text). The disposition and the
state change commit together, so each event has exactly one effect (D1).

An event whose disposition the store cannot hold ends ``failed`` like any other failure, in its
own savepoint, and the error written is itself storable (RELIABILITY K5): a value the batch's
commit could not write would roll the batch back and claim the same rows again, forever.

Order: the current disposition is the newest by the platform's own timestamp, whatever the
arrival order, so a stale event processed after a newer one changes the history but not the
current state (D4; see :func:`core.disposition.latest`).

Retention: processed events are the dedupe memory. :meth:`InboxProcessor.prune` deletes only
processed events received before the retention window (at least 4 days, beyond every
sender's retry horizon, D3); the job runs it every ``prune_interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from baton.core.disposition import Disposition
from baton.core.errors import BatonError, ConfigError, PayloadError
from baton.core.ports import WebhookSource
from baton.core.storable import storable
from baton.core.store import Store
from baton.core.tables import InboundEventRow, utcnow
from baton.webhooks.observability import Metrics, describe, event
from baton.webhooks.settings import MIN_RETENTION_DAYS

log = logging.getLogger(__name__)

PRUNE_CHUNK = 500
_MAX_ERROR_CHARS = 200


def _short_error(exc: BaseException) -> str:
    # Baton's own errors are written without payload text; anything else keeps its class only.
    if isinstance(exc, BatonError):
        return storable(f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS])
    return type(exc).__name__


class InboxProcessor:
    """A background job (``start``/``stop``/``wake``) draining the webhook inbox."""

    def __init__(
        self,
        store: Store,
        sources: Mapping[str, WebhookSource],
        *,
        retention_days: int = 7,
        poll_interval: float = 1.0,
        batch_size: int = 50,
        prune_interval: float = 3600.0,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if retention_days < MIN_RETENTION_DAYS:
            raise ConfigError(
                f"inbox retention must be at least {MIN_RETENTION_DAYS} days (senders retry "
                f"for up to a day; duplicates must still be recognised)"
            )
        self.store = store
        self.sources = dict(sources)
        self.retention = timedelta(days=retention_days)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.prune_interval = prune_interval
        self.metrics = metrics
        self.clock = clock
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the job ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the processing thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="baton-inbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch and stop the thread."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Look for new events now rather than at the next poll."""
        self._wakeup.set()

    def _run(self) -> None:
        next_prune = time.monotonic()
        while not self._stopping.is_set():
            handled = 0
            try:
                handled = self.run_once()
            except Exception as exc:
                event(log, logging.ERROR, "inbox.batch_failed", error=describe(exc))
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.prune_interval
                try:
                    self.prune()
                except Exception as exc:
                    event(log, logging.ERROR, "inbox.prune_failed", error=describe(exc))
            if handled < self.batch_size:
                self._wakeup.wait(self.poll_interval)
                self._wakeup.clear()

    # --- processing ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch of received events and process it; the number handled."""
        if not self.sources:
            return 0
        stmt = (
            select(InboundEventRow)
            .where(
                InboundEventRow.state == "received",
                InboundEventRow.platform.in_(sorted(self.sources)),
            )
            .order_by(InboundEventRow.id)
            .limit(self.batch_size)
            # PostgreSQL: replicas skip each other's rows. SQLite renders no FOR UPDATE; the
            # store's BEGIN IMMEDIATE already makes this transaction the only writer.
            .with_for_update(skip_locked=True)
        )
        results: list[tuple[str, str]] = []
        with self.store.session() as session:
            for row in session.scalars(stmt).all():
                results.append((row.platform, self._process(session, row)))
        for platform, result in results:
            if self.metrics is not None:
                self.metrics.inbox.labels(platform=platform, result=result).inc()
        return len(results)

    def drain(self, max_batches: int = 1_000) -> int:
        """Process batches until the inbox has nothing left to claim; the number handled."""
        total = 0
        for _ in range(max_batches):
            handled = self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    def _process(self, session: Session, row: InboundEventRow) -> str:
        try:
            with session.begin_nested():  # one event's failure must not undo the batch
                disposition = self._disposition(session, row)
                if disposition is not None:
                    # False when sync (or another event) already recorded this observation.
                    self.store.add_disposition(disposition, session=session)
        except Exception as exc:
            row.state, row.error = "failed", _short_error(exc)
            row.processed_at = utcnow()
            event(
                log,
                logging.WARNING,
                "inbox.failed",
                platform=row.platform,
                event_id=row.event_id,
                error=row.error,
            )
            return "failed"
        row.state, row.error = "processed", None
        row.processed_at = utcnow()
        return "processed"

    def _disposition(self, session: Session, row: InboundEventRow) -> Disposition | None:
        source = self.sources[row.platform]
        found = [e for e in source.parse_webhook(row.body) if e.event_id == row.event_id]
        if not found:
            raise PayloadError("the event is no longer in its body")
        disposition = found[0].disposition
        if disposition is None:
            return None  # an event that says nothing about a ticket's state
        updates: dict[str, str] = {}
        if disposition.handoff_id is None:
            handoff_id = self.store.handoff_for_ticket(
                disposition.platform, disposition.ticket_id, session=session
            )
            if handoff_id is not None:
                updates["handoff_id"] = handoff_id
        if disposition.event_id is None:
            updates["event_id"] = row.event_id
        return disposition.model_copy(update=updates) if updates else disposition

    # --- retention ----------------------------------------------------------------------

    def prune(self, older_than: datetime | None = None) -> int:
        """Delete processed events received before ``older_than`` (default: the retention
        window before now); the number deleted. Received and failed events stay."""
        cutoff = older_than if older_than is not None else self.clock() - self.retention
        total = 0
        while True:
            with self.store.session() as session:
                ids = list(
                    session.scalars(
                        select(InboundEventRow.id)
                        .where(
                            InboundEventRow.state == "processed",
                            InboundEventRow.received_at < cutoff,
                        )
                        .limit(PRUNE_CHUNK)
                    )
                )
                if ids:
                    session.execute(delete(InboundEventRow).where(InboundEventRow.id.in_(ids)))
            total += len(ids)
            if len(ids) < PRUNE_CHUNK:
                break
        if total:
            event(log, logging.INFO, "inbox.pruned", events=total, before=cutoff.isoformat())
        return total
