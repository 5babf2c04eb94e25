"""Inbound events, dedupe and order, through the receiver and the inbox processor:
RELIABILITY D1, D2, D3, D4 (and D5 for a partial failure)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from baton.core.errors import ConfigError
from baton.core.handoff import validate_handoff
from baton.core.inbox import InboxProcessor
from baton.core.ports import WebhookEvent
from baton.core.store_inbox import PRUNE_CHUNK
from baton.core.tables import InboundEventRow
from baton.sandbox.server import serve_in_thread
from baton.webhooks.settings import ServiceSettings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _link_ticket(store: Any, handoff_doc: Any, handoff_id: str, ticket_id: str) -> None:
    """Make ``handoff_id`` delivered as ``ticket_id`` (what the delivery worker records)."""
    store.add_handoff(validate_handoff(handoff_doc(handoff_id)), "zendesk")
    (claimed,) = store.claim_deliveries("test-worker")
    store.complete_delivery(
        claimed.delivery_id, "test-worker", ticket_id=ticket_id, ticket_url=None
    )


def test_d1_same_event_ten_times_is_one_row_and_one_disposition(
    db_harness: Any, zendesk_event: Any, signer: Any, handoff_doc: Any
) -> None:
    """D1: the same event delivered 10 times, freshly signed each time → ten 2xx, one inbox
    row, one disposition after processing."""
    h = db_harness
    _link_ticket(h.store, handoff_doc, "h-d1", "42")
    body = zendesk_event("evt-d1", ticket_id="42", status="solved", at=T0)
    now = datetime.now(UTC)

    responses = [
        h.post_event(body, headers=signer(body, when=now - timedelta(seconds=i))) for i in range(10)
    ]

    assert [r.status_code for r in responses] == [200] * 10
    assert responses[0].json() == {"received": 1, "duplicates": 0}
    assert all(r.json() == {"received": 1, "duplicates": 1} for r in responses[1:])
    assert h.store.table_counts()["inbound_events"] == 1
    assert h.inbox.drain() == 1
    history = h.store.dispositions("h-d1")
    assert [(d.outcome, d.event_id) for d in history] == [("resolved", "evt-d1")]
    assert h.inbox.drain() == 0


def test_d2_same_event_from_ten_threads_at_once_is_one_row(
    db_harness: Any, zendesk_event: Any, signer: Any
) -> None:
    """D2: the same event fired from 10 threads at once, over real HTTP → every answer 2xx,
    one inbox row, exactly one of them not a duplicate (the unique constraint decides)."""
    h = db_harness
    body = zendesk_event("evt-d2")
    barrier = threading.Barrier(10)
    answers: list[dict[str, int]] = []
    errors: list[BaseException] = []

    with serve_in_thread(h.app) as server:

        def fire() -> None:
            try:
                with httpx.Client(base_url=server.base_url, timeout=30) as client:
                    barrier.wait()
                    r = client.post("/webhooks/zendesk", content=body, headers=signer(body))
                    r.raise_for_status()
                    answers.append(r.json())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=fire) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    assert errors == []
    assert len(answers) == 10
    assert sum(1 for a in answers if a["duplicates"] == 0) == 1
    assert h.store.table_counts()["inbound_events"] == 1


def test_d3_event_recorded_three_days_ago_is_still_a_duplicate(
    harness: Any, zendesk_event: Any
) -> None:
    """D3: dedupe memory outlives the senders' retry horizons: an event processed 3 days ago
    survives pruning and its redelivery is a duplicate."""
    body = zendesk_event("evt-d3")
    assert harness.post_event(body).json()["duplicates"] == 0
    harness.inbox.drain()
    _age(harness.store, "evt-d3", days=3)

    assert harness.inbox.prune() == 0

    response = harness.post_event(body)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "duplicates": 1}
    assert harness.inbox.drain() == 0


def _age(store: Any, event_id: str, *, days: float) -> None:
    with store.session() as session:
        session.execute(
            update(InboundEventRow)
            .where(InboundEventRow.event_id == event_id)
            .values(received_at=datetime.now(UTC) - timedelta(days=days))
        )


def test_d3_prune_removes_only_processed_events_older_than_retention(
    store: Any, fake_source: Any
) -> None:
    """D3: prune deletes processed events past the retention window; newer processed events,
    and received or failed events of any age, stay."""
    inbox = InboxProcessor(store, {"zendesk": fake_source()}, retention_days=4)
    for event_id in ("old-processed", "new-processed", "old-received", "old-failed"):
        store.record_inbound_event("zendesk", event_id, b"{}")
    with store.session() as session:
        for event_id, state, days in [
            ("old-processed", "processed", 5),
            ("new-processed", "processed", 3.9),
            ("old-received", "received", 30),
            ("old-failed", "failed", 30),
        ]:
            session.execute(
                update(InboundEventRow)
                .where(InboundEventRow.event_id == event_id)
                .values(state=state, received_at=datetime.now(UTC) - timedelta(days=days))
            )

    assert inbox.prune() == 1

    with store.session() as session:
        left = set(session.scalars(select(InboundEventRow.event_id)))
    assert left == {"new-processed", "old-received", "old-failed"}


def test_d3_prune_works_in_chunks(sqlite_store: Any, fake_source: Any) -> None:
    """D3: more old events than one delete chunk are all pruned."""
    inbox = InboxProcessor(sqlite_store, {"zendesk": fake_source()})
    for i in range(PRUNE_CHUNK + 7):
        sqlite_store.record_inbound_event("zendesk", f"e{i}", b"{}")
    with sqlite_store.session() as session:
        session.execute(update(InboundEventRow).values(state="processed"))
    assert inbox.prune(older_than=datetime.now(UTC) + timedelta(seconds=1)) == 507


def test_d3_retention_below_four_days_is_rejected_at_startup(
    sqlite_store: Any, fake_source: Any
) -> None:
    """D3: a retention shorter than the senders' retry horizons (< 4 days) is a config error,
    in the settings and in the processor."""
    with pytest.raises(ConfigError, match="BATON_INBOX_RETENTION_DAYS"):
        ServiceSettings.from_env({"BATON_INBOX_RETENTION_DAYS": "3"})
    with pytest.raises(ConfigError, match="at least 4 days"):
        InboxProcessor(sqlite_store, {"zendesk": fake_source()}, retention_days=3)
    assert ServiceSettings.from_env({"BATON_INBOX_RETENTION_DAYS": "4"}).inbox_retention_days == 4


def test_d4_stale_event_after_newer_does_not_roll_back(
    db_harness: Any, zendesk_event: Any, handoff_doc: Any
) -> None:
    """D4, end to end: 'solved' at T0+10 min is processed, then a stale 'open' from T0 arrives
    and is processed → the current disposition stays resolved; the history keeps both."""
    h = db_harness
    _link_ticket(h.store, handoff_doc, "h-d4", "77")
    newer = zendesk_event("evt-new", ticket_id="77", status="solved", at=T0 + timedelta(minutes=10))
    stale = zendesk_event("evt-old", ticket_id="77", status="open", at=T0)

    assert h.post_event(newer).status_code == 200
    assert h.inbox.drain() == 1
    assert h.post_event(stale).status_code == 200
    assert h.inbox.drain() == 1

    current = h.store.current_disposition("h-d4")
    assert current is not None
    assert (current.outcome, current.event_id) == ("resolved", "evt-new")
    assert [d.outcome for d in h.store.dispositions("h-d4")] == ["open", "resolved"]
    status = h.client.get("/v1/handoffs/h-d4", headers=h.auth).json()
    assert status["disposition"]["outcome"] == "resolved"
    assert [d["event_id"] for d in status["history"]] == ["evt-old", "evt-new"]


def test_d4_stale_and_newer_in_one_batch_in_either_order(
    harness: Any, zendesk_event: Any, handoff_doc: Any
) -> None:
    """D4: when the stale event is recorded second but both are processed in one batch, the
    newest by platform time still wins."""
    _link_ticket(harness.store, handoff_doc, "h-d4b", "78")
    harness.post_event(
        zendesk_event("n", ticket_id="78", status="pending", at=T0 + timedelta(hours=1))
    )
    harness.post_event(zendesk_event("o", ticket_id="78", status="solved", at=T0))
    assert harness.inbox.run_once() == 2
    current = harness.store.current_disposition("h-d4b")
    assert current is not None
    assert current.outcome == "pending"


def test_d5_partial_failure_then_redelivery_has_one_effect_per_event(
    harness: Any, zendesk_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D5: a batch body whose second event fails to record → 503; the redelivery records the
    missing one, and the first is a duplicate, so each event has exactly one row."""
    source = harness.source
    original = source.parse_webhook

    def two_events(body: bytes) -> list[WebhookEvent]:
        (first,) = original(body)
        return [first, WebhookEvent(first.event_id + "-b", first.occurred_at, None)]

    monkeypatch.setattr(source, "parse_webhook", two_events)
    record = harness.store.record_inbound_event
    calls = {"n": 0}

    def flaky(platform: str, event_id: str, body: bytes) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return record(platform, event_id, body)

    monkeypatch.setattr(harness.store, "record_inbound_event", flaky)
    body = zendesk_event("evt-d5")
    assert harness.post_event(body).status_code == 503
    response = harness.post_event(body)
    assert response.status_code == 200
    assert response.json() == {"received": 2, "duplicates": 1}
    with harness.store.session() as session:
        ids = sorted(session.scalars(select(InboundEventRow.event_id)))
    assert ids == ["evt-d5", "evt-d5-b"]
    assert harness.inbox.drain() == 2
    with harness.store.session() as session:
        states = set(session.scalars(select(InboundEventRow.state)))
    assert states == {"processed"}
