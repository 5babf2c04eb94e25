"""When the worker counts an attempt (RELIABILITY O1, O6), on SQLite and PostgreSQL.

An attempt is one platform call, committed by ``Store.count_attempt`` just before the call: a
claim counts nothing, a crash costs only the call that was in flight, and ``first_attempt``
is True only for the call counted as the first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from jobs_fakes import FakeCreator, make_worker, retryable
from sqlalchemy import update

from baton.core.delivery import DeliveryMetrics
from baton.core.errors import AccessDenied
from baton.core.handoff import Handoff
from baton.core.ports import TicketRef
from baton.core.retry import RetryPolicy
from baton.core.store import Store
from baton.core.tables import DeliveryRow
from tests.support.builders import make_handoff

if TYPE_CHECKING:
    from tests.conftest import Database


class Crash(BaseException):
    """Stands for kill -9: nothing in the worker catches it, nothing more is recorded."""


def attempts(store: Store) -> dict[str, int]:
    """Attempts counted per handoff id."""
    return {d.handoff_id: d.attempts for d in store.list_deliveries()}


def test_o1_a_crash_after_the_first_row_of_a_batch_costs_the_untried_rows_nothing(
    store: Store, metrics: DeliveryMetrics
) -> None:
    """A worker claims three rows and dies during the first one's call. Once its lease has run
    out, the two rows it never tried are at 0 attempts, due when they always were, and the
    next worker sends them as first attempts; only the first row looks for its ticket."""
    for hid in ("h-1", "h-2", "h-3"):
        store.add_handoff(make_handoff(hid), "zendesk")
    due = {d.handoff_id: d.next_attempt_at for d in store.list_deliveries()}
    creator = FakeCreator(script=[Crash()])
    now = datetime.now(UTC)
    dying = make_worker(store, {"zendesk": creator}, metrics, owner="dying", batch=3)
    with pytest.raises(Crash):
        dying.run_once()
    assert creator.calls == [("h-1", True)]
    assert {d.state for d in store.list_deliveries()} == {"leased"}
    assert attempts(store) == {"h-1": 1, "h-2": 0, "h-3": 0}
    for view in store.list_deliveries():
        assert view.next_attempt_at == due[view.handoff_id]

    later = now + timedelta(minutes=5)  # the 60 s lease has run out
    restarted = make_worker(store, {"zendesk": creator}, metrics, owner="next", clock=lambda: later)
    assert restarted.drain() == 3
    assert creator.calls[1:] == [("h-1", False), ("h-2", True), ("h-3", True)]
    assert attempts(store) == {"h-1": 2, "h-2": 1, "h-3": 1}
    assert {d.state for d in store.list_deliveries()} == {"delivered"}


def test_o1_the_attempt_is_committed_before_each_platform_call(
    database: Database, store: Store, metrics: DeliveryMetrics
) -> None:
    """During every call — quick retries included — another connection already sees that
    call counted; only the call counted as the first is a first attempt."""
    store.add_handoff(make_handoff(), "zendesk")
    observer = database.new_store()
    seen: list[tuple[int, bool]] = []

    class Observed(FakeCreator):
        def create_ticket(
            self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
        ) -> TicketRef:
            [view] = observer.list_deliveries()
            seen.append((view.attempts, first_attempt))
            return super().create_ticket(
                handoff, first_attempt=first_attempt, use_backup=use_backup
            )

    creator = Observed(script=[retryable(503), retryable(None)])
    try:
        assert make_worker(store, {"zendesk": creator}, metrics).run_once() == 1
    finally:
        observer.close()
    assert seen == [(1, True), (2, False), (3, False)]
    [view] = store.list_deliveries()
    assert (view.state, view.attempts) == ("delivered", 3)


def test_o1_a_lease_lost_when_counting_makes_no_platform_call(
    store: Store, metrics: DeliveryMetrics
) -> None:
    """Another worker takes both leases while h-1's first call fails: h-1's quick retry and
    h-2's call are never made, and neither row is counted for them."""
    store.add_handoff(make_handoff("h-1"), "zendesk")
    store.add_handoff(make_handoff("h-2"), "zendesk")
    far = datetime.now(UTC) + timedelta(hours=1)

    class Overtaken(FakeCreator):
        def create_ticket(
            self, handoff: Any, *, first_attempt: bool = True, use_backup: bool = False
        ) -> Any:
            store.claim_deliveries("thief", now=far)  # our leases expired meanwhile
            return super().create_ticket(
                handoff, first_attempt=first_attempt, use_backup=use_backup
            )

    creator = Overtaken(script=[retryable(503)])
    worker = make_worker(store, {"zendesk": creator}, metrics, batch=2)
    assert worker.run_once() == 2
    assert creator.calls == [("h-1", True)]
    assert worker.results["lease_lost"] == 2
    assert attempts(store) == {"h-1": 1, "h-2": 0}
    assert {(d.state, d.lease_owner) for d in store.list_deliveries()} == {("leased", "thief")}


def test_o6_max_attempts_counts_platform_calls_quick_retries_included(
    store: Store, metrics: DeliveryMetrics
) -> None:
    """max_attempts=4 with three quick tries: three calls in the first claim, one in the
    second, then the dead letter — never a fifth call."""
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(503)] * 10)
    now = [datetime.now(UTC)]
    policy = RetryPolicy(max_attempts=4, quick_tries=3, quick_initial=0.01, quick_max=0.02)
    worker = make_worker(store, {"zendesk": creator}, metrics, policy=policy, clock=lambda: now[0])

    assert worker.run_once() == 1
    assert (store.list_deliveries()[0].state, len(creator.calls)) == ("pending", 3)
    now[0] += timedelta(days=1)
    assert worker.run_once() == 1
    [dead] = store.list_deliveries("dead")
    assert dead.attempts == 4
    assert dead.last_error is not None
    assert dead.last_error.startswith("gave up after 4 attempts: RetryableError http_503")
    assert len(creator.calls) == 4


def test_o6_a_pause_refunds_only_the_refused_call_and_leaves_untried_rows_as_they_were(
    store: Store, metrics: DeliveryMetrics
) -> None:
    """Two rows with 2 earlier calls each: h-1's third call fails, its fourth is refused (401)
    and refunded; h-2, released untried because zendesk is now paused, keeps its 2."""
    store.add_handoff(make_handoff("h-1"), "zendesk")
    store.add_handoff(make_handoff("h-2"), "zendesk")
    with store.session() as session:
        session.execute(update(DeliveryRow).values(attempts=2))
    denied = AccessDenied("invalid token", platform="zendesk", status=401, code="Unauth")
    creator = FakeCreator(script=[retryable(503), denied])
    worker = make_worker(store, {"zendesk": creator}, metrics, batch=2)

    assert worker.run_once() == 2
    assert creator.calls == [("h-1", False), ("h-1", False)]
    assert attempts(store) == {"h-1": 3, "h-2": 2}
    assert {d.state for d in store.list_deliveries()} == {"pending"}
    assert worker.results["paused"] == 2
