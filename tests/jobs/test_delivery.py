"""The delivery worker on SQLite and PostgreSQL: RELIABILITY O2, O3 and O6 on the worker side
(O4, a handoff and its delivery row committed together, is proven by tests/store)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from jobs_fakes import FakeCreator, NoSleep, count, make_worker, only, retryable
from prometheus_client import CollectorRegistry

from baton.core.delivery import BackgroundJob, DeliveryMetrics, DeliveryWorker, delivery_workers
from baton.core.errors import (
    AccessDenied,
    FatalError,
    IdempotencyConflict,
)
from baton.core.retry import RetryPolicy
from baton.core.store import Store
from baton.core.tables import HandoffRow
from tests.support.builders import make_handoff

if TYPE_CHECKING:
    from tests.conftest import Database

# --- a stored handoff, delivered ---------------------------------------------------------


def test_a_stored_handoff_is_delivered_once_the_worker_runs_and_never_again(
    store: Store, metrics: DeliveryMetrics, registry: CollectorRegistry
) -> None:
    creator = FakeCreator()
    store.add_handoff(make_handoff("h-1"), "zendesk")
    worker = make_worker(store, {"zendesk": creator}, metrics)

    assert worker.run_once() == 1
    assert creator.calls == [("h-1", True)]
    link = store.ticket_link("h-1")
    assert link is not None
    assert (link.platform, link.ticket_id) == ("zendesk", creator.tickets["h-1"])
    assert link.ticket_url == f"https://desk.test/{link.ticket_id}"
    assert (only(store).state, only(store).attempts) == ("delivered", 1)
    with store.session() as session:
        assert session.get_one(HandoffRow, "h-1").status == "delivered"

    assert worker.run_once() == 0  # nothing left: never a second ticket
    assert len(creator.calls) == 1
    assert count(registry, "delivered") == 1
    assert (
        registry.get_sample_value("baton_delivery_attempt_seconds_count", {"platform": "zendesk"})
        == 1
    )


def test_worker_claims_only_the_platforms_it_has_creators_for(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff("h-z"), "zendesk")
    store.add_handoff(make_handoff("h-h"), "hubspot")
    worker = make_worker(store, {"zendesk": FakeCreator()}, metrics)
    assert worker.drain() == 1
    states = {d.handoff_id: d.state for d in store.list_deliveries()}
    assert states == {"h-z": "delivered", "h-h": "pending"}


# --- O2 -----------------------------------------------------------------------------------


def test_o2_same_key_on_every_attempt_across_workers_and_restarts(
    database: Database, store: Store, metrics: DeliveryMetrics
) -> None:
    """O2: every call carries the handoff (its id is the key); only the very first call is a
    first attempt — not the in-process retry, not another worker's claim, not the claim after
    a crashed worker's lease expired."""
    store.add_handoff(make_handoff("h-1"), "zendesk")
    store.add_handoff(make_handoff("h-2"), "zendesk")
    creator = FakeCreator(
        script=[retryable(503), retryable(None), retryable(429, 1), retryable(503)]
    )
    now = datetime.now(UTC)
    policy = RetryPolicy(quick_tries=2, quick_initial=0.01, quick_max=0.02)

    # Worker A: for each handoff, two quick tries fail → back to the outbox.
    a = make_worker(store, {"zendesk": creator}, metrics, owner="a", policy=policy)
    assert a.run_once() == 2
    assert {d.state for d in store.list_deliveries()} == {"pending"}

    # A process "crashes" holding h-2's lease (claimed, never finished).
    later = now + timedelta(hours=3)
    crashed = store.claim_deliveries("crashed", limit=1, now=later)
    assert [c.handoff_id for c in crashed] in (["h-1"], ["h-2"])

    # Worker B: another process with its own engine, after the crashed lease expired.
    other = database.new_store()
    try:
        b = make_worker(
            other,
            {"zendesk": creator},
            metrics,
            owner="b",
            policy=policy,
            clock=lambda: later + timedelta(minutes=5),
        )
        assert b.drain() == 2
    finally:
        other.close()

    assert {d.state for d in store.list_deliveries()} == {"delivered"}
    for handoff_id in ("h-1", "h-2"):
        firsts = [first for hid, first in creator.calls if hid == handoff_id]
        assert firsts[0] is True
        assert not any(firsts[1:]), firsts
        assert len(firsts) >= 3
    assert len(creator.created) == 2  # one ticket each


