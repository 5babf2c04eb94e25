"""The delivery worker: turns outbox rows into tickets, each exactly once.

A :class:`DeliveryWorker` claims due outbox rows under a lease, parses the stored handoff and
asks the platform's :class:`~core.ports.TicketCreator` for its ticket. The handoff id is the
idempotency key on every attempt, in every process (RELIABILITY O2).

An attempt is one platform call. Just before each call, tenacity's quick retries included,
the worker commits it with :meth:`~core.store.Store.count_attempt` (fenced by the lease), so
a crash during the call leaves it counted, and rows of a batch that were never tried cost
nothing. ``first_attempt`` is True only when that count is 1, so any later call first looks
for the ticket an earlier one may have made. Outcomes (O6):

=====================================  ===================================================
RetryableError (429, 5xx, network)     quick in-process retries, then back to the outbox
                                       after max(Retry-After, backoff); dead once
                                       ``policy.max_attempts`` calls were made
AccessDenied (401/403)                 the platform is paused for ``policy.pause_seconds``,
                                       for every worker of every process (a row in the
                                       store, with the reason); the row goes back and the
                                       refused call's attempt is refunded; rows of the
                                       batch not yet tried go back untouched
TargetRefused, and the mapping has a   one more call at once, on the backup target
backup target the refused create did   (``use_backup=True``, same idempotency key),
not use                                counted like any other (while ``max_attempts``
                                       allows); the ticket link records the backup route
IdempotencyConflict, FatalError        dead-lettered with a short reason (O3); so is a
                                       TargetRefused without a backup, or of the backup
unreadable stored body                 dead-lettered, no attempt counted
LeaseLost                              someone else owns the row now: left alone (when it
                                       is noticed while counting, no call is made)
anything else                          back to the outbox like a retryable error
=====================================  ===================================================

Reasons carry the error class, HTTP status, platform code and the connector's message, which
connectors build without secrets or transcript text; unexpected exceptions are logged by type
only.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from prometheus_client import CollectorRegistry, Counter, Histogram
from tenacity import RetryCallState

from baton.core.errors import (
    AccessDenied,
    BatonError,
    ConfigError,
    FatalError,
    PlatformError,
    RetryableError,
    TargetRefused,
    ValidationError,
)
from baton.core.handoff import Handoff, load_stored_handoff
from baton.core.ports import TicketCreator, TicketRef
from baton.core.retry import RetryPolicy
from baton.core.store import ClaimedDelivery, LeaseLost, Store
from baton.core.times import utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class DeliveryMetrics:
    """Prometheus metrics of the delivery worker, on ``registry``.

    The service passes the registry its ``/metrics`` serves; without one, the metrics go to
    a registry of their own (never prometheus-client's global one).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        if registry is None:
            registry = CollectorRegistry(auto_describe=True)
        self.registry = registry
        self.deliveries = Counter(
            "baton_deliveries",
            "Deliveries handled by the worker, by platform and result.",
            ["platform", "result"],
            registry=registry,
        )
        self.backups = Counter(
            "baton_delivery_backups",
            "Creates sent to the mapping's backup target after the platform refused the "
            "chosen one, by platform.",
            ["platform"],
            registry=registry,
        )
        self.attempt_seconds = Histogram(
            "baton_delivery_attempt_seconds",
            "Duration of one create-ticket call, by platform.",
            ["platform"],
            registry=registry,
        )


def default_owner() -> str:
    """A lease owner naming this process: ``host:pid``."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


@dataclass
class _Tries:
    """Attempts of one delivery as the current claim goes: ``counted`` is the row's count
    (every claim's calls), updated as each call of this claim is counted; ``backup`` is set
    once the platform refused the chosen target, so later calls go to the backup target."""

    counted: int
    backup: bool = False


class _Interrupted(Exception):
    """The worker was asked to stop during an in-process retry wait."""


def _reason(exc: BaseException) -> str:
    """A short, secret-free description of a failure for ``last_error``."""
    name = type(exc).__name__
    if isinstance(exc, PlatformError):
        status = f" http_{exc.status}" if exc.status is not None else ""
        code = f" {exc.code}" if exc.code else ""
        return f"{name}{status}{code}: {exc}"
    if isinstance(exc, BatonError):
        return f"{name}: {exc}"
    return f"unexpected {name}"


class DeliveryWorker:
    """Claims due deliveries and creates their tickets; see the module docstring."""

    def __init__(
        self,
        store: Store,
        creators: Mapping[str, TicketCreator],
        *,
        owner: str,
        policy: RetryPolicy | None = None,
        lease_seconds: float = 60,
        batch: int = 10,
        clock: Clock = utcnow,
        sleep: Callable[[float], None] | None = None,
        metrics: DeliveryMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``creators`` by platform: only those platforms' deliveries are claimed.

        ``sleep`` waits between in-process retries (default: a wait that ends early when
        :meth:`run` is told to stop); ``clock`` and ``rng`` make schedules testable;
        ``metrics`` default to a registry of the worker's own.
        """
        self.store = store
        self.creators = dict(creators)
        self.owner = owner
        self.policy = policy or RetryPolicy()
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.results: Tally[str] = Tally()
        self._clock = clock
        self._sleep = sleep or self._interruptible_sleep
        self._metrics = metrics or DeliveryMetrics()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._paused: dict[str, datetime] = {}

    # --- running ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch of due deliveries and handle each; the number handled."""
        now = self._clock()
        claims = self.store.claim_deliveries(
            self.owner,
            limit=self.batch,
            lease_seconds=self.lease_seconds,
            now=now,
            platforms=self.active_platforms(now),
        )
        for claim in claims:
            try:
                self._handle(claim)
            except Exception as exc:
                # The store failed while recording an outcome; the lease will expire and the
                # row be claimed again, so nothing is lost.
                log.error(
                    "delivery %d (%s): could not record the outcome: %s",
                    claim.delivery_id,
                    claim.platform,
                    type(exc).__name__,
                )
        return len(claims)

    def drain(self) -> int:
        """Run batches until none is due; the number of deliveries handled in all."""
        total = 0
        while handled := self.run_once():
            total += handled
        return total

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Deliver until ``stop`` is set, polling every ``poll_interval`` seconds when idle.

        Never raises: a store failure is logged (type only) and retried after the interval.
        """
        self._stop = stop
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception as exc:
                log.error("delivery worker %s: %s; retrying", self.owner, type(exc).__name__)
                handled = 0
            if not handled:
                self._wakeup.wait(poll_interval)
                self._wakeup.clear()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (e.g. after an intake)."""
        self._wakeup.set()

    def active_platforms(self, now: datetime) -> list[str]:
        """The platforms this worker delivers to now: those configured and not paused, here
        or by any process (the store's platform pauses)."""
        for platform, pause in self.store.platform_pauses(now).items():
            if platform in self.creators and self._paused.get(platform, now) < pause.until:
                if platform not in self._paused:
                    log.warning(
                        "%s: paused until %s by another worker: %s",
                        platform,
                        pause.until.isoformat(timespec="seconds"),
                        pause.reason,
                    )
                self._paused[platform] = pause.until
        for platform, until in list(self._paused.items()):
            if until <= now:
                del self._paused[platform]
                log.info("%s: pause over; resuming deliveries", platform)
        return [p for p in self.creators if p not in self._paused]

    @property
    def paused(self) -> dict[str, datetime]:
        """Paused platforms and until when."""
        return dict(self._paused)

    # --- one delivery -------------------------------------------------------------------

    def _handle(self, claim: ClaimedDelivery) -> None:
        platform = claim.platform
        if platform in self._paused:  # paused by an earlier row of this batch; not tried
            self._settle(claim, "paused", self._release_paused, claim, None, False)
            return
        try:
            handoff = load_stored_handoff(claim.body)
        except BatonError as exc:
            reason = f"stored handoff is unreadable: {type(exc).__name__}"
            self._settle(claim, "dead", self._dead, claim, reason)
            return
        tries = _Tries(claim.attempts)
        try:
            ref = self._create(claim, handoff, self.creators[platform], tries)
            self.store.complete_delivery(
                claim.delivery_id,
                self.owner,
                ticket_id=ref.ticket_id,
                ticket_url=ref.url,
                route=ref.route,
                target=ref.target,
                backup=ref.backup,
            )
        except LeaseLost:
            log.info("delivery %d: lease lost; another worker owns it", claim.delivery_id)
            self._count(claim, "lease_lost")
        except AccessDenied as exc:
            # Only a platform call raises it: refund the attempt counted for that call.
            self._pause(platform, exc)
            self._settle(claim, "paused", self._release_paused, claim, _reason(exc), True)
        except TargetRefused as exc:
            prefix = "backup target refused too: " if tries.backup else ""
            self._settle(claim, "dead", self._dead, claim, prefix + _reason(exc))
        except (FatalError, ValidationError) as exc:  # IdempotencyConflict included (O3)
            self._settle(claim, "dead", self._dead, claim, _reason(exc))
        except RetryableError as exc:
            self._retry_or_dead(claim, tries.counted, exc.retry_after, _reason(exc))
        except ConfigError as exc:
            self._retry_or_dead(claim, tries.counted, None, _reason(exc))
        except Exception as exc:
            log.error(
                "delivery %d (%s): unexpected %s", claim.delivery_id, platform, type(exc).__name__
            )
            self._retry_or_dead(claim, tries.counted, None, _reason(exc))
        else:
            self._count(claim, "delivered")

    def _create(
        self, claim: ClaimedDelivery, handoff: Handoff, creator: TicketCreator, tries: _Tries
    ) -> TicketRef:
        """Call the creator with tenacity's quick retries; raise the last error if they fail.

        Each call is counted in the store first (LeaseLost stops everything before the call);
        ``tries.counted`` follows the count. Quick retries stop once ``max_attempts`` calls
        were made. A TargetRefused that offers a backup target is followed at once by one call
        on it (see :meth:`_to_backup`); later calls of this claim stay on the backup.
        """
        last: list[RetryableError] = []

        def call() -> TicketRef:
            tries.counted = self.store.count_attempt(claim.delivery_id, self.owner)
            # Any earlier call (another claim, a crashed worker, an in-process try) may have
            # reached the platform: only the very first may skip looking for its ticket.
            first = tries.counted == 1
            started = time.perf_counter()
            try:
                return creator.create_ticket(handoff, first_attempt=first, use_backup=tries.backup)
            except RetryableError as exc:
                last[:] = [exc]
                raise
            finally:
                elapsed = time.perf_counter() - started
                self._metrics.attempt_seconds.labels(claim.platform).observe(elapsed)

        def attempt() -> TicketRef:
            try:
                return call()
            except TargetRefused as exc:
                if not self._to_backup(claim, tries, exc):
                    raise
            return call()

        def before_sleep(state: RetryCallState) -> None:
            log.info(
                "delivery %d (%s): %s; try %d again in %.1f s",
                claim.delivery_id,
                claim.platform,
                _reason(last[0]) if last else "retryable error",
                state.attempt_number + 1,
                state.upcoming_sleep,
            )

        retrying = self.policy.quick_retrying(
            budget=min(self.policy.quick_budget, self.lease_seconds / 2),
            sleep=self._sleep,
            before_sleep=before_sleep,
            stop_when=lambda: tries.counted >= self.policy.max_attempts,
        )
        try:
            return retrying(attempt)
        except _Interrupted:
            raise last[0] from None

    def _to_backup(self, claim: ClaimedDelivery, tries: _Tries, exc: TargetRefused) -> bool:
        """Whether to follow ``exc`` with a call on the backup target; sets ``tries.backup``.

        Only when the refusal names a backup (the mapping has one and this create did not use
        it), once per claim, and while ``max_attempts`` allows another call.
        """
        if exc.backup is None or tries.backup or tries.counted >= self.policy.max_attempts:
            return False
        tries.backup = True
        self._metrics.backups.labels(claim.platform).inc()
        log.warning(
            "delivery %d (%s): %s; trying the backup target (%s)",
            claim.delivery_id,
            claim.platform,
            _reason(exc),
            exc.backup,
        )
        return True

    def _interruptible_sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Interrupted

    # --- outcomes -----------------------------------------------------------------------

    def _settle(
        self, claim: ClaimedDelivery, result: str, record: Callable[..., None], *args: object
    ) -> None:
        try:
            record(*args)
        except LeaseLost:
            log.info("delivery %d: lease lost; another worker owns it", claim.delivery_id)
            result = "lease_lost"
        self._count(claim, result)

    def _count(self, claim: ClaimedDelivery, result: str) -> None:
        self.results[result] += 1
        self._metrics.deliveries.labels(claim.platform, result).inc()

    def _dead(self, claim: ClaimedDelivery, reason: str) -> None:
        log.warning("delivery %d (%s) dead-lettered: %s", claim.delivery_id, claim.platform, reason)
        self.store.dead_letter(claim.delivery_id, self.owner, error=reason)

    def _retry_or_dead(
        self, claim: ClaimedDelivery, attempts: int, retry_after: float | None, reason: str
    ) -> None:
        """Dead once ``attempts`` (calls counted so far) reach the limit, else retry later."""
        if attempts >= self.policy.max_attempts:
            final = f"gave up after {attempts} attempts: {reason}"
            self._settle(claim, "dead", self._dead, claim, final)
            return
        delay = self.policy.next_delay(attempts, retry_after, self._rng)
        at = self._clock() + timedelta(seconds=delay)
        self._settle(claim, "retried", self._retry_later, claim, reason, at)

    def _retry_later(self, claim: ClaimedDelivery, reason: str, at: datetime) -> None:
        self.store.retry_delivery_later(claim.delivery_id, self.owner, error=reason, at=at)

    def _pause(self, platform: str, exc: AccessDenied) -> None:
        if platform in self._paused:
            return
        until = self._clock() + timedelta(seconds=self.policy.pause_seconds)
        self._paused[platform] = self.store.pause_platform(
            platform, until=until, reason=_reason(exc)
        )
        status = f"HTTP {exc.status}" if exc.status is not None else "access denied"
        log.error(
            "%s refused Baton's credentials (%s%s): deliveries to %s are paused for %d s; "
            "check the BATON_%s_* settings and the API user's permissions",
            platform,
            status,
            f", {exc.code}" if exc.code else "",
            platform,
            self.policy.pause_seconds,
            platform.upper(),
        )

    def _release_paused(self, claim: ClaimedDelivery, reason: str | None, refund: bool) -> None:
        until = self._paused.get(claim.platform, self._clock())
        self.store.release_delivery(
            claim.delivery_id, self.owner, at=until, error=reason, refund=refund
        )


class BackgroundJob:
    """Delivery workers running in daemon threads until :meth:`stop`.

    The service runs one in-process; ``baton worker`` runs one alone.
    """

    def __init__(
        self,
        workers: Sequence[DeliveryWorker],
        *,
        poll_interval: float = 0.5,
        name: str = "baton-delivery",
    ) -> None:
        """``workers``: one thread each (give each its own ``owner``)."""
        self.workers = list(workers)
        self.poll_interval = poll_interval
        self.name = name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start every worker's thread; return at once (idempotent)."""
        if self._threads:
            return
        self._stop.clear()
        for i, worker in enumerate(self.workers):
            thread = threading.Thread(
                target=worker.run,
                args=(self._stop, self.poll_interval),
                name=f"{self.name}-{i}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every worker to stop and wait for them (each finishes its current delivery)."""
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def wake(self) -> None:
        """Tell every worker that new deliveries are waiting."""
        for worker in self.workers:
            worker.wake()

    @property
    def alive(self) -> bool:
        """Whether any worker thread is running."""
        return any(t.is_alive() for t in self._threads)

    def __enter__(self) -> BackgroundJob:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def delivery_workers(
    store: Store,
    creators: Mapping[str, TicketCreator],
    *,
    concurrency: int = 1,
    owner: str | None = None,
    policy: RetryPolicy | None = None,
    lease_seconds: float = 60,
    batch: int = 10,
    metrics: DeliveryMetrics | None = None,
) -> list[DeliveryWorker]:
    """``concurrency`` workers sharing ``store``, with owners ``<owner>/<i>`` (default
    ``host:pid``); run them with :class:`BackgroundJob`.

    They record into ``metrics`` (the service passes the ones its ``/metrics`` serves), by
    default one :class:`DeliveryMetrics` of their own.
    """
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    prefix = owner or default_owner()
    metrics = metrics or DeliveryMetrics()
    return [
        DeliveryWorker(
            store,
            creators,
            owner=f"{prefix}/{i}",
            policy=policy,
            lease_seconds=lease_seconds,
            batch=batch,
            metrics=metrics,
        )
        for i in range(concurrency)
    ]
