"""The store, on SQLite and PostgreSQL (the ``store`` and ``database`` fixtures run each test
on both). Test names carry the RELIABILITY ids they prove."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from baton.core.disposition import Disposition, Outcome
from baton.core.errors import ConfigError, IdempotencyConflict
from baton.core.handoff import Handoff
from baton.core.settings import database_url, masked_url
from baton.core.store import AddResult, LeaseLost, Store, alembic_config
from baton.core.tables import Base, DeliveryRow, HandoffRow, SyncCursorRow
from tests.support.builders import make_handoff

if TYPE_CHECKING:
    from tests.conftest import Database

T = TypeVar("T")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EMPTY = dict.fromkeys(t.name for t in Base.metadata.sorted_tables)


def make_disposition(outcome: Outcome, at: datetime, handoff_id: str = "h-1") -> Disposition:
    return Disposition(
        handoff_id=handoff_id,
        platform="zendesk",
        ticket_id="42",
        outcome=outcome,
        occurred_at=at,
        source="webhook",
        event_id=f"evt-{outcome}-{at.timestamp():.0f}",
    )


def counts(store: Store) -> dict[str, int]:
    return store.table_counts()


def run_threads(n: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in n threads released together; re-raise the first failure."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    if errors:
        raise errors[0]
    return results


# --- schema ------------------------------------------------------------------------------


def test_migrate_is_idempotent_and_schema_matches_metadata(store: Store) -> None:
    store.migrate()
    store.migrate()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert head is not None
        assert context.get_current_revision() == head
        assert compare_metadata(context, Base.metadata) == []
    assert counts(store) == dict.fromkeys(EMPTY, 0)


# --- handoffs and the outbox (O4) --------------------------------------------------------


def test_o4_add_handoff_creates_handoff_and_pending_delivery_together(store: Store) -> None:
    handoff = make_handoff()
    assert store.add_handoff(handoff, "zendesk") == AddResult(created=True, conflict=False)
    [delivery] = store.list_deliveries()
    assert (delivery.handoff_id, delivery.platform, delivery.state) == ("h-1", "zendesk", "pending")
    assert delivery.attempts == 0
    with store.session() as session:
        row = session.get_one(HandoffRow, "h-1")
        assert row.status == "received"
        assert row.body == handoff.model_dump_json()
        assert Handoff.model_validate_json(row.body) == handoff


def test_o4_failed_delivery_insert_leaves_neither_row(store: Store) -> None:
    """O4: the handoff INSERT has run in the transaction when the delivery insert fails."""
    seen: list[int] = []

    def boom(_mapper: Any, connection: sa.Connection, _target: Any) -> None:
        seen.append(connection.scalar(sa.select(sa.func.count()).select_from(HandoffRow)) or 0)
        raise RuntimeError("delivery insert failed")

    sa.event.listen(DeliveryRow, "before_insert", boom)
    try:
        with pytest.raises(RuntimeError, match="delivery insert failed"):
            store.add_handoff(make_handoff(), "zendesk")
    finally:
        sa.event.remove(DeliveryRow, "before_insert", boom)
    assert seen == [1]
    assert counts(store) == dict.fromkeys(EMPTY, 0)
    assert store.add_handoff(make_handoff(), "zendesk").created


def test_same_id_same_body_is_not_created_and_not_a_conflict(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    before = counts(store)
    assert store.add_handoff(make_handoff(), "zendesk") == AddResult(created=False, conflict=False)
    assert counts(store) == before


def test_same_id_other_body_is_a_conflict_and_writes_nothing(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    before = counts(store)
    result = store.add_handoff(make_handoff(summary="Something else entirely"), "zendesk")
    assert result == AddResult(created=False, conflict=True)
    assert counts(store) == before
    with store.session() as session:
        assert "over the limit" in session.get_one(HandoffRow, "h-1").body


def test_concurrent_duplicate_handoffs_are_decided_by_the_primary_key(database: Database) -> None:
    stores = [database.new_store() for _ in range(2)]
    stores[0].migrate()
    try:
        results = run_threads(8, lambda i: stores[i % 2].add_handoff(make_handoff(), "zendesk"))
        assert sorted(r.created for r in results) == [False] * 7 + [True]
        assert not any(r.conflict for r in results)
        assert len(stores[0].list_deliveries()) == 1
    finally:
        for store in stores:
            store.close()


# --- claims and leases -------------------------------------------------------------------


def test_two_owners_never_claim_the_same_row(store: Store) -> None:
    for i in range(5):
        store.add_handoff(make_handoff(f"h-{i}"), "zendesk")
    later = datetime.now(UTC) + timedelta(seconds=1)
    first = store.claim_deliveries("worker-a", limit=3, now=later)
    second = store.claim_deliveries("worker-b", limit=10, now=later)
    assert len(first) == 3
    assert len(second) == 2
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    assert store.claim_deliveries("worker-c", now=later) == []
    assert {c.attempts for c in first + second} == {0}  # claiming counts no attempt (O1)
    assert Handoff.model_validate_json(first[0].body).id == first[0].handoff_id
    leased = store.list_deliveries("leased")
    assert {d.lease_owner for d in leased} == {"worker-a", "worker-b"}


def test_pending_row_is_not_claimed_before_it_is_due(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    assert store.claim_deliveries("w", now=datetime.now(UTC) - timedelta(hours=1)) == []
    assert len(store.claim_deliveries("w")) == 1


def test_expired_lease_is_reclaimed_and_the_old_owner_loses_it(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    now = datetime.now(UTC)
    [a] = store.claim_deliveries("worker-a", lease_seconds=60, now=now)
    assert store.count_attempt(a.delivery_id, "worker-a") == 1
    assert store.claim_deliveries("worker-b", now=now + timedelta(seconds=59)) == []
    [b] = store.claim_deliveries("worker-b", lease_seconds=60, now=now + timedelta(seconds=61))
    assert (b.delivery_id, b.attempts) == (a.delivery_id, 1)

    with pytest.raises(LeaseLost):
        store.complete_delivery(a.delivery_id, "worker-a", ticket_id="1", ticket_url=None)
    assert store.ticket_link("h-1") is None

    store.complete_delivery(b.delivery_id, "worker-b", ticket_id="7", ticket_url="https://x/7")
    link = store.ticket_link("h-1")
    assert link is not None
    assert (link.platform, link.ticket_id, link.ticket_url) == ("zendesk", "7", "https://x/7")
    assert store.handoff_for_ticket("zendesk", "7") == "h-1"
    assert store.handoff_for_ticket("hubspot", "7") is None
    [delivery] = store.list_deliveries()
    assert (delivery.state, delivery.lease_owner, delivery.lease_expires_at) == (
        "delivered",
        None,
        None,
    )
    with store.session() as session:
        assert session.get_one(HandoffRow, "h-1").status == "delivered"
    with pytest.raises(LeaseLost):  # finished: nobody holds it any more
        store.complete_delivery(b.delivery_id, "worker-b", ticket_id="7", ticket_url=None)
    assert store.claim_deliveries("worker-c", now=now + timedelta(days=1)) == []


def test_o3_a_ticket_linked_to_another_handoff_is_a_conflict(store: Store) -> None:
    store.add_handoff(make_handoff("h-1"), "zendesk")
    store.add_handoff(make_handoff("h-2"), "zendesk")
    one, two = store.claim_deliveries("w")
    store.complete_delivery(one.delivery_id, "w", ticket_id="9", ticket_url=None)
    with pytest.raises(IdempotencyConflict):
        store.complete_delivery(two.delivery_id, "w", ticket_id="9", ticket_url=None)
    # Rolled back: still leased to "w", which can dead-letter it.
    assert store.list_deliveries("leased")[0].id == two.delivery_id
    store.dead_letter(two.delivery_id, "w", error="IdempotencyConflict: ticket already linked")


def test_retry_later_gives_the_lease_back_until_the_given_time(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    now = datetime.now(UTC)
    [claim] = store.claim_deliveries("w", now=now)
    assert store.count_attempt(claim.delivery_id, "w") == 1
    store.retry_delivery_later(
        claim.delivery_id, "w", error="http_503: " + "x" * 600, at=now + timedelta(seconds=30)
    )
    [view] = store.list_deliveries()
    assert (view.state, view.lease_owner, view.attempts) == ("pending", None, 1)
    assert view.last_error is not None
    assert view.last_error.startswith("http_503: ")
    assert len(view.last_error) == 500
    assert store.claim_deliveries("w", now=now + timedelta(seconds=29)) == []
    [again] = store.claim_deliveries("w2", now=now + timedelta(seconds=31))
    assert again.attempts == 1
    with pytest.raises(LeaseLost):
        store.retry_delivery_later(claim.delivery_id, "w", error="late", at=now)


def test_dead_letter_fails_the_handoff_and_requeue_brings_it_back(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    [claim] = store.claim_deliveries("w")
    store.dead_letter(claim.delivery_id, "w", error="http_422: RecordInvalid")
    [dead] = store.list_deliveries("dead")
    assert dead.last_error == "http_422: RecordInvalid"
    with store.session() as session:
        assert session.get_one(HandoffRow, "h-1").status == "failed"
    assert store.claim_deliveries("w", now=datetime.now(UTC) + timedelta(days=1)) == []

    assert store.requeue(claim.delivery_id) is True
    assert store.requeue(claim.delivery_id) is False  # no longer dead
    assert store.requeue(999_999) is False
    [pending] = store.list_deliveries("pending")
    assert pending.attempts == 0
    with store.session() as session:
        assert session.get_one(HandoffRow, "h-1").status == "received"
    assert len(store.claim_deliveries("w")) == 1


def test_o1_a_claim_counts_no_attempt_so_a_crash_costs_the_untried_rows_nothing(
    store: Store,
) -> None:
    """A worker claims three rows, counts (and makes) one call, then dies: once the lease
    runs out the two rows it never tried are at 0 attempts and due at their original time."""
    for i in range(3):
        store.add_handoff(make_handoff(f"h-{i}"), "zendesk")
    due = {d.id: d.next_attempt_at for d in store.list_deliveries()}
    now = datetime.now(UTC) + timedelta(seconds=1)
    tried, *untried = store.claim_deliveries("crashed", limit=3, lease_seconds=60, now=now)
    assert store.count_attempt(tried.delivery_id, "crashed") == 1
    # … kill -9 here: nothing else is recorded.

    later = now + timedelta(seconds=61)
    reclaimed = {c.delivery_id: c for c in store.claim_deliveries("next", now=later)}
    assert reclaimed[tried.delivery_id].attempts == 1
    for claim in untried:
        assert reclaimed[claim.delivery_id].attempts == 0
    views = {d.id: d for d in store.list_deliveries()}
    assert views[tried.delivery_id].attempts == 1
    for claim in untried:
        assert views[claim.delivery_id].attempts == 0
        assert views[claim.delivery_id].next_attempt_at == due[claim.delivery_id]


def test_o1_count_attempt_commits_at_once_and_only_under_the_lease(database: Database) -> None:
    """The count is committed before the call (another connection sees it); a caller that
    no longer holds the lease gets LeaseLost and counts nothing."""
    store, other = database.new_store(), database.new_store()
    store.migrate()
    try:
        store.add_handoff(make_handoff(), "zendesk")
        now = datetime.now(UTC)
        [a] = store.claim_deliveries("worker-a", lease_seconds=60, now=now)
        assert store.count_attempt(a.delivery_id, "worker-a") == 1
        assert store.count_attempt(a.delivery_id, "worker-a") == 2
        seen = other.get_delivery(a.delivery_id)
        assert seen is not None
        assert seen.attempts == 2

        with pytest.raises(LeaseLost):  # never leased to this owner
            store.count_attempt(a.delivery_id, "stranger")
        later = now + timedelta(seconds=61)
        [b] = other.claim_deliveries("worker-b", now=later)
        with pytest.raises(LeaseLost):  # expired and taken over
            store.count_attempt(a.delivery_id, "worker-a")
        assert other.count_attempt(b.delivery_id, "worker-b") == 3
        other.complete_delivery(b.delivery_id, "worker-b", ticket_id="1", ticket_url=None)
        with pytest.raises(LeaseLost):  # finished
            other.count_attempt(b.delivery_id, "worker-b")
        with pytest.raises(LeaseLost):
            store.count_attempt(999_999, "worker-a")
        assert [d.attempts for d in store.list_deliveries()] == [3]
    finally:
        store.close()
        other.close()


def test_o6_release_keeps_the_attempts_unless_it_refunds_the_refused_call(store: Store) -> None:
    """A row released untried keeps its count; a refund takes back one call, never below 0."""
    store.add_handoff(make_handoff(), "zendesk")
    now = datetime.now(UTC)
    [claim] = store.claim_deliveries("w", now=now)
    store.count_attempt(claim.delivery_id, "w")
    store.count_attempt(claim.delivery_id, "w")
    store.release_delivery(claim.delivery_id, "w", at=now, error="paused")
    [view] = store.list_deliveries()
    assert (view.state, view.attempts, view.last_error) == ("pending", 2, "paused")

    [claim] = store.claim_deliveries("w", now=now)
    store.release_delivery(claim.delivery_id, "w", at=now, refund=True)
    assert store.list_deliveries()[0].attempts == 1
    [claim] = store.claim_deliveries("w", now=now)
    store.release_delivery(claim.delivery_id, "w", at=now, refund=True)
    [claim] = store.claim_deliveries("w", now=now)
    store.release_delivery(claim.delivery_id, "w", at=now, refund=True)
    assert store.list_deliveries()[0].attempts == 0
    with pytest.raises(LeaseLost):
        store.release_delivery(claim.delivery_id, "w", at=now, refund=True)


def test_o5_two_workers_claim_every_delivery_exactly_once(database: Database) -> None:
    """O5 (store side): two workers on their own engines drain 100 deliveries concurrently."""
    workers = [database.new_store() for _ in range(2)]
    workers[0].migrate()
    try:
        for i in range(100):
            workers[0].add_handoff(make_handoff(f"h-{i:03d}"), "zendesk")

        def drain(i: int) -> list[int]:
            mine: list[int] = []
            while batch := workers[i].claim_deliveries(f"worker-{i}", limit=3, lease_seconds=600):
                for claim in batch:
                    workers[i].count_attempt(claim.delivery_id, f"worker-{i}")
                    workers[i].complete_delivery(
                        claim.delivery_id,
                        f"worker-{i}",
                        ticket_id=claim.handoff_id,
                        ticket_url=None,
                    )
                    mine.append(claim.delivery_id)
            return mine

        per_worker = run_threads(2, drain)
        claimed = per_worker[0] + per_worker[1]
        assert len(claimed) == len(set(claimed)) == 100
        assert {d.state for d in workers[0].list_deliveries()} == {"delivered"}
        assert {d.attempts for d in workers[0].list_deliveries()} == {1}
        assert counts(workers[0])["ticket_links"] == 100
    finally:
        for worker in workers:
            worker.close()


# --- inbound (D2, A7) --------------------------------------------------------------------


def test_record_inbound_event_is_new_once_per_platform_and_event(store: Store) -> None:
    assert store.record_inbound_event("zendesk", "evt-1", b'{"a": 1}') is True
    assert store.record_inbound_event("zendesk", "evt-1", b'{"a": 1}') is False
    assert store.record_inbound_event("hubspot", "evt-1", b"[]") is True
    assert counts(store)["inbound_events"] == 2


def test_d2_same_event_from_ten_threads_stores_one_row(database: Database) -> None:
    stores = [database.new_store() for _ in range(2)]
    stores[0].migrate()
    try:
        body = b'{"id": "evt-1",  "odd": "\\u00e9"}'
        results = run_threads(
            10, lambda i: stores[i % 2].record_inbound_event("zendesk", "evt-1", body)
        )
        assert sorted(results) == [False] * 9 + [True]
        assert counts(stores[0])["inbound_events"] == 1
        with stores[0].session() as session:
            stored = session.execute(sa.text("SELECT body FROM inbound_events")).scalar_one()
        assert bytes(stored) == body
    finally:
        for store in stores:
            store.close()


def test_a7_quarantine_keeps_the_raw_bytes(store: Store) -> None:
    body = b"\xff\xfe not json \x00"
    store.quarantine("salesforce", "payload_error: not XML " + "y" * 600, body)
    with store.session() as session:
        reason, stored = session.execute(sa.text("SELECT reason, body FROM quarantine")).one()
    assert bytes(stored) == body
    assert len(reason) == 500
    assert counts(store)["quarantine"] == 1


# --- dispositions (D4) -------------------------------------------------------------------


def test_d4_dispositions_ordered_and_current_is_the_newest_platform_timestamp(
    store: Store,
) -> None:
    opened = make_disposition("open", T0)
    resolved = make_disposition("resolved", T0 + timedelta(hours=2))
    pending = make_disposition("pending", T0 + timedelta(hours=1))
    for d in (resolved, opened, pending):  # out of order; the stale ones arrive last
        store.add_disposition(d)
    store.add_disposition(make_disposition("open", T0, handoff_id="h-other"))

    assert store.dispositions("h-1") == [opened, pending, resolved]
    assert store.current_disposition("h-1") == resolved
    assert store.current_disposition("h-missing") is None
    assert store.dispositions("h-missing") == []


# --- sync cursors (S2) -------------------------------------------------------------------


def test_s2_cursor_set_in_a_failed_session_is_not_persisted(store: Store) -> None:
    def sync_run_killed_before_commit() -> None:
        with store.session() as session:
            store.set_cursor(session, "zendesk", "cursor-2")
            store.add_disposition(make_disposition("open", T0), session=session)
            raise RuntimeError("killed before commit")

    with pytest.raises(RuntimeError):
        sync_run_killed_before_commit()
    with store.session() as session:
        assert store.get_cursor(session, "zendesk") is None
    assert store.dispositions("h-1") == []


def test_s2_cursor_commits_with_the_data(store: Store) -> None:
    with store.session() as session:
        store.set_cursor(session, "zendesk", "cursor-1")
        store.add_disposition(make_disposition("open", T0), session=session)
    with store.session() as session:
        assert store.get_cursor(session, "zendesk") == "cursor-1"
        store.set_cursor(session, "zendesk", "cursor-2")
    with store.session() as session:
        assert store.get_cursor(session, "zendesk") == "cursor-2"
        assert store.get_cursor(session, "hubspot") is None
        assert session.get_one(SyncCursorRow, "zendesk").updated_at.tzinfo is UTC
    assert len(store.dispositions("h-1")) == 1


# --- datetimes ---------------------------------------------------------------------------


def _check_round_trip(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    ist = timezone(timedelta(hours=5, minutes=30))
    at = datetime(2026, 3, 1, 17, 30, 0, 123456, tzinfo=ist)
    [claim] = store.claim_deliveries("w")
    store.retry_delivery_later(claim.delivery_id, "w", error="e", at=at)
    [view] = store.list_deliveries()
    assert view.next_attempt_at == at
    assert view.next_attempt_at.tzinfo is UTC
    assert view.next_attempt_at == datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for value in (view.created_at, view.updated_at):
        assert value.tzinfo is UTC
        assert abs(datetime.now(UTC) - value) < timedelta(minutes=5)
    store.add_disposition(make_disposition("open", at))
    [d] = store.dispositions("h-1")
    assert d.occurred_at == at


def test_datetimes_come_back_tz_aware_utc(store: Store) -> None:
    _check_round_trip(store)


def test_datetimes_are_utc_whatever_the_session_time_zone(database: Database) -> None:
    kwargs = dict(database.engine_kwargs)
    if database.backend == "postgresql":
        options = kwargs["connect_args"]["options"] + " -ctimezone=Asia/Kolkata"
        kwargs = {"connect_args": {"options": options}}
    store = Store(database.url, **kwargs)
    try:
        store.migrate()
        _check_round_trip(store)
    finally:
        store.close()


def test_naive_datetimes_are_refused(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    with pytest.raises(ValueError, match="naive"):
        store.claim_deliveries("w", now=datetime(2026, 3, 1, 12, 0))


# --- settings and secrets (no database) --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "sqlite:///baton.db"),
        ("", "sqlite:///baton.db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////var/lib/baton.db", "sqlite:////var/lib/baton.db"),
    ],
)
def test_database_url_from_environment(raw: str | None, expected: str) -> None:
    env = {} if raw is None else {"BATON_DATABASE_URL": raw}
    assert database_url(env) == expected


def test_c2_database_password_never_shown() -> None:
    url = "postgres://baton:s3cr3t-pw@db.example:5432/baton"
    assert "s3cr3t-pw" not in masked_url(url)
    store = Store(url)
    try:
        assert "s3cr3t-pw" not in repr(store)
        assert "***" in repr(store)
    finally:
        store.close()
    with pytest.raises(ConfigError) as caught:
        Store("not a url s3cr3t-pw")
    assert "s3cr3t-pw" not in str(caught.value)


def test_a_disposition_recorded_before_its_link_joins_the_handoff(store: Store) -> None:
    """A webhook processed before complete_delivery commits is not orphaned."""
    store.add_handoff(make_handoff(), "zendesk")
    early = make_disposition("open", T0).model_copy(update={"handoff_id": None})
    store.add_disposition(early)
    assert store.dispositions("h-1") == []
    [claimed] = store.claim_deliveries("worker-a", now=datetime.now(UTC))
    store.complete_delivery(claimed.delivery_id, "worker-a", ticket_id="42", ticket_url=None)
    [joined] = store.dispositions("h-1")
    assert (joined.handoff_id, joined.ticket_id, joined.outcome) == ("h-1", "42", "open")


def test_s1_a_repeated_observation_stays_one_row_but_gains_the_sync_measures(
    store: Store,
) -> None:
    """A webhook and a sync run see the same update: one effect, with sync's metrics kept."""
    store.add_handoff(make_handoff(), "zendesk")
    seen = make_disposition("resolved", T0)
    assert store.add_disposition(seen) is True
    assert seen.public_replies is None  # a webhook cannot know
    synced = seen.model_copy(
        update={
            "source": "sync",
            "resolution_seconds": 2_820,
            "csat": 1.0,
            "csat_raw": "good",
            "public_replies": 0,
        }
    )
    assert store.add_disposition(synced) is False
    [only] = store.dispositions("h-1")
    assert (only.source, only.resolution_seconds, only.csat) == ("webhook", 2_820, 1.0)
    assert only.public_replies == 0  # zero replies is a measure, unlike a zero count default
    assert store.add_disposition(synced) is False
    assert len(store.dispositions("h-1")) == 1


def test_a_bad_csat_of_zero_is_kept_when_enriching(store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    seen = make_disposition("resolved", T0)
    store.add_disposition(seen)
    store.add_disposition(seen.model_copy(update={"csat": 0.0, "csat_raw": "bad"}))
    [only] = store.dispositions("h-1")
    assert (only.csat, only.csat_raw) == (0.0, "bad")
