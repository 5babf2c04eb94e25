"""Zendesk's event webhooks: targets, and at-least-once signed delivery with retries."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from baton.sandbox.clock import Clock
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.sandbox.zendesk.facts import WEBHOOK_BASE_DELAY_SECONDS, WEBHOOK_MAX_ATTEMPTS
from baton.sandbox.zendesk.model import Json


@dataclass
class WebhookTarget:
    """Where event webhooks go; ``duplicate=True`` delivers every event twice."""

    url: str
    signing_secret: str
    webhook_id: str = field(default_factory=lambda: uuid.uuid4().hex[:26].upper())
    duplicate: bool = False


@dataclass
class Delivery:
    """One delivery attempt, for tests to inspect."""

    event_id: str
    event_type: str
    invocation_id: str
    attempt: int
    status: int | None
    error: str | None = None


class WebhookDispatcher:
    """At-least-once, signed delivery of events from a background thread with retries."""

    def __init__(self, clock: Clock, time_factor: float) -> None:
        self._clock = clock
        self.time_factor = time_factor
        self.targets: list[WebhookTarget] = []
        self.deliveries: list[Delivery] = []
        self.events: dict[str, Json] = {}
        self.max_attempts = WEBHOOK_MAX_ATTEMPTS
        self._queue: queue.Queue[tuple[WebhookTarget, Json] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def add(self, target: WebhookTarget) -> WebhookTarget:
        """Subscribe ``target`` to every ticket event."""
        with self._lock:
            self.targets.append(target)
        return target

    def remove(self, webhook_id: str) -> bool:
        """Unsubscribe the target with ``webhook_id``; False if there is none."""
        with self._lock:
            kept = [t for t in self.targets if t.webhook_id != webhook_id]
            removed = len(kept) != len(self.targets)
            self.targets[:] = kept
        return removed

    def subscribed(self) -> list[WebhookTarget]:
        """The targets now subscribed."""
        with self._lock:
            return list(self.targets)

    def recent_deliveries(self, count: int) -> list[Delivery]:
        """The last ``count`` delivery attempts, oldest first."""
        with self._lock:
            return self.deliveries[-count:]

    def enqueue(self, event: Json) -> None:
        """Queue ``event`` for every target (twice for duplicating targets)."""
        with self._lock:
            targets = list(self.targets)
            self.events[event["id"]] = event
        for target in targets:
            for _ in range(2 if target.duplicate else 1):
                self._queue.put((target, event))

    def redeliver(self, event_id: str) -> None:
        """Send an already emitted event again (same event id: a duplicate delivery)."""
        with self._lock:
            event = self.events[event_id]
            targets = list(self.targets)
        for target in targets:
            self._queue.put((target, event))

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zendesk-webhooks")
                self._thread.daemon = True
                self._thread.start()

    def stop(self) -> None:
        """Stop the sender thread after the events already queued."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=10)
        self._thread = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event is delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, target: WebhookTarget, event: Json) -> None:
        body = json.dumps(event, separators=(",", ":")).encode("utf-8")
        invocation_id = uuid.uuid4().hex
        for attempt in range(1, self.max_attempts + 1):
            timestamp = zendesk_timestamp(self._clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Zendesk Webhook",
                "X-Zendesk-Webhook-Id": target.webhook_id,
                "X-Zendesk-Webhook-Invocation-Id": invocation_id,
                "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
                "X-Zendesk-Webhook-Signature": zendesk_signature(
                    target.signing_secret, timestamp, body
                ),
            }
            record = Delivery(event["id"], event["type"], invocation_id, attempt, None)
            try:
                response = self._session.post(target.url, data=body, headers=headers, timeout=5)
                record.status = response.status_code
            except requests.RequestException as exc:
                record.error = type(exc).__name__
            with self._lock:
                self.deliveries.append(record)
            if record.status is not None and 200 <= record.status < 300:
                return
            if attempt < self.max_attempts:
                time.sleep(WEBHOOK_BASE_DELAY_SECONDS * 2 ** (attempt - 1) / self.time_factor)
