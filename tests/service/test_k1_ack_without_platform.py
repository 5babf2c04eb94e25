"""K1 with the real Zendesk connector, proven structurally: the Zendesk sandbox never answers
(a standing 60 s ``latency`` rule on every API path), Baton's service (``build_service`` with
``ZendeskConnector.from_env`` pointed at that sandbox) receives 50 correctly signed Zendesk
event webhooks, answers each 2xx, and the sandbox saw no API request at all meanwhile.

The sandbox's rule counts every request that reaches it the moment it arrives (``matched``),
before the 60 s wait; the request log records each one when it ends. Both must stay empty.
No timing is asserted: ``benchmarks/webhook_ack_without_platform.py`` prints it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.mapping import load_mapping
from baton.sandbox.faults import Fault, RandomFault
from baton.sandbox.server import serve_in_thread
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState
from baton.webhooks.service import build_service
from tests.support.paths import MAPPINGS

SECRET = "k1-webhook-signing-secret"
WEBHOOKS = 50
NEVER = 60.0  # seconds the sandbox waits before it would answer anything


@dataclass
class SilentZendesk:
    """A running Zendesk sandbox that holds every API request for :data:`NEVER` seconds."""

    box: ZendeskSandbox
    rule: RandomFault

    def api_requests(self) -> int:
        """API requests that reached the sandbox (counted on arrival) or were answered."""
        return self.rule.matched + len(self.box.state.request_log.entries())


@pytest.fixture
def silent_zendesk() -> Iterator[SilentZendesk]:
    """The Zendesk sandbox, never answering an API request (control requests still work)."""
    box = ZendeskSandbox(ZendeskState())
    rule = box.state.faults.add_random(
        RandomFault(Fault("latency", method="*", path_regex=".*", seconds=NEVER), 1.0)
    )
    with box:
        yield SilentZendesk(box, rule)


def zendesk_events(count: int) -> list[bytes]:
    """``count`` distinct event webhook bodies, as the sandbox itself emits them: one ticket
    solved and reopened until there are enough."""
    state = ZendeskState()
    ticket = {"subject": "K1", "comment": {"body": "context", "public": False}}
    ticket_id = int(state.create_ticket(ticket, "http://sandbox.invalid")["ticket"]["id"])
    while len(state.webhooks.events) < count:
        state.solve(ticket_id)
        state.reopen(ticket_id)
    events = list(state.webhooks.events.values())[:count]
    return [json.dumps(e, separators=(",", ":")).encode() for e in events]


def signed(body: bytes) -> dict[str, str]:
    """Zendesk's signature headers for ``body``, signed now with :data:`SECRET`."""
    timestamp = zendesk_timestamp(datetime.now(UTC))
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": zendesk_signature(SECRET, timestamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


async def post_all(url: str, bodies: list[bytes]) -> list[int]:
    """POST every body to ``url`` at once; the status codes, in order."""
    async with httpx.AsyncClient(timeout=NEVER / 2) as client:
        responses = await asyncio.gather(
            *(client.post(url, content=body, headers=signed(body)) for body in bodies)
        )
    return [r.status_code for r in responses]


def test_k1_fifty_signed_webhooks_acknowledged_while_the_platform_never_answers(
    silent_zendesk: SilentZendesk, store: Any, service_settings: Any
) -> None:
    """K1: with the platform sandbox never answering, 50 signed Zendesk webhooks through the
    real service and the real connector all get 2xx and are stored, and the sandbox received
    zero API requests while they were acknowledged. On SQLite and PostgreSQL."""
    env = {**sandbox_settings(silent_zendesk.box), facts.ENV_WEBHOOK_SECRETS: SECRET}
    connector = ZendeskConnector.from_env(load_mapping(MAPPINGS, "zendesk"), env)
    bodies = zendesk_events(WEBHOOKS)
    try:
        service = build_service(service_settings(), store, connectors={"zendesk": connector})
        # No lifespan: the inbox processor does not run, only the acknowledgement path does.
        with serve_in_thread(service.app) as server:
            statuses = asyncio.run(post_all(f"{server.base_url}/webhooks/zendesk", bodies))
            calls_during_acks = silent_zendesk.api_requests()
    finally:
        connector.close()

    assert statuses == [200] * WEBHOOKS
    assert calls_during_acks == 0
    assert silent_zendesk.box.state.faults.applied == []
    assert store.table_counts()["inbound_events"] == WEBHOOKS


def test_k1_the_silent_sandbox_counts_a_call_it_never_answers(
    silent_zendesk: SilentZendesk,
) -> None:
    """The proof above can fail: an API request to the silent sandbox is counted on arrival,
    while the caller is still waiting for an answer that does not come."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{silent_zendesk.box.base_url}/api/v2/tickets.json", timeout=0.5)
    assert silent_zendesk.api_requests() == 1