# --- O6: the classification table ---------------------------------------------------------


def test_o6_429_retry_after_longer_than_the_lease_goes_back_to_the_outbox(
    store: Store, metrics: DeliveryMetrics, no_sleep: NoSleep
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(429, retry_after=120)])
    before = datetime.now(UTC)
    make_worker(store, {"zendesk": creator}, metrics, sleep=no_sleep).run_once()

    view = only(store)
    assert (view.state, view.attempts) == ("pending", 1)
    assert view.next_attempt_at >= before + timedelta(seconds=120)
    assert view.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=121)
    assert view.last_error is not None
    assert view.last_error.startswith("RetryableError http_429")
    assert len(creator.calls) == 1  # no in-process wait could honour 120 s inside the lease
    assert no_sleep.waits == []


def test_o6_429_short_retry_after_is_honoured_in_process(
    store: Store, metrics: DeliveryMetrics, no_sleep: NoSleep
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(429, retry_after=3)])
    make_worker(store, {"zendesk": creator}, metrics, sleep=no_sleep).run_once()
    assert only(store).state == "delivered"
    assert [first for _, first in creator.calls] == [True, False]
    assert len(no_sleep.waits) == 1
    assert no_sleep.waits[0] >= 3


def test_o6_5xx_backs_off_exponentially_with_jitter(
    store: Store, metrics: DeliveryMetrics, no_sleep: NoSleep
) -> None:
    policy = RetryPolicy(quick_tries=3, quick_initial=1, quick_max=4, backoff_initial=30)
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(500)] * 3)
    before = datetime.now(UTC)
    make_worker(store, {"zendesk": creator}, metrics, policy=policy, sleep=no_sleep).run_once()

    assert len(creator.calls) == 3  # three quick tries …
    assert len(no_sleep.waits) == 2
    assert 1 <= no_sleep.waits[0] <= 2  # initial + up to `initial` of jitter
    assert 2 <= no_sleep.waits[1] <= 3
    # … each counted, then back to the outbox for backoff(3) = 120 s (+ ≤ 25 % jitter).
    view = only(store)
    assert (view.state, view.attempts) == ("pending", 3)
    assert before + timedelta(seconds=120) <= view.next_attempt_at
    assert view.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=150)


def test_o6_backoff_grows_with_attempts_and_is_capped() -> None:
    policy = RetryPolicy(backoff_initial=30, backoff_max=600, jitter=0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5, 6, 50)] == [
        30,
        60,
        120,
        240,
        480,
        600,
        600,
    ]
    assert policy.next_delay(1, retry_after=90) == 90
    jittery = RetryPolicy(backoff_initial=30, jitter=0.5)
    delays = {jittery.backoff(1) for _ in range(20)}
    assert len(delays) > 1
    assert all(30 <= d <= 45 for d in delays)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (retryable(None), "RetryableError connection_error"),
        (retryable(504), "RetryableError http_504"),
        (ConnectionResetError("peer reset; token=abc123"), "unexpected ConnectionResetError"),
        (KeyError("transcript: my card is 4111"), "unexpected KeyError"),
    ],
    ids=["connection-error", "timeout-504", "raw-connection-reset", "unexpected-bug"],
)
def test_o6_connection_errors_and_unexpected_failures_are_retried_later(
    store: Store,
    metrics: DeliveryMetrics,
    error: BaseException,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[error] * 3)
    with caplog.at_level(logging.INFO):
        make_worker(store, {"zendesk": creator}, metrics).run_once()
    view = only(store)
    assert view.state == "pending"
    assert view.last_error is not None
    assert view.last_error.startswith(reason)
    # Unexpected exceptions are recorded and logged by type only (C2).
    for text in (view.last_error, caplog.text):
        assert "abc123" not in text
        assert "4111" not in text


