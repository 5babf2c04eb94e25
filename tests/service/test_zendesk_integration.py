"""The service with the real Zendesk connector (``connectors.zendesk``), fed by the Zendesk
sandbox's own signed event webhooks: D1 (the sandbox delivers every event twice) and C2, end
to end through ``build_service``. A1, A4-A6, D1, D4 per platform are in ``tests/contract/``.

Skipped, with the reason, only while ``connectors.zendesk`` does not import.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from baton.core.mapping import load_mapping
from baton.core.tables import InboundEventRow
from baton.sandbox.server import serve_in_thread
from baton.sandbox.zendesk import ManualClock, WebhookTarget, ZendeskState
from baton.webhooks.service import build_service
from tests.support.paths import MAPPINGS

zendesk = pytest.importorskip(
    "baton.connectors.zendesk.connector", reason="connectors/zendesk/ does not import yet"
)

SECRET = "sandbox-webhook-signing-secret"
OLD_SECRET = "previous-webhook-signing-secret"


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
