"""The inbox processor: turns recorded webhook events into dispositions, after the ack.

The receiver verifies a webhook, reads it ONCE into its events and records each event's own
slice — its disposition, as Baton's JSON (:func:`inbox_body`) — under the unique
``(platform, event_id)``; then it acknowledges. This platform-free background job claims
recorded events in batches through the store (:meth:`Store.process_inbox`), links each
disposition to its handoff and appends it; the disposition and the event's ``processed``
state commit together, so each event has exactly one effect (D1). A body is never read by a
platform's parser twice: a 100-event batch is parsed once, not once per event.

Events recorded by an older Baton hold the whole signed body instead; those are read with the
platform's ``parse_webhook`` (the ``sources`` given), which is why the processor is still
given them.

An event whose disposition the store cannot hold ends ``failed`` like any other failure, in its
own savepoint, and the error written is itself storable (RELIABILITY K5).

Order: the current disposition is the newest by the platform's own timestamp, whatever the
arrival order (D4; see :func:`core.disposition.latest`).

Retention: processed events are the dedupe memory. :meth:`InboxProcessor.prune` deletes only
processed events received before the retention window (at least :data:`MIN_RETENTION_DAYS`,
beyond every sender's retry horizon, D3); the job runs it every ``prune_interval`` seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter

from baton.core.disposition import Disposition
from baton.core.errors import BatonError, ConfigError, PayloadError
from baton.core.ports import WebhookEvent, WebhookSource
from baton.core.replies import PublicReply
from baton.core.store import Store
from baton.core.store_inbox import InboxEntry, InboxOutcome, Observed
from baton.core.times import utcnow

log = logging.getLogger(__name__)

MIN_RETENTION_DAYS = 4  # above every sender's retry horizon (each retries for a day at most)
_FORMAT_KEY = "baton_inbox"
_FORMAT = 1
_MARK = b'{"' + _FORMAT_KEY.encode() + b'":'


def inbox_body(item: WebhookEvent) -> bytes:
    """The slice of a verified webhook the inbox keeps for one event: its disposition, or the
    ticket to read again when the body lacked what one needs, and its public replies."""
    disposition = item.disposition.model_dump(mode="json") if item.disposition else None
    document: dict[str, Any] = {_FORMAT_KEY: _FORMAT, "disposition": disposition}
    if disposition is None and item.reread is not None:
        document["reread"] = item.reread
    if item.replies:
        document["replies"] = [reply.model_dump(mode="json") for reply in item.replies]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _from_slice(body: bytes) -> tuple[Disposition | None, str | None]:
    document = _slice(body)
    raw = document.get("disposition")
    reread = document.get("reread")
    disposition = None if raw is None else Disposition.model_validate(raw)
    return disposition, reread if isinstance(reread, str) else None


def _replies_in_slice(body: bytes) -> tuple[PublicReply, ...]:
    raw = _slice(body).get("replies") or []
    if not isinstance(raw, list):
        raise PayloadError("inbox entry replies are not a list")
    return tuple(PublicReply.model_validate(item) for item in raw)


def _slice(body: bytes) -> dict[str, Any]:
    document: Any = json.loads(body)
    if not isinstance(document, dict) or document.get(_FORMAT_KEY) != _FORMAT:
        found = document.get(_FORMAT_KEY) if isinstance(document, dict) else None
        raise PayloadError(f"inbox entry format {found!r} is not known")
    return document


class InboxProcessor:
    """A background job (``start``/``stop``/``wake``) draining the webhook inbox.

    ``sources`` name the platforms whose events this processes; their parsers are used only
    for events an older Baton recorded as whole bodies. ``counter`` (labels ``platform``,
    ``result``) counts what became of each event.
    """

    def __init__(
        self,
        store: Store,
        sources: Mapping[str, WebhookSource],
        *,
        retention_days: int = 7,
        poll_interval: float = 1.0,
        batch_size: int = 50,
        prune_interval: float = 3600.0,
        counter: Counter | None = None,
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
        self.counter = counter
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
                log.error("inbox.batch_failed error=%s", type(exc).__name__)
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.prune_interval
                try:
                    self.prune()
                except Exception as exc:
                    log.error("inbox.prune_failed error=%s", type(exc).__name__)
            if handled < self.batch_size:
                self._wakeup.wait(self.poll_interval)
                self._wakeup.clear()

    # --- processing ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch of received events and process it; the number handled.

        Events whose body lacked what a disposition needs are read again from the platform
        first, before the batch's transaction (no platform call ever holds the store's write
        lock); a failed read records nothing for the event: the next sync reports the ticket.
        """
        rereads = self._reread_ahead()
        outcomes = self.store.process_inbox(
            self.sources, lambda entry: self._read(entry, rereads), limit=self.batch_size
        )
        for outcome in outcomes:
            self._report(outcome)
        return len(outcomes)

    def _reread_ahead(self) -> dict[tuple[str, str], Disposition]:
        found: dict[tuple[str, str], Disposition] = {}
        for entry in self.store.received_inbox(self.sources, limit=self.batch_size):
            if not entry.body.startswith(_MARK):
                continue
            try:
                disposition, ticket_id = _from_slice(entry.body)
            except (PayloadError, ValueError):
                continue  # unreadable: processing it marks the event failed, with the reason
            source = self.sources.get(entry.platform)
            if disposition is not None or ticket_id is None or source is None:
                continue
            try:
                again = source.reread(ticket_id, entry.event_id)
            except BatonError as exc:
                log.warning(
                    "inbox.reread_failed platform=%s event_id=%s error=%s",
                    entry.platform,
                    entry.event_id[:64],
                    type(exc).__name__,
                )
                continue
            if again is not None:
                found[entry.platform, entry.event_id] = again
        return found

    def drain(self, max_batches: int = 1_000) -> int:
        """Process batches until the inbox has nothing left to claim; the number handled."""
        total = 0
        for _ in range(max_batches):
            handled = self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    def _read(self, entry: InboxEntry, rereads: Mapping[tuple[str, str], Disposition]) -> Observed:
        if entry.body.startswith(_MARK):
            disposition, _ = _from_slice(entry.body)
            return Observed(
                disposition or rereads.get((entry.platform, entry.event_id)),
                _replies_in_slice(entry.body),
            )
        return self._read_whole_body(entry)

    def _read_whole_body(self, entry: InboxEntry) -> Observed:
        source = self.sources.get(entry.platform)
        if source is None:
            raise PayloadError("recorded as a whole body, and no source can read it")
        found = [e for e in source.parse_webhook(entry.body) if e.event_id == entry.event_id]
        if not found:
            raise PayloadError("the event is no longer in its body")
        return Observed(found[0].disposition, found[0].replies)

    def _report(self, outcome: InboxOutcome) -> None:
        if self.counter is not None:
            self.counter.labels(platform=outcome.platform, result=outcome.result).inc()
        if outcome.result == "failed":
            log.warning(
                "inbox.failed platform=%s event_id=%s error=%s",
                outcome.platform,
                outcome.event_id[:64],
                outcome.error,
            )

    # --- retention ----------------------------------------------------------------------

    def prune(self, older_than: datetime | None = None) -> int:
        """Delete processed events received before ``older_than`` (default: the retention
        window before now); the number deleted. Received and failed events stay."""
        cutoff = older_than if older_than is not None else self.clock() - self.retention
        total = self.store.prune_inbox(cutoff)
        if total:
            log.info("inbox.pruned events=%d before=%s", total, cutoff.isoformat())
        return total