@pytest.mark.parametrize("status", [400, 404, 422])
def test_o6_other_4xx_are_dead_immediately(
    store: Store, metrics: DeliveryMetrics, registry: CollectorRegistry, status: int
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    error = FatalError("RecordInvalid: priority", platform="zendesk", status=status, code="E")
    creator = FakeCreator(script=[error])
    make_worker(store, {"zendesk": creator}, metrics).run_once()
    view = only(store)
    assert (view.state, view.attempts) == ("dead", 1)
    assert view.last_error == f"FatalError http_{status} E: zendesk: RecordInvalid: priority"
    assert len(creator.calls) == 1
    assert store.ticket_link("h-1") is None
    with store.session() as session:
        assert session.get_one(HandoffRow, "h-1").status == "failed"
    assert count(registry, "dead") == 1


@pytest.mark.parametrize("status", [401, 403])
def test_o6_401_403_pause_the_platform_without_burning_the_attempt(
    store: Store,
    metrics: DeliveryMetrics,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    for hid in ("h-z1", "h-z2"):
        store.add_handoff(make_handoff(hid), "zendesk")
    store.add_handoff(make_handoff("h-hub"), "hubspot")
    denied = AccessDenied("invalid token", platform="zendesk", status=status, code="Unauth")
    zendesk = FakeCreator("zendesk", script=[denied])
    hubspot = FakeCreator("hubspot")
    now = [datetime.now(UTC)]
    policy = RetryPolicy(pause_seconds=300)
    worker = make_worker(
        store,
        {"zendesk": zendesk, "hubspot": hubspot},
        metrics,
        policy=policy,
        clock=lambda: now[0],
    )

    with caplog.at_level(logging.INFO, logger="baton.core.delivery"):
        assert worker.run_once() == 3
    assert len(zendesk.calls) == 1  # the second zendesk row is not even tried
    states = {d.handoff_id: (d.state, d.attempts) for d in store.list_deliveries()}
    assert states == {"h-z1": ("pending", 0), "h-z2": ("pending", 0), "h-hub": ("delivered", 1)}
    assert set(worker.paused) == {"zendesk"}
    pause_lines = [r for r in caplog.records if "paused" in r.getMessage()]
    assert len(pause_lines) == 1
    assert "zendesk" in pause_lines[0].getMessage()
    assert f"HTTP {status}" in pause_lines[0].getMessage()
    assert count(registry, "paused") == 2

    # While paused, zendesk rows are not claimed even when due; other platforms continue.
    store.add_handoff(make_handoff("h-hub2"), "hubspot")
    now[0] += timedelta(seconds=299)
    assert worker.run_once() == 1
    assert hubspot.calls[-1] == ("h-hub2", True)

    # After the pause, zendesk is tried again — as a first attempt, nothing was burnt.
    now[0] += timedelta(seconds=2)
    assert worker.drain() == 2
    assert sorted(zendesk.calls[1:]) == [("h-z1", True), ("h-z2", True)]
    assert {d.state for d in store.list_deliveries()} == {"delivered"}


def test_o6_after_max_attempts_the_delivery_is_dead_lettered(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(503)] * 10)
    now = [datetime.now(UTC)]
    policy = RetryPolicy(max_attempts=3, quick_tries=1)
    worker = make_worker(store, {"zendesk": creator}, metrics, policy=policy, clock=lambda: now[0])
    for expected in ("pending", "pending", "dead"):
        assert worker.run_once() == 1
        assert only(store).state == expected
        now[0] += timedelta(days=1)
    assert worker.run_once() == 0
    [dead] = store.list_deliveries("dead")
    assert dead.attempts == 3
    assert (
        dead.last_error == "gave up after 3 attempts: RetryableError http_503: zendesk: try again"
    )
    assert len(creator.calls) == 3

    creator.script = []
    assert store.requeue(dead.id)
    assert worker.run_once() == 1
    assert only(store).state == "delivered"


# --- O3 at the worker ---------------------------------------------------------------------


def test_o3_idempotency_conflict_is_dead_lettered_never_delivered(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    conflict = IdempotencyConflict(
        "Idempotency-Key reused with another payload",
        platform="zendesk",
        status=400,
        code="IdempotencyKeyConflict",
    )
    make_worker(store, {"zendesk": FakeCreator(script=[conflict])}, metrics).run_once()
    view = only(store)
    assert view.state == "dead"
    assert view.last_error is not None
    assert view.last_error.startswith("IdempotencyConflict http_400 IdempotencyKeyConflict")
    assert store.ticket_link("h-1") is None


def test_o3_a_ticket_already_linked_to_another_handoff_is_dead_lettered(
    store: Store, metrics: DeliveryMetrics
) -> None:
    """The creator answers the same ticket for two handoffs: the second is a conflict."""
    store.add_handoff(make_handoff("h-1"), "zendesk")
    store.add_handoff(make_handoff("h-2"), "zendesk")
    creator = FakeCreator()
    creator.tickets = {"h-1": "77", "h-2": "77"}
    make_worker(store, {"zendesk": creator}, metrics).drain()
    states = {d.handoff_id: d.state for d in store.list_deliveries()}
    assert states == {"h-1": "delivered", "h-2": "dead"}
    assert store.handoff_for_ticket("zendesk", "77") == "h-1"
    [dead] = store.list_deliveries("dead")
    assert dead.last_error is not None
    assert dead.last_error.startswith("IdempotencyConflict")


# --- other outcomes -----------------------------------------------------------------------


def test_an_unreadable_stored_body_is_dead_lettered_not_a_crash(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff("h-1"), "zendesk")
    store.add_handoff(make_handoff("h-2"), "zendesk")
    with store.session() as session:
        session.get_one(HandoffRow, "h-1").body = '{"id": "h-1", "summary": "secret text"'
    creator = FakeCreator()
    assert make_worker(store, {"zendesk": creator}, metrics).drain() == 2
    states = {d.handoff_id: (d.state, d.attempts, d.last_error) for d in store.list_deliveries()}
    assert states["h-1"] == ("dead", 0, "stored handoff is unreadable: ValidationError")
    assert states["h-2"] == ("delivered", 1, None)
    assert [hid for hid, _ in creator.calls] == ["h-2"]


def test_a_lost_lease_is_left_to_its_new_owner(
    store: Store, metrics: DeliveryMetrics, registry: CollectorRegistry
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    far = datetime.now(UTC) + timedelta(hours=1)

    class SlowCreator(FakeCreator):
        def create_ticket(
            self, handoff: Any, *, first_attempt: bool = True, use_backup: bool = False
        ) -> Any:
            store.claim_deliveries("thief", now=far)  # our lease expired meanwhile
            return super().create_ticket(
                handoff, first_attempt=first_attempt, use_backup=use_backup
            )

    worker = make_worker(store, {"zendesk": SlowCreator()}, metrics)
    assert worker.run_once() == 1
    view = only(store)
    assert (view.state, view.lease_owner) == ("leased", "thief")
    assert store.ticket_link("h-1") is None
    assert worker.results["lease_lost"] == 1
    assert count(registry, "lease_lost") == 1


# --- running in the background ------------------------------------------------------------


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_background_job_delivers_what_arrives_and_stops_promptly(
    store: Store, metrics: DeliveryMetrics
) -> None:
    creator = FakeCreator()
    workers = delivery_workers(store, {"zendesk": creator}, concurrency=2, metrics=metrics)
    assert [w.owner.rsplit("/", 1)[1] for w in workers] == ["0", "1"]
    job = BackgroundJob(workers, poll_interval=5)
    job.start()
    try:
        assert job.alive
        store.add_handoff(make_handoff(), "zendesk")
        job.wake()  # no need to wait for the 5 s poll
        wait_until(lambda: store.list_deliveries()[0].state == "delivered", timeout=3)
    finally:
        started = time.monotonic()
        job.stop()
    assert time.monotonic() - started < 2
    assert not job.alive
    assert creator.calls == [("h-1", True)]


def test_stopping_during_a_retry_wait_does_not_hang_and_keeps_the_delivery(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(503)] * 10)
    slow = RetryPolicy(quick_tries=3, quick_initial=5, quick_max=5)
    worker = DeliveryWorker(store, {"zendesk": creator}, owner="w", policy=slow, metrics=metrics)
    with BackgroundJob([worker], poll_interval=0.05):
        wait_until(lambda: len(creator.calls) >= 1)
        started = time.monotonic()
    assert time.monotonic() - started < 2  # the 5 s wait was cut short
    view = only(store)
    assert (view.state, view.attempts) == ("pending", 1)
    assert view.last_error is not None
    assert view.last_error.startswith("RetryableError http_503")
