"""The inbox processor: claiming, failures, handoff resolution, replicas, the thread and wake."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from baton.core.errors import PayloadError, RetryableError
from baton.core.handoff import validate_handoff
from baton.core.inbox import InboxProcessor, inbox_body
from baton.core.ports import WebhookEvent
from baton.core.tables import DispositionRow, InboundEventRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _dispositions(store: Any) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(DispositionRow)) or 0


def test_unlinked_ticket_keeps_no_handoff_id_and_linked_one_is_resolved(
    harness: Any, zendesk_event: Any, handoff_doc: Any
) -> None:
    """A ticket Baton did not make is recorded without a handoff id; a linked ticket's
    disposition gets its handoff id through the store's ticket link; an external_id given
    by the platform is kept."""
    store = harness.store
    store.add_handoff(validate_handoff(handoff_doc("h-linked")), "zendesk")
    (claimed,) = store.claim_deliveries("w")
    store.complete_delivery(claimed.delivery_id, "w", ticket_id="1", ticket_url="https://z/1")

    harness.post_event(zendesk_event("e-linked", ticket_id="1", at=T0))
    harness.post_event(zendesk_event("e-stranger", ticket_id="2", at=T0))
    harness.post_event(zendesk_event("e-external", ticket_id="3", at=T0, external_id="h-ext"))
    assert harness.inbox.drain() == 3

    with store.session() as session:
        rows = {r.event_id: r.handoff_id for r in session.scalars(select(DispositionRow))}
    assert rows == {"e-linked": "h-linked", "e-stranger": None, "e-external": "h-ext"}
    status = harness.client.get("/v1/handoffs/h-linked", headers=harness.auth).json()
    ticket = status["ticket"]
    assert (ticket["platform"], ticket["id"], ticket["url"]) == ("zendesk", "1", "https://z/1")
    assert status["disposition"]["outcome"] == "resolved"


def test_an_event_that_fails_is_marked_failed_without_body_text_and_others_go_on(
    harness: Any, zendesk_event: Any, monkeypatch: Any
) -> None:
    """One unreadable event is marked failed with a short error (no body text) while the rest
    of its batch is processed. (Whole bodies, as an older Baton recorded them, are read by the
    platform's parser here; new events arrive parsed, see test_receiver_parses_once.)"""
    for event_id, ticket in (("good-1", "1"), ("bad", "SECRET-BODY-TEXT"), ("good-2", "2")):
        body = zendesk_event(event_id, ticket_id=ticket, at=T0)
        assert harness.store.record_inbound_event("zendesk", event_id, body)
    original = harness.source.parse_webhook

    def picky(body: bytes) -> list[Any]:
        if b"SECRET-BODY-TEXT" in body:
            raise PayloadError("unknown status")
        return original(body)

    monkeypatch.setattr(harness.source, "parse_webhook", picky)
    assert harness.inbox.run_once() == 3

    with harness.store.session() as session:
        rows = {r.event_id: (r.state, r.error) for r in session.scalars(select(InboundEventRow))}
    assert rows["good-1"] == ("processed", None)
    assert rows["good-2"] == ("processed", None)
    assert rows["bad"] == ("failed", "PayloadError: unknown status")
    assert _dispositions(harness.store) == 2


def test_unexpected_errors_keep_only_their_class(
    harness: Any, zendesk_event: Any, monkeypatch: Any
) -> None:
    """An unexpected exception's message (which could quote the body) is not stored."""
    assert harness.store.record_inbound_event("zendesk", "e1", zendesk_event("e1", at=T0))

    def broken(_body: bytes) -> list[Any]:
        raise ValueError("quoting the body: card 4111 1111 1111 1111")

    monkeypatch.setattr(harness.source, "parse_webhook", broken)
    harness.inbox.run_once()
    with harness.store.session() as session:
        row = session.scalars(select(InboundEventRow)).one()
        assert (row.state, row.error) == ("failed", "ValueError")


def test_events_of_platforms_without_a_source_are_left_for_another_replica(
    sqlite_store: Any, fake_source: Any
) -> None:
    """A replica only claims events of the platforms it has a source for."""
    sqlite_store.record_inbound_event("hubspot", "hs-1", b"[]")
    inbox = InboxProcessor(sqlite_store, {"zendesk": fake_source()})
    assert inbox.drain() == 0
    with sqlite_store.session() as session:
        assert session.scalars(select(InboundEventRow.state)).one() == "received"


def test_two_processors_at_once_handle_every_event_exactly_once(
    database: Any, fake_source: Any, zendesk_event: Any
) -> None:
    """Two replicas draining one inbox concurrently (SKIP LOCKED on PostgreSQL, one writer
    at a time on SQLite) → every event processed once, one disposition each."""
    stores = [database.new_store() for _ in range(2)]
    try:
        stores[0].migrate()
        for i in range(60):
            body = zendesk_event(f"e{i}", ticket_id=str(i), at=T0 + timedelta(seconds=i))
            stores[0].record_inbound_event("zendesk", f"e{i}", body)
        processors = [InboxProcessor(s, {"zendesk": fake_source()}, batch_size=7) for s in stores]
        handled = [0, 0]
        barrier = threading.Barrier(2)

        def drain(index: int) -> None:
            barrier.wait()
            handled[index] = processors[index].drain()

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

        assert sum(handled) == 60
        assert _dispositions(stores[0]) == 60
        with stores[0].session() as session:
            assert set(session.scalars(select(InboundEventRow.state))) == {"processed"}
    finally:
        for s in stores:
            s.close()


def test_background_thread_is_woken_by_the_receiver(
    make_harness: Any, sqlite_store: Any, fake_source: Any, zendesk_event: Any, signer: Any
) -> None:
    """The app's lifespan starts the processor; a recorded event wakes it at once (the poll
    interval here is far longer than the test), and shutdown stops it."""
    source = fake_source()
    inbox = InboxProcessor(sqlite_store, {"zendesk": source}, poll_interval=60)
    h = make_harness(sqlite_store, source=source, background=[inbox])

    with TestClient(h.app) as client:
        time.sleep(0.05)  # let the first (empty) poll start waiting
        body = zendesk_event("e-wake", at=T0)
        response = client.post("/webhooks/zendesk", content=body, headers=signer(body))
        assert response.status_code == 200
        assert _wait_for(lambda: _dispositions(sqlite_store) == 1, timeout=5)
        thread = inbox._thread
        assert thread is not None
        assert thread.is_alive()
    assert not thread.is_alive()


def test_the_job_prunes_on_start(sqlite_store: Any, fake_source: Any) -> None:
    """D3: the running job prunes old processed events (first at start, then hourly)."""
    sqlite_store.record_inbound_event("zendesk", "ancient", b"{}")
    with sqlite_store.session() as session:
        row = session.scalars(select(InboundEventRow)).one()
        row.state = "processed"
        row.received_at = datetime.now(UTC) - timedelta(days=30)
    inbox = InboxProcessor(sqlite_store, {"zendesk": fake_source()}, poll_interval=0.01)
    inbox.start()
    try:
        assert _wait_for(lambda: sqlite_store.table_counts()["inbound_events"] == 0)
    finally:
        inbox.stop()


def test_a_batch_failure_is_logged_and_the_job_goes_on(
    sqlite_store: Any, fake_source: Any, service_logs: Any, monkeypatch: Any
) -> None:
    """A failing batch (database trouble) is logged as one line and retried at the next poll."""
    inbox = InboxProcessor(sqlite_store, {"zendesk": fake_source()}, poll_interval=0.01)
    calls = {"n": 0}
    original = inbox.run_once

    def flaky() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original()

    monkeypatch.setattr(inbox, "run_once", flaky)
    inbox.start()
    try:
        assert _wait_for(lambda: calls["n"] >= 3)
    finally:
        inbox.stop()
    assert any(r.getMessage().startswith("inbox.batch_failed") for r in service_logs.records)


def test_a_slice_to_read_again_is_read_before_the_batch_and_a_bad_slice_never_blocks_it(
    harness: Any, zendesk_event: Any, monkeypatch: Any
) -> None:
    """An event recorded with a ticket to read again gets its disposition from the source's
    ``reread`` (called ahead of the batch's transaction); a slice that cannot be read is
    marked failed in its turn and the rest of the batch goes on; a failed re-read records
    nothing for its event."""
    store = harness.store
    [parsed] = harness.source.parse_webhook(zendesk_event("e-good", ticket_id="1", at=T0))
    template = parsed.disposition
    slices = {
        "e-good": inbox_body(parsed),
        "e-again": inbox_body(WebhookEvent("e-again", T0, None, reread="7")),
        "e-lost": inbox_body(WebhookEvent("e-lost", T0, None, reread="8")),
        "e-bad": b'{"baton_inbox":1,"disposition":{"x":1}}',
    }
    for event_id, body in slices.items():
        assert store.record_inbound_event("zendesk", event_id, body)
    read: list[tuple[str, str]] = []

    def reread(ticket_id: str, event_id: str) -> Any:
        read.append((ticket_id, event_id))
        if ticket_id == "8":
            raise RetryableError("down", platform="zendesk")
        assert template is not None
        return template.model_copy(update={"ticket_id": ticket_id, "event_id": None})

    monkeypatch.setattr(harness.source, "reread", reread, raising=False)
    assert harness.inbox.run_once() == 4

    assert sorted(read) == [("7", "e-again"), ("8", "e-lost")]
    with store.session() as session:
        states = {r.event_id: r.state for r in session.scalars(select(InboundEventRow))}
        recorded = {r.event_id for r in session.scalars(select(DispositionRow))}
    assert states == {
        "e-good": "processed",
        "e-again": "processed",
        "e-lost": "processed",
        "e-bad": "failed",
    }
    assert recorded == {"e-good", "e-again"}
