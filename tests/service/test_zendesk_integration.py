"""The service with the real Zendesk connector (``connectors.zendesk``), fed by the Zendesk
sandbox's own signed event webhooks: A1, A5 (the verifier raises only VerificationError), A6,
D1 (the sandbox delivers every event twice), D4 and C2, end to end.

Skipped, with the reason, only while ``connectors.zendesk`` does not import.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from baton.core.errors import VerificationError
from baton.core.mapping import load_mapping
from baton.core.tables import InboundEventRow
from baton.sandbox.server import serve_in_thread
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.sandbox.zendesk import ManualClock, WebhookTarget, ZendeskState
from baton.webhooks.service import build_service

zendesk = pytest.importorskip(
    "baton.connectors.zendesk.connector", reason="connectors/zendesk/ does not import yet"
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SECRET = "sandbox-webhook-signing-secret"
OLD_SECRET = "previous-webhook-signing-secret"
SIG = "X-Zendesk-Webhook-Signature"
TS = "X-Zendesk-Webhook-Signature-Timestamp"


def _connector(secrets: str = f"{OLD_SECRET},{SECRET}") -> Any:
    env = {
        "BATON_ZENDESK_SUBDOMAIN": "baton-sandbox",
        "BATON_ZENDESK_EMAIL": "baton@example.com",
        "BATON_ZENDESK_TOKEN": "sandbox-token",
        "BATON_ZENDESK_WEBHOOK_SECRETS": secrets,
    }
    return zendesk.ZendeskConnector.from_env(load_mapping(MAPPINGS, "zendesk"), env)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def service(store: Any, service_settings: Any) -> Iterator[Any]:
    """``baton serve``'s service (through build_service) with the real connector, served on a
    local port with its inbox processor running."""
    connector = _connector()
    built = build_service(service_settings(), store, connectors={"zendesk": connector})
    built.inbox.poll_interval = 0.05
    built.inbox.start()
    try:
        with serve_in_thread(built.app) as server:
            yield built, server
    finally:
        built.inbox.stop()
        connector.close()


def test_sandbox_webhooks_end_to_end_with_the_real_connector(
    service: Any, handoff_doc: Any, service_logs: Any, known: Any
) -> None:
    """The sandbox emits signed event webhooks, twice each (D1), for a ticket Baton made; the
    real connector verifies and reads them; the handoff ends resolved, each event once."""
    built, server = service
    store = built.store
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        accepted = client.post(
            "/v1/handoffs",
            json=handoff_doc("h-e2e"),
            headers={"Authorization": f"Bearer {known.API_KEY}"},
        )
    assert accepted.status_code == 202

    clock = ManualClock()  # Zendesk times have 1 s precision: let the agent take a minute
    state = ZendeskState(clock=clock)
    target = WebhookTarget(f"{server.base_url}/webhooks/zendesk", SECRET, duplicate=True)
    state.webhooks.add(target)
    state.webhooks.start()
    try:
        created = state.create_ticket(
            {
                "subject": "Refund",
                "comment": {"body": "context", "public": False},
                "external_id": "h-e2e",
                "requester": {"name": "Ada", "email": "ada@example.com"},
            },
            "http://sandbox.invalid",
        )
        ticket_id = int(created["ticket"]["id"])
        (claimed,) = store.claim_deliveries("test-worker")
        store.complete_delivery(
            claimed.delivery_id, "test-worker", ticket_id=str(ticket_id), ticket_url=None
        )
        clock.advance(60)
        state.solve(ticket_id)
        assert state.webhooks.wait_idle(timeout=20)
    finally:
        state.webhooks.stop()

    assert state.webhooks.deliveries
    assert {d.status for d in state.webhooks.deliveries} == {200}
    emitted = set(state.webhooks.events)
    assert _wait_for(lambda: _states(store) == dict.fromkeys(emitted, "processed"))
    current = store.current_disposition("h-e2e")
    assert current is not None
    assert current.outcome == "resolved"
    logged = "\n".join(r.getMessage() for r in service_logs.records)
    assert SECRET not in logged
    assert "context" not in logged


def _states(store: Any) -> dict[str, str]:
    with store.session() as session:
        return {r.event_id: r.state for r in session.scalars(select(InboundEventRow))}


def _event_body(event_id: str, status: str, at: datetime) -> bytes:
    doc = {
        "type": "zen:event-type:ticket.status_changed",
        "id": event_id,
        "time": at.isoformat(),
        "subject": "zen:ticket:321",
        "detail": {
            "id": "321",
            "status": status,
            "external_id": "h-real",
            "updated_at": at.isoformat(),
        },
        "event": {"current": status, "previous": "OPEN"},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    timestamp = zendesk_timestamp(datetime.now(UTC))
    return {SIG: zendesk_signature(secret, timestamp, body), TS: timestamp}


@pytest.fixture
def real_harness(make_harness: Any, sqlite_store: Any) -> Any:
    """A harness whose webhook source is the real Zendesk connector."""
    connector = _connector()
    yield make_harness(sqlite_store, source=connector)
    connector.close()


def test_a1_a6_real_connector_rejects_what_it_should_and_rotates(
    real_harness: Any, make_harness: Any, service_logs: Any
) -> None:
    """A1: a wrong secret or a changed byte → 401 and nothing stored; A6: both configured
    secrets verify, a removed one no longer does."""
    h = real_harness
    body = _event_body("evt-real-1", "SOLVED", datetime(2026, 3, 1, tzinfo=UTC))
    before = h.store.table_counts()
    wrong = h.client.post("/webhooks/zendesk", content=body, headers=_signed(body, "nope"))
    changed = h.client.post(
        "/webhooks/zendesk", content=body.replace(b"321", b"322"), headers=_signed(body)
    )
    assert (wrong.status_code, changed.status_code) == (401, 401)
    assert h.store.table_counts() == before

    for secret, event_id in ((OLD_SECRET, "evt-old"), (SECRET, "evt-new")):
        other = body.replace(b"evt-real-1", event_id.encode())
        response = h.client.post("/webhooks/zendesk", content=other, headers=_signed(other, secret))
        assert response.status_code == 200, response.text

    rotated = make_harness(h.store, source=_connector(SECRET))
    old = body.replace(b"evt-real-1", b"evt-old-2")
    response = rotated.client.post(
        "/webhooks/zendesk", content=old, headers=_signed(old, OLD_SECRET)
    )
    assert response.status_code == 401
    assert OLD_SECRET not in "\n".join(r.getMessage() for r in service_logs.records)
    rotated.source.close()


def test_d4_real_connector_stale_event_does_not_roll_back(real_harness: Any) -> None:
    """D4 with the real connector's reading of event webhooks."""
    h = real_harness
    newer = _event_body("evt-n", "SOLVED", datetime(2026, 3, 1, 12, 10, tzinfo=UTC))
    stale = _event_body("evt-s", "OPEN", datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    for body in (newer, stale):
        assert h.client.post("/webhooks/zendesk", content=body, headers=_signed(body)).is_success
        h.inbox.drain()
    current = h.store.current_disposition("h-real")
    assert current is not None
    assert current.outcome == "resolved"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    headers=st.dictionaries(
        st.sampled_from(["x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"]),
        st.text(max_size=80),
    ),
    body=st.binary(max_size=200),
)
def test_a5_real_verifier_raises_only_verification_error(
    headers: dict[str, str], body: bytes
) -> None:
    """A5: whatever the headers and bytes, the real verifier raises VerificationError only."""
    connector = _real_connector()
    with contextlib.suppress(VerificationError):
        connector.verify_webhook(headers, body, url="https://x/webhooks/zendesk", now=_NOW)


_NOW = datetime.now(UTC)


@functools.cache
def _real_connector() -> Any:
    return _connector()
