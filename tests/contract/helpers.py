"""What the contract tests share: fresh handoffs, the real service over a harness, delivery."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from baton.core.delivery import DeliveryMetrics, DeliveryWorker
from baton.core.disposition import Disposition
from baton.core.handoff import Handoff, parse_handoff
from baton.core.inbox import InboxProcessor
from baton.core.ports import ChangePage, Connector
from baton.core.store import Store
from baton.webhooks.app import create_app
from baton.webhooks.settings import ServiceSettings
from tests.contract.harness import PUBLIC_URL, Harness
from tests.support.paths import EXAMPLES

API_KEY = "contract-api-key-0123456789"


def new_handoff(example: str = "01-vip-refund-dispute.json") -> Handoff:
    """An example handoff under a fresh id, so every test starts from no ticket."""
    handoff = parse_handoff((EXAMPLES / example).read_bytes())
    # 12 hex characters: never 13+ digits in a row, which redaction would take for a card
    # number (a 16-digit, Luhn-valid id came up once in a few hundred runs).
    return handoff.model_copy(update={"id": f"contract-{uuid.uuid4().hex[:12]}"})


def dispositions(pages: list[ChangePage]) -> list[Disposition]:
    """Every disposition of a run, in order."""
    return [d for page in pages for d in page.dispositions]


def worker(
    harness: Harness,
    store: Store,
    owner: str = "contract",
    batch: int = 10,
    connector: Connector | None = None,
) -> DeliveryWorker:
    """The real delivery worker sending ``store``'s outbox to the harness's platform."""
    return DeliveryWorker(
        store,
        {harness.platform: connector or harness.connector},
        owner=owner,
        batch=batch,
        sleep=lambda _seconds: None,
        metrics=DeliveryMetrics(CollectorRegistry()),
    )


def delivered(harness: Harness, store: Store, count: int = 1) -> list[tuple[Handoff, str]]:
    """``count`` fresh handoffs accepted and delivered: each with its ticket id."""
    handoffs = [new_handoff() for _ in range(count)]
    for handoff in handoffs:
        store.add_handoff(handoff, harness.platform)
    worker(harness, store).drain()
    tickets = []
    for handoff in handoffs:
        link = store.ticket_link(handoff.id)
        assert link is not None, f"{handoff.id} was not delivered"
        tickets.append((handoff, link.ticket_id))
    return tickets


@dataclass
class Service:
    """Baton's real service app over a store, with the harness's connector as webhook source."""

    harness: Harness
    store: Store
    client: TestClient
    inbox: InboxProcessor

    def post(self, headers: dict[str, str], body: bytes) -> Response:
        """``POST`` exactly these bytes to the harness's ``webhook_path``."""
        response: Response = self.client.post(
            self.harness.webhook_path, content=body, headers=headers
        )
        return response


def assert_acknowledged(
    harness: Harness, response: Response, received: int, duplicates: int
) -> None:
    """``response`` is the platform's own acknowledgement (e.g. Salesforce's SOAP Ack) when its
    connector has one, else Baton's ``{received, duplicates}``."""
    assert response.status_code == 200, response.text
    reply = harness.connector.acknowledge(received, duplicates)
    if reply is None:
        assert response.json() == {"received": received, "duplicates": duplicates}
    else:
        assert (response.status_code, response.content) == (reply.status, reply.body)


@contextmanager
def service(
    harness: Harness, store: Store, connector: Connector | None = None, **changes: Any
) -> Iterator[Service]:
    """The service checking webhook timestamps by the platform's clock (``changes``: other
    settings, e.g. ``max_body_bytes``)."""
    source = connector or harness.connector
    changes.setdefault("public_url", PUBLIC_URL)
    settings = ServiceSettings(
        api_keys=(SecretStr(API_KEY),), mappings_dir=harness.mappings_dir, **changes
    )
    sources = {harness.platform: source}
    app = create_app(store, sources, settings, clock=harness.now)
    with TestClient(app) as client:
        yield Service(harness, store, client, InboxProcessor(store, sources))
