"""The callback sender: POSTs the callback outbox to the agent platform, in its own thread.

Settings (environment):

=============================  ============================================================
``BATON_CALLBACK_URL``         where to POST each event; unset: no callbacks are written
``BATON_CALLBACK_SECRETS``     Standard Webhooks secrets (``whsec_…``), comma-separated,
                               the newest first (every one signs while rotating)
``BATON_CALLBACK_TIMEOUT``     seconds per POST (default 10)
=============================  ============================================================

At least once, in order per handoff, on Baton's clock: a 2xx delivers the event; anything
else (an error status, a timeout, a refused connection) makes it due again after a backoff
that doubles from 5 s to 10 minutes, and the handoff's later events wait behind it. After
three days of failures it is dead (``baton callbacks --failed`` lists it, ``baton callbacks
retry ID`` sends it again). The sender has its own thread and its own HTTP client: a dead
receiver never slows ticket delivery or webhook ingest. Every attempt of an event carries its
``webhook-id``, so the receiver can drop a duplicate.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from baton.core.callbacks import CallbackSigner
from baton.core.errors import ConfigError
from baton.core.store_callbacks import CallbackTables, ClaimedCallback, LeaseLost
from baton.core.times import utcnow

log = logging.getLogger(__name__)

ENV_URL = "BATON_CALLBACK_URL"
ENV_SECRETS = "BATON_CALLBACK_SECRETS"
ENV_TIMEOUT = "BATON_CALLBACK_TIMEOUT"
GIVE_UP_AFTER = timedelta(days=3)


def callbacks_configured(env: Mapping[str, str]) -> bool:
    """Whether callbacks are on (``BATON_CALLBACK_URL`` set)."""
    return bool(env.get(ENV_URL, "").strip())


@dataclass(frozen=True)
class CallbackSettings:
    """Where and how callbacks go."""

    url: str
    secrets: tuple[str, ...]
    timeout: float = 10.0
    backoff_initial: float = 5.0
    backoff_max: float = 600.0
    lease: timedelta = timedelta(minutes=2)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CallbackSettings | None:
        """The settings, or None when ``BATON_CALLBACK_URL`` is unset (callbacks off)."""
        url = env.get(ENV_URL, "").strip()
        if not url:
            return None
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{ENV_URL} must be an http(s) URL")
        secrets = tuple(s.strip() for s in env.get(ENV_SECRETS, "").split(",") if s.strip())
        CallbackSigner(secrets)  # refuses a missing or malformed secret, naming the setting
        raw = env.get(ENV_TIMEOUT, "").strip()
        try:
            timeout = float(raw) if raw else 10.0
        except ValueError:
            raise ConfigError(f"{ENV_TIMEOUT} must be a number of seconds") from None
        if not timeout > 0:
            raise ConfigError(f"{ENV_TIMEOUT} must be a number of seconds")
        return cls(url, secrets, timeout)

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones (jittered)."""
        base = min(self.backoff_max, self.backoff_initial * 2.0 ** min(attempts - 1, 20))
        return base * (1 + random.random() * 0.2)  # noqa: S311 - spreading retries, not secrets


class CallbackSender:
    """Claims due callbacks and POSTs each (``run`` in a thread; ``run_once`` in tests).

    ``clock`` is Baton's clock (when an event is due, when it is given up); signatures carry
    the wall-clock time of sending, which is what a receiver checks them against.
    """

    def __init__(
        self,
        store: CallbackTables,
        settings: CallbackSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.BaseTransport | None = None,
        batch: int = 20,
    ) -> None:
        self.store = store
        self.settings = settings
        self.signer = CallbackSigner(settings.secrets)
        self.clock = clock
        self.batch = batch
        self.owner = f"{socket.gethostname()}:{threading.get_ident()}:callbacks"
        self._http = httpx.Client(timeout=settings.timeout, transport=transport)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send one batch of due callbacks (one per handoff); how many were tried."""
        now = self.clock()
        claimed = self.store.claim_callbacks(
            self.owner, limit=self.batch, now=now, lease=self.settings.lease
        )
        for callback in claimed:
            self._send(callback)
        return len(claimed)

    def drain(self, max_batches: int = 1_000) -> int:
        """Send until nothing is due; how many were tried."""
        total = 0
        for _ in range(max_batches):
            tried = self.run_once()
            total += tried
            if tried == 0:
                break
        return total

    def _send(self, callback: ClaimedCallback) -> None:
        headers = self.signer.headers(callback.webhook_id, callback.payload, datetime.now(UTC))
        try:
            response = self._http.post(
                self.settings.url, content=callback.payload.encode(), headers=headers
            )
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        now = self.clock()
        try:
            if error is None:
                self.store.callback_delivered(callback.id, self.owner, at=now)
                return
            dead = now - callback.created_at >= GIVE_UP_AFTER
            at = now + timedelta(seconds=self.settings.backoff(callback.attempts))
            self.store.retry_callback_later(callback.id, self.owner, error=error, at=at, dead=dead)
            log.warning(
                "callback.failed handoff_id=%s type=%s attempts=%d error=%s",
                callback.handoff_id[:64],
                callback.event_type,
                callback.attempts,
                error,
            )
        except LeaseLost:
            log.warning("callback.lease_lost id=%d", callback.id)

    # --- the thread ---------------------------------------------------------------------

    def start(self, poll_interval: float = 1.0) -> None:
        """Send in a daemon thread until :meth:`stop` (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(poll_interval,), name="baton-callbacks", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Look for due callbacks now."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._http.close()

    def _run(self, poll_interval: float) -> None:
        while not self._stop.is_set():
            tried = 0
            try:
                tried = self.run_once()
            except Exception as exc:  # a database hiccup: try again at the next poll
                log.error("callback.batch_failed error=%s", type(exc).__name__)
            if tried < self.batch:
                self._wake.wait(poll_interval)
                self._wake.clear()
