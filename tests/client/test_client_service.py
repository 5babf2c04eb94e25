"""The client against the embedded default, served over real HTTP: the service, its delivery
worker and the Zendesk sandbox (RELIABILITY O3: a retry after a lost answer makes one ticket).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from baton.client import (
    AsyncBatonClient,
    BatonClient,
    HandoffConflict,
    InvalidHandoff,
    NotFound,
    Unauthorized,
)
from tests.support.builders import handoff_doc
from tests.support.paths import VIP_REFUND

if TYPE_CHECKING:
    from .conftest import Served


class LoseFirstAnswer(httpx.BaseTransport):
    """Sends every request to Baton for real; the first answer is dropped on the way back, as
    when the connection breaks after Baton committed (the client sees a ReadError)."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.sent: list[bytes] = []
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.sent.append(request.read())
        response = self.real.handle_request(request)
        if self.lost == 0:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("connection reset after the request reached Baton")
        return response

    def close(self) -> None:
        self.real.close()


def fresh_id() -> str:
    return f"client-{uuid.uuid4().hex[:12]}"


def example(handoff_id: str) -> dict[str, object]:
    return {**json.loads(VIP_REFUND.read_bytes()), "id": handoff_id}


def test_a_lost_answer_then_a_retry_makes_one_ticket(embedded: Served) -> None:
    handoff_id = fresh_id()
    transport = LoseFirstAnswer()
    slept: list[float] = []
    with BatonClient(
        embedded.url, embedded.api_key, transport=transport, sleep=slept.append
    ) as client:
        accepted = client.handoff(example(handoff_id))
        status = client.wait(handoff_id, until="ticket", timeout=20, poll=0.1)
    assert transport.lost == 1
    assert len(transport.sent) == 2
    assert transport.sent[0] == transport.sent[1]
    assert accepted.id == handoff_id
    assert accepted.existing
    assert status.ticket is not None
    assert status.ticket.platform == "zendesk"
    tickets = embedded.tickets_for(handoff_id)
    assert [str(t.id) for t in tickets] == [status.ticket.id]


def test_wait_returns_when_the_sandbox_ticket_is_created(embedded: Served) -> None:
    doc = handoff_doc(fresh_id(), triggers=[{"kind": "frustration"}])
    del doc["id"]  # the client makes one
    with BatonClient(embedded.url, embedded.api_key) as client:
        accepted = client.handoff(doc)
        assert [w.path for w in accepted.warnings] == ["triggers[0].kind"]
        status = client.wait(accepted.id, until="ticket", timeout=20, poll=0.1)
    assert status.ticket is not None
    assert status.ticket.url
    [ticket] = embedded.tickets_for(accepted.id)
    assert str(ticket.id) == status.ticket.id
    assert status.human_holds_conversation
    assert status.latest_reply is None


class SendInstead(httpx.BaseTransport):
    """Sends ``body`` in place of what the client planned: a client whose copy of the model
    is behind the service's lets such a document through, and only Baton's 422 catches it."""

    def __init__(self, body: bytes) -> None:
        self.real = httpx.HTTPTransport()
        self.body = body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        headers = {k: v for k, v in request.headers.items() if k != "content-length"}
        swapped = httpx.Request(request.method, request.url, headers=headers, content=self.body)
        return self.real.handle_request(swapped)


def test_a_422_surfaces_every_field_path(embedded: Served) -> None:
    bad = handoff_doc(fresh_id(), summary="", intent="Not An Intent", triggers=[{"kind": 5}])
    bad["customer"] = {"email": "nobody"}
    raw = httpx.post(
        f"{embedded.url}/v1/handoffs",
        content=json.dumps(bad),
        headers={"Authorization": f"Bearer {embedded.api_key}", "Content-Type": "application/json"},
    )
    assert raw.status_code == 422
    expected = [(p["path"], p["message"]) for p in raw.json()["problems"]]
    assert len(expected) >= 4
    transport = SendInstead(json.dumps(bad).encode())
    client = BatonClient(embedded.url, embedded.api_key, transport=transport)
    with client, pytest.raises(InvalidHandoff) as caught:
        client.handoff(handoff_doc(fresh_id()))
    assert caught.value.status == 422
    assert [(p.path, p.message) for p in caught.value.problems] == expected
    for path, _ in expected:
        assert path in str(caught.value)
    assert "nobody" not in str(caught.value)


def test_a_destination_the_service_does_not_enable_is_its_422(embedded: Served) -> None:
    doc = handoff_doc(fresh_id(), destination="nowhere")
    client = BatonClient(embedded.url, embedded.api_key)
    with client, pytest.raises(InvalidHandoff) as caught:
        client.handoff(doc)  # the model allows any platform name; the service decides
    assert caught.value.status == 422
    assert [p.path for p in caught.value.problems] == ["destination"]


def test_the_same_id_with_another_handoff_is_a_conflict(embedded: Served) -> None:
    handoff_id = fresh_id()
    with BatonClient(embedded.url, embedded.api_key) as client:
        client.handoff(handoff_doc(handoff_id))
        again = client.handoff(handoff_doc(handoff_id, created_at="2026-03-02T00:00:00Z"))
        assert again.existing  # created_at is left out of the comparison
        with pytest.raises(HandoffConflict):
            client.handoff(handoff_doc(handoff_id, summary="Something else entirely"))


def test_a_wrong_key_and_an_unknown_id(embedded: Served) -> None:
    client = BatonClient(embedded.url, "not-the-key-0123456789")
    with client, pytest.raises(Unauthorized) as refused:
        client.status("anything")
    assert "not-the-key" not in str(refused.value)
    with BatonClient(embedded.url, embedded.api_key) as client, pytest.raises(NotFound):
        client.status(fresh_id())


def test_the_async_client_against_the_service(embedded: Served) -> None:
    handoff_id = fresh_id()

    async def run() -> tuple[bool, str | None]:
        async with AsyncBatonClient(embedded.url, embedded.api_key) as client:
            accepted = await client.handoff(handoff_doc(handoff_id))
            status = await client.wait(accepted.id, until="ticket", timeout=20, poll=0.1)
            return accepted.existing, status.ticket.id if status.ticket else None

    existing, ticket_id = asyncio.run(run())
    assert not existing
    assert [str(t.id) for t in embedded.tickets_for(handoff_id)] == [ticket_id]
