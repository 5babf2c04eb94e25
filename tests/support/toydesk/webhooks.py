"""ToyDesk's outbound webhooks, as the vendor sends them (no code shared with the connector).

A delivery carries ``X-ToyDesk-Timestamp`` (unix seconds) and ``X-ToyDesk-Signature`` =
base64(HMAC-SHA256(secret, ``timestamp + "." + body``)). A body is one event
``{"id", "type", "ticket", "occurred_at"}``, or a batch of them ``{"events": [...]}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

Json = dict[str, Any]
Clock = Callable[[], datetime]
DELIVERY_ATTEMPTS = 3


def signed_headers(secret: str, body: bytes, at: datetime) -> dict[str, str]:
    """The headers ToyDesk signs ``body`` with, at ``at``."""
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-ToyDesk-Timestamp": timestamp,
        "X-ToyDesk-Signature": base64.b64encode(digest.digest()).decode("ascii"),
    }


def encode(document: Json) -> bytes:
    """A webhook body as ToyDesk writes it (compact JSON)."""
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def batch_body(events: Sequence[Json]) -> bytes:
    """Several events in one delivery, as ToyDesk batches them."""
    return encode({"events": list(events)})


@dataclass(frozen=True)
class Sent:
    """One webhook delivery attempt, for tests to inspect."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None


class Webhooks:
    """Signed, at-least-once webhook delivery from one background worker thread."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.targets: list[tuple[str, str]] = []
        self.outbox: list[Sent] = []
        self.paused = False
        self._queue: queue.Queue[tuple[str, str, bytes] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def subscribe(self, url: str, secret: str) -> None:
        """Send every later event to ``url``, signed with ``secret``."""
        with self._lock:
            self.targets.append((url, secret))

    def emit(self, event: Json) -> None:
        """Queue ``event`` for every subscriber (dropped while paused: "unreachable")."""
        body = encode(event)
        with self._lock:
            targets = [] if self.paused else list(self.targets)
        for url, secret in targets:
            self._queue.put((url, secret, body))

    def start(self) -> None:
        """Start the worker (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="toydesk-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the worker after what is already queued."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)
        self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued webhook is delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                item = self._queue.get()
                try:
                    if item is None:
                        return
                    self._deliver(client, *item)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, url: str, secret: str, body: bytes) -> None:
        for attempt in range(DELIVERY_ATTEMPTS):
            headers = signed_headers(secret, body, self._clock())
            try:
                status: int | None = client.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError:
                status = None
            with self._lock:
                self.outbox.append(Sent(url, headers, body, status))
            if status is not None and status < 300:
                return
            time.sleep(0.05 * 2**attempt)
