"""Acknowledgement and durability: RELIABILITY K1, K2, K3."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from baton.core.inbox import InboxProcessor
from baton.sandbox.server import serve_in_thread

NOT_RETRIED_BY_HUBSPOT = {400, 401, 403, 404, 405}


def test_k1_webhooks_are_acknowledged_without_waiting_on_the_platform(
    store: Any, make_harness: Any, fake_source: Any, zendesk_event: Any, signer: Any
) -> None:
    """K1: with every platform API call taking 30 s, 50 concurrent webhooks (5 s client
    timeout each: far under the platform's 30 s, and over what 50 serialized SQLite writes
    take on a loaded 2-core runner, where 1 s flaked) all get 2xx, while the inbox processor
    works in the background; no platform method is called at all. (Timing is printed by
    benchmarks/webhook_ack_without_platform.py, never asserted here.)"""
    source = fake_source(platform_delay=30)
    h = make_harness(store, source=source)
    inbox = InboxProcessor(store, {"zendesk": source}, poll_interval=0.05)
    bodies = [zendesk_event(f"evt-k1-{i}", ticket_id=str(i)) for i in range(50)]

    async def send_all(base_url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, timeout=5.0) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/webhooks/zendesk", content=body, headers=signer(body))
                    for body in bodies
                )
            )
        return [r.status_code for r in responses]

    inbox.start()
    try:
        with serve_in_thread(h.app) as server:
            statuses = asyncio.run(send_all(server.base_url))
    finally:
        inbox.stop()

    assert statuses == [200] * 50
    assert source.platform_calls == 0
    assert store.table_counts()["inbound_events"] == 50


def test_k2_store_down_is_503_and_the_redelivery_lands_once(
    db_harness: Any, outage: Any, zendesk_event: Any, service_logs: Any
) -> None:
    """K2: no 2xx without a durable write — with the database unreachable the webhook gets
    503 with Retry-After; after recovery the redelivery is recorded once and processed once."""
    h = db_harness
    body = zendesk_event("evt-k2", ticket_id="9", status="solved")
    switch = outage(h.store)

    switch.begin()
    try:
        down = h.post_event(body)
    finally:
        switch.end()

    assert down.status_code == 503
    assert int(down.headers["Retry-After"]) > 0
    assert down.json() == {"error": "unavailable"}
    assert h.store.table_counts()["inbound_events"] == 0

    first = h.post_event(body)
    again = h.post_event(body)
    assert (first.status_code, first.json()) == (200, {"received": 1, "duplicates": 0})
    assert (again.status_code, again.json()) == (200, {"received": 1, "duplicates": 1})
    assert h.inbox.drain() == 1
    assert h.store.table_counts()["dispositions"] == 1
    assert b"evt-k2" not in "".join(r.getMessage() for r in service_logs.records).encode()


def test_k2_store_down_for_handoffs_status_and_health_is_503(
    harness: Any, outage: Any, handoff_doc: Any
) -> None:
    """K2: the handoff API and the health check also answer 503 with Retry-After when the
    database is unreachable; the handoff is accepted once it is back."""
    switch = outage(harness.store)
    switch.begin()
    try:
        answers = [
            harness.post_handoff(handoff_doc("h-k2")),
            harness.client.get("/v1/handoffs/h-k2", headers=harness.auth),
            harness.client.get("/healthz"),
        ]
    finally:
        switch.end()

    assert [a.status_code for a in answers] == [503, 503, 503]
    assert all("Retry-After" in a.headers for a in answers)
    assert harness.post_handoff(handoff_doc("h-k2")).status_code == 202
    assert harness.client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_k3_transient_failures_are_5xx_and_nothing_answers_410(
    harness: Any, outage: Any, zendesk_event: Any, handoff_doc: Any, monkeypatch: Any
) -> None:
    """K3: every transient failure (store down while recording, while quarantining, while
    accepting a handoff; an unexpected store error) is a 5xx with Retry-After — never one of
    the statuses HubSpot does not retry — and no answer anywhere is 410."""
    switch = outage(harness.store)
    switch.begin()
    try:
        transient = [
            harness.post_event(zendesk_event("evt-k3")),
            harness.post_event(b"signed but unreadable"),  # quarantine is a write too
            harness.post_handoff(handoff_doc("h-k3")),
        ]
    finally:
        switch.end()

    def explode(*_args: Any) -> bool:
        raise RuntimeError("unexpected store failure")

    monkeypatch.setattr(harness.store, "record_inbound_events", explode)
    transient.append(harness.post_event(zendesk_event("evt-k3-b")))
    monkeypatch.undo()

    for response in transient:
        assert 500 <= response.status_code < 600
        assert response.status_code not in NOT_RETRIED_BY_HUBSPOT
        assert "Retry-After" in response.headers

    final = [
        harness.post_event(zendesk_event("evt-k3"), secret="wrong"),
        harness.post_event(b"unreadable"),
        harness.client.post("/webhooks/nowhere", content=b"{}"),
        harness.client.get("/webhooks/zendesk"),
        harness.client.get("/v1/handoffs/unknown", headers=harness.auth),
        harness.post_event(b"x" * (2 * 1024 * 1024)),
        harness.post_event(zendesk_event("evt-k3")),
        harness.post_event(zendesk_event("evt-k3")),
    ]
    assert [r.status_code for r in final] == [401, 400, 404, 405, 404, 413, 200, 200]
    assert all(r.status_code != 410 for r in transient + final)


@pytest.mark.parametrize("path", ["/webhooks/{platform}", "/v1/handoffs", "/healthz"])
def test_k3_no_route_documents_a_410(harness: Any, path: str) -> None:
    """K3: the OpenAPI document lists no 410 for any operation."""
    spec = harness.client.get("/openapi.json").json()
    for operations in spec["paths"].values():
        for operation in operations.values():
            assert "410" not in operation.get("responses", {})
    assert path in spec["paths"]
