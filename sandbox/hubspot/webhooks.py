"""Webhooks as HubSpot sends them: signed (v3 and v1) JSON arrays of up to 100 events, retried
with ``attemptNumber`` going up, not retried after 400/401/403/404/405."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from baton.sandbox.clock import Clock
from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.crm import epoch_ms

Json = dict[str, Any]


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """``X-HubSpot-Signature-v3``: base64(HMAC-SHA256(client secret, method + URI + body +
    timestamp)), all utf-8."""
    message = method.encode("utf-8") + uri.encode("utf-8") + body + timestamp.encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_v1(secret: str, body: bytes) -> str:
    """``X-HubSpot-Signature`` v1: hex(SHA-256(client secret + body))."""
    return hashlib.sha256(secret.encode("utf-8") + body).hexdigest()


@dataclass
class WebhookConfig:
    """The app's webhook settings: target, secret, subscriptions, and how badly to deliver."""

    target_url: str | None = None
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a sandbox default
    subscriptions: list[str] = field(default_factory=lambda: list(facts.TICKET_EVENTS))
    properties: list[str] = field(
        default_factory=lambda: ["hs_pipeline_stage", "hubspot_owner_id", "hs_pipeline"]
    )
    enabled: bool = True  # False: "lost", events are dropped (not queued)
    max_batch: int = facts.WEBHOOK_MAX_BATCH
    max_attempts: int = facts.WEBHOOK_MAX_ATTEMPTS
    retry_base_seconds: float = facts.WEBHOOK_FIRST_RETRY_SECONDS
    batch_wait_seconds: float = 0.05
    duplicate_probability: float = 0.0
    seed: int | None = None


@dataclass
class Attempt:
    """One POST of a batch, for tests and the control API."""

    event_ids: list[int]
    attempt: int
    status: int | None
    error: str | None = None


class WebhookDispatcher:
    """Queues events and sends them in batches from a background thread."""

    def __init__(self, clock: Clock, portal_id: int, app_id: int, time_factor: float) -> None:
        self._clock = clock
        self.portal_id = portal_id
        self.app_id = app_id
        self.time_factor = time_factor
        self.config = WebhookConfig()
        self._event_ids = itertools.count(1_000_000)
        self._subscription_ids = {name: 2_000_000 + i for i, name in enumerate(facts.TICKET_EVENTS)}
        self._pending: list[Json] = []
        self._in_flight = 0
        self.attempts: list[Attempt] = []
        self.sent: list[list[Json]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._random = random.Random()  # noqa: S311 - delivery sampling

    def configure(self, config: WebhookConfig) -> None:
        """Replace the settings."""
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)  # noqa: S311
        self._wake.set()

    def subscription_id(self, subscription_type: str) -> int:
        """The id of the subscription to ``subscription_type``."""
        return self._subscription_ids[subscription_type]

    def emit(self, subscription_type: str, object_id: str, source: str, **extra: Any) -> None:
        """Queue one event when the app subscribes to it (and is not losing events)."""
        with self._lock:
            config = self.config
            if not config.enabled or config.target_url is None:
                return
            if subscription_type not in config.subscriptions:
                return
            name = extra.get("propertyName")
            if subscription_type == "ticket.propertyChange" and name not in config.properties:
                return
            event: Json = {
                "eventId": next(self._event_ids),
                "subscriptionId": self._subscription_ids[subscription_type],
                "portalId": self.portal_id,
                "appId": self.app_id,
                "occurredAt": epoch_ms(self._clock()),
                "subscriptionType": subscription_type,
                "attemptNumber": 0,
                "objectId": int(object_id),
                "changeSource": source,
                **extra,
            }
            self._pending.append(event)
            if config.duplicate_probability and (
                self._random.random() < config.duplicate_probability
            ):
                self._pending.append(dict(event))
        self._wake.set()

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="hubspot-webhooks", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Stop sending (events still queued stay queued)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=10)
        self._thread = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued or being sent; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._pending and not self._in_flight:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def recent(self, count: int) -> list[Attempt]:
        """The newest ``count`` attempts, oldest first."""
        with self._lock:
            return self.attempts[-count:]

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            with self._lock:
                wait = self.config.batch_wait_seconds
            if wait:
                time.sleep(wait / self.time_factor)
            with self._lock:
                size = max(1, min(self.config.max_batch, facts.WEBHOOK_MAX_BATCH))
                batch, self._pending = self._pending[:size], self._pending[size:]
                self._in_flight += len(batch)
                if self._pending:
                    self._wake.set()
            if batch:
                try:
                    self._deliver(batch)
                finally:
                    with self._lock:
                        self._in_flight -= len(batch)

    def _deliver(self, batch: list[Json]) -> None:
        for attempt in itertools.count(0):
            with self._lock:
                config = self.config
            if self._stop.is_set() or config.target_url is None:
                return
            events = [{**event, "attemptNumber": attempt} for event in batch]
            body = json.dumps(events, separators=(",", ":")).encode("utf-8")
            timestamp = str(epoch_ms(self._clock()))
            headers = {
                "Content-Type": "application/json",
                facts.SIGNATURE_V3_HEADER: signature_v3(
                    config.client_secret, "POST", config.target_url, body, timestamp
                ),
                facts.TIMESTAMP_HEADER: timestamp,
                facts.SIGNATURE_V1_HEADER: signature_v1(config.client_secret, body),
                facts.SIGNATURE_VERSION_HEADER: "v1",
            }
            record = Attempt([e["eventId"] for e in batch], attempt, None)
            try:
                response = self._session.post(
                    config.target_url,
                    data=body,
                    headers=headers,
                    timeout=facts.WEBHOOK_TIMEOUT_SECONDS,
                )
                record.status = response.status_code
            except requests.RequestException as exc:
                record.error = type(exc).__name__
            with self._lock:
                self.attempts.append(record)
                self.sent.append(events)
            status = record.status
            if status is not None and (
                200 <= status < 300 or status in facts.WEBHOOK_NO_RETRY_STATUSES
            ):
                return
            if attempt + 1 >= config.max_attempts:
                return
            delay = config.retry_base_seconds * 2**attempt / self.time_factor
            if self._stop.wait(timeout=delay):
                return
