"""Inbound webhooks, for every platform: A1, A4, A6 (authenticity), D1, D4, D5 (dedupe and
order). Each posts what the platform's sandbox would send — its event shape, its signature
made the sandbox's way — to Baton's real service with the platform's real connector, on a
real store. A5 (whatever arrives) is in ``test_webhooks_a5.py``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from baton.core.errors import VerificationError
from baton.core.store import Store
from baton.core.tables import InboundEventRow
from tests.contract.harness import Harness, StatusEvent, signed_webhook
from tests.contract.helpers import API_KEY, assert_acknowledged, delivered, new_handoff, service

OLD, NEW = "contract-rotated-out-secret", "contract-rotated-in-secret"


def _one_byte_changed(body: bytes) -> bytes:
    at = len(body) // 2
    return body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]


def _webhook_events(store: Store, handoff_id: str) -> list[tuple[str, str | None]]:
    """The handoff's dispositions that came from webhooks: (outcome, event id), in order."""
    return [(d.outcome, d.event_id) for d in store.dispositions(handoff_id) if d.event_id]


@pytest.mark.property("A1")
def test_a1_unauthentic_webhook_is_401_and_stores_nothing(
    harness: Harness, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A1: a changed byte, a wrong secret, a missing or malformed signature or timestamp, a
    signature of another body → 401, the row count of every table is unchanged, and the body
    was never read (verification comes first)."""
    parsed: list[bytes] = []
    parse = harness.connector.parse_webhook

    def counting_parse(body: bytes) -> Any:
        parsed.append(body)
        return parse(body)

    monkeypatch.setattr(harness.connector, "parse_webhook", counting_parse)
    ticket_id = harness.connector.create_ticket(new_handoff()).ticket_id
    now = harness.now()
    headers, body = signed_webhook(harness, "evt-a1", ticket_id, "solved", now)
    other_headers, _ = signed_webhook(harness, "evt-other", ticket_id, "solved", now)
    sig, ts = harness.signature_header, harness.timestamp_header
    assert sig is not None, "A1 is for platforms that sign their webhooks"
    assert ts is not None, "A1 is for platforms that sign their webhooks"
    cases: dict[str, tuple[dict[str, str], bytes]] = {
        "byte_changed": (headers, _one_byte_changed(body)),
        "wrong_secret": (harness.sign(body, now, secret="not-the-secret"), body),
        "missing_signature": ({k: v for k, v in headers.items() if k != sig}, body),
        "missing_timestamp": ({k: v for k, v in headers.items() if k != ts}, body),
        "no_headers": ({"Content-Type": "application/json"}, body),
        "signature_not_base64": ({**headers, sig: "%%% not base64 %%%"}, body),
        "timestamp_malformed": ({**headers, ts: "yesterday"}, body),
        "timestamp_too_old": (harness.sign(body, now - timedelta(minutes=6)), body),
        "signature_of_other_body": (other_headers, body),
    }
    with service(harness, sqlite_store) as baton:
        before = sqlite_store.table_counts()
        for case, (sent_headers, sent_body) in cases.items():
            response = baton.post(sent_headers, sent_body)
            assert response.status_code == 401, case
            assert response.json() == {"error": "unauthorized"}, case
            assert sqlite_store.table_counts() == before, case
        assert parsed == []
        assert baton.post(headers, body).status_code == 200  # the untouched original is fine
        assert parsed == [body]


@pytest.mark.property("A4")
def test_a4_the_signed_timestamp_window_is_two_sided(harness: Harness, sqlite_store: Store) -> None:
    """A4: signed now−299 s is accepted; now−301 s and now+301 s are rejected (and stored
    nothing), by the endpoint and by the connector itself."""
    ticket_id = harness.connector.create_ticket(new_handoff()).ticket_id
    now = harness.now()
    url = f"https://baton.example{harness.webhook_path}"
    with service(harness, sqlite_store) as baton:
        for offset in (-301, 301):
            headers, body = signed_webhook(
                harness,
                f"evt-a4{offset}",
                ticket_id,
                "solved",
                now,
                signed_at=now + timedelta(seconds=offset),
            )
            before = sqlite_store.table_counts()
            assert baton.post(headers, body).status_code == 401, offset
            assert sqlite_store.table_counts() == before, offset
            with pytest.raises(VerificationError):
                harness.connector.verify_webhook(_lower(headers), body, url=url, now=now)
        headers, body = signed_webhook(
            harness, "evt-a4-299", ticket_id, "solved", now, signed_at=now - timedelta(seconds=299)
        )
        harness.connector.verify_webhook(_lower(headers), body, url=url, now=now)
        assert_acknowledged(harness, baton.post(headers, body), 1, 0)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@pytest.mark.property("A6")
def test_a6_rotation_either_secret_verifies_and_a_removed_one_is_rejected(
    harness: Harness, sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A6: with two secrets configured either verifies; once one is removed it is refused
    (401, nothing stored) while the other still verifies. No secret reaches the logs (C2)."""
    caplog.set_level(logging.DEBUG)
    ticket_id = harness.connector.create_ticket(new_handoff()).ticket_id
    now = harness.now()

    def post(baton_secret: str, event_id: str) -> int:
        headers, body = signed_webhook(
            harness, event_id, ticket_id, "solved", now, secret=baton_secret
        )
        return baton.post(headers, body).status_code

    with service(harness, sqlite_store, harness.connector_with_secrets([OLD, NEW])) as baton:
        assert post(OLD, "evt-old") == 200
        assert post(NEW, "evt-new") == 200
    with service(harness, sqlite_store, harness.connector_with_secrets([NEW])) as baton:
        before = sqlite_store.table_counts()
        assert post(OLD, "evt-old-2") == 401
        assert sqlite_store.table_counts() == before
        assert post(NEW, "evt-new-2") == 200
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert OLD not in logged
    assert NEW not in logged


@pytest.mark.property("D1")
def test_d1_same_event_ten_times_is_one_row_and_one_disposition(
    harness: Harness, store: Store
) -> None:
    """D1: the same event delivered 10 times, freshly signed each time → ten 2xx, one inbox
    row, one disposition after processing."""
    [(handoff, ticket_id)] = delivered(harness, store)
    harness.advance(60)
    now = harness.now()
    event_id = harness.event_id("evt-d1", ticket_id)
    body = harness.webhook_body([StatusEvent(event_id, ticket_id, "solved", now)])
    with service(harness, store) as baton:
        responses = [
            baton.post(harness.sign(body, now - timedelta(seconds=i)), body) for i in range(10)
        ]
        assert [r.status_code for r in responses] == [200] * 10
        assert_acknowledged(harness, responses[0], 1, 0)
        for response in responses[1:]:
            assert_acknowledged(harness, response, 1, 1)
        assert store.table_counts()["inbound_events"] == 1
        assert baton.inbox.drain() == 1
        assert _webhook_events(store, handoff.id) == [("resolved", event_id)]
        assert baton.inbox.drain() == 0


@pytest.mark.property("D4")
def test_d4_stale_event_after_newer_does_not_roll_back(harness: Harness, store: Store) -> None:
    """D4: 'solved' at +10 min is processed, then a stale 'open' from +1 min arrives and is
    processed → the current disposition stays resolved; the history keeps both, in the
    platform's order, and the status API says so."""
    [(handoff, ticket_id)] = delivered(harness, store)
    start = harness.now()
    new_id = harness.event_id("evt-new", ticket_id)
    old_id = harness.event_id("evt-old", ticket_id)
    newer = StatusEvent(new_id, ticket_id, "solved", start + timedelta(minutes=10))
    stale = StatusEvent(old_id, ticket_id, "open", start + timedelta(minutes=1))
    with service(harness, store) as baton:
        for event in (newer, stale):
            body = harness.webhook_body([event])
            assert baton.post(harness.sign(body, start), body).status_code == 200
            assert baton.inbox.drain() == 1

        current = store.current_disposition(handoff.id)
        assert current is not None
        assert (current.outcome, current.event_id) == ("resolved", new_id)
        assert _webhook_events(store, handoff.id) == [("open", old_id), ("resolved", new_id)]
        auth = {"Authorization": f"Bearer {API_KEY}"}
        status = baton.client.get(f"/v1/handoffs/{handoff.id}", headers=auth).json()
        assert status["disposition"]["outcome"] == "resolved"
        history = [d["event_id"] for d in status["history"] if d.get("event_id")]
        assert history == [old_id, new_id]


@pytest.mark.property("D4")
def test_d4_stale_and_newer_processed_in_one_batch(harness: Harness, sqlite_store: Store) -> None:
    """D4: when the stale event is recorded second but both are processed in one batch, the
    newest by platform time still wins."""
    [(handoff, ticket_id)] = delivered(harness, sqlite_store)
    start = harness.now()
    newer = StatusEvent(
        harness.event_id("evt-n", ticket_id), ticket_id, "pending", start + timedelta(hours=1)
    )
    stale = StatusEvent(
        harness.event_id("evt-o", ticket_id), ticket_id, "solved", start + timedelta(minutes=1)
    )
    with service(harness, sqlite_store) as baton:
        for event in (newer, stale):
            body = harness.webhook_body([event])
            assert baton.post(harness.sign(body, start), body).status_code == 200
        assert baton.inbox.run_once() == 2
    current = sqlite_store.current_disposition(handoff.id)
    assert current is not None
    assert current.outcome == "pending"


@pytest.mark.property("D5")
def test_d5_partial_failure_then_redelivery_has_one_effect_per_event(
    harness: Harness, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D5: a batch of three events the store fails to record → 503 and none of them kept
    (a request's events commit together); the redelivery records all three, and each event
    has exactly one row and one disposition."""
    tickets = delivered(harness, sqlite_store, count=3)
    now = harness.now()
    events = [
        StatusEvent(
            harness.event_id(f"evt-d5-{i}", ticket_id),
            ticket_id,
            "solved",
            now + timedelta(seconds=i + 1),
        )
        for i, (_handoff, ticket_id) in enumerate(tickets)
    ]
    body = harness.webhook_body(events)
    record = sqlite_store.record_inbound_events
    calls = {"n": 0}

    def flaky(events: Sequence[tuple[str, str, bytes]]) -> list[bool]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return record(events)

    monkeypatch.setattr(sqlite_store, "record_inbound_events", flaky)
    with service(harness, sqlite_store) as baton:
        assert baton.post(harness.sign(body, now), body).status_code == 503
        assert_acknowledged(harness, baton.post(harness.sign(body, now), body), 3, 0)
        with sqlite_store.session() as session:
            ids = sorted(session.scalars(select(InboundEventRow.event_id)))
        assert ids == sorted(e.event_id for e in events)
        assert baton.inbox.drain() == 3
    with sqlite_store.session() as session:
        assert set(session.scalars(select(InboundEventRow.state))) == {"processed"}
    for (handoff, _ticket), event in zip(tickets, events, strict=True):
        assert _webhook_events(sqlite_store, handoff.id) == [("resolved", event.event_id)]
