"""Delivery and sync against every platform's sandbox: O5 (two workers, no ticket twice), O7
(exactly one Baton note after a crash, whether the create's or the note's answer was lost)
and K4 (after days of lost webhooks one sync run matches the platform)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from baton.core.delivery import DeliveryWorker
from baton.core.errors import RetryableError
from baton.core.store import Store
from baton.core.sync import run_sync
from tests.conftest import Database
from tests.contract.harness import Harness
from tests.contract.helpers import delivered, new_handoff, worker

DAY = 86_400.0


@pytest.mark.property("O5")
def test_o5_two_workers_drain_100_handoffs_into_100_distinct_tickets(
    harness: Harness, database: Database, store: Store
) -> None:
    """O5: two workers, each on its own store and connector, drain 100 handoffs at once →
    100 tickets on the platform, one per handoff, none created twice."""
    handoffs = [new_handoff() for _ in range(100)]
    for handoff in handoffs:
        store.add_handoff(handoff, harness.platform)
    stores = [database.new_store(), database.new_store()]
    connectors = [harness.connector, harness.new_connector()]  # as if two processes
    workers = [
        worker(harness, s, owner=f"worker-{i}", batch=3, connector=c)
        for i, (s, c) in enumerate(zip(stores, connectors, strict=True))
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def drain(one: DeliveryWorker) -> None:
        try:
            barrier.wait()
            one.drain()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for s in stores:
            s.close()
    assert not errors
    assert [harness.ticket_count(h.id) for h in handoffs] == [1] * 100  # none twice
    links = [store.ticket_link(h.id) for h in handoffs]
    assert len({link.ticket_id for link in links if link is not None}) == 100
    assert {d.state for d in store.list_deliveries()} == {"delivered"}
    assert store.table_counts()["ticket_links"] == 100
    assert sum(w.results["delivered"] for w in workers) == 100


@pytest.mark.property("O7")
def test_o7_a_crash_between_create_and_commit_leaves_one_baton_note(harness: Harness) -> None:
    """O7: the create's answer is lost; the retries (another process) leave one ticket with
    one Baton note."""
    handoff = new_handoff()
    harness.inject(harness.create_fault("drop_after_commit"))
    with pytest.raises(RetryableError):
        harness.connector.create_ticket(handoff)

    ref = harness.new_connector().create_ticket(handoff, first_attempt=False)
    harness.connector.create_ticket(handoff, first_attempt=False)  # and once more

    assert harness.ticket_count(handoff.id) == 1
    assert harness.baton_notes(ref.ticket_id) == 1


@pytest.mark.property("O7-note")
def test_o7_a_crash_after_the_note_leaves_one_baton_note(harness: Harness) -> None:
    """O7: the separate note's answer is lost; the retries find it and post no second one."""
    handoff = new_handoff()
    harness.inject(harness.note_fault("drop_after_commit"))
    with pytest.raises(RetryableError):
        harness.connector.create_ticket(handoff)
    ticket_id = harness.connector.create_ticket(handoff, first_attempt=False).ticket_id
    harness.connector.create_ticket(handoff, first_attempt=False)  # and once more

    assert harness.ticket_count(handoff.id) == 1
    assert harness.baton_notes(ticket_id) == 1  # the retry found its note: not posted twice


@pytest.mark.property("O7")
def test_o7_a_first_attempt_reads_no_notes(harness: Harness) -> None:
    """O7 costs a first attempt nothing: only a retry looks for an earlier note."""
    handoff = new_handoff()
    ref = harness.connector.create_ticket(handoff)
    assert harness.baton_notes(ref.ticket_id) == 1
    assert harness.note_reads() == 0


@pytest.mark.property("K4")
def test_k4_after_days_of_lost_webhooks_one_sync_run_matches_the_platform(
    harness: Harness, store: Store
) -> None:
    """K4: no webhook reaches Baton while agents work over four days; one sync run then
    brings every handoff's current disposition to what the platform holds."""
    started = harness.now()
    tickets = delivered(harness, store, count=6)
    t = [ticket_id for _handoff, ticket_id in tickets]

    harness.advance(DAY)
    harness.reply(t[0])
    harness.solve(t[0])
    harness.rate(t[0], good=True)
    harness.advance(DAY)
    harness.solve(t[1])
    harness.advance(3_600)
    harness.reopen(t[1])
    harness.reassign(t[2])
    harness.advance(DAY)
    harness.solve(t[3])
    harness.rate(t[3], good=False)
    harness.delete(t[4])
    harness.advance(DAY)
    harness.settle()

    summary = run_sync(
        store, harness.connector, name=harness.platform, since=started - timedelta(hours=1)
    )

    expected = [
        ("resolved", 1.0, 0, 0),
        ("reopened", None, 1, 0),
        ("transferred", None, 0, 1),
        ("resolved", 0.0, 0, 0),
        ("deleted", None, 0, 0),
        ("open", None, 0, 0),
    ]
    assert summary.examined >= len(tickets)
    for (handoff, _ticket), (outcome, csat, reopens, transfers) in zip(
        tickets, expected, strict=True
    ):
        current = store.current_disposition(handoff.id)
        assert current is not None, handoff.id
        assert (current.outcome, current.csat) == (outcome, csat), handoff.id
        assert current.reopen_count == reopens, handoff.id
        assert current.transfer_count == transfers, handoff.id
    with store.session() as session:
        assert store.get_cursor(session, harness.platform) == summary.cursor_after
