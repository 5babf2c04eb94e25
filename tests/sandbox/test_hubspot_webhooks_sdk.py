"""The HubSpot sandbox served on a port: signed webhook batches with retries, and the real
hubspot-api-client against it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.tickets import (
    ApiException,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

from baton.sandbox.hubspot import HubSpotSandbox, HubSpotState

SECRET = "shh-client-secret"


class Receiver:
    """A webhook endpoint answering queued statuses (then 204), keeping what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hubspot?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    yield hooks
    hooks.server.shutdown()


@pytest.fixture
def sandbox() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(HubSpotState()) as served:
        yield served


def _configure(sandbox: HubSpotSandbox, receiver: Receiver, **extra: Any) -> None:
    answer = requests.put(
        f"{sandbox.base_url}/_sandbox/webhooks",
        json={
            "target_url": receiver.url,
            "client_secret": SECRET,
            "retry_base_seconds": 0.01,
            "batch_wait_seconds": 0.05,
            **extra,
        },
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


def _auth(sandbox: HubSpotSandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.access_token}"}


def _create(sandbox: HubSpotSandbox, subject: str) -> str:
    answer = requests.post(
        f"{sandbox.base_url}/crm/v3/objects/tickets",
        headers=_auth(sandbox),
        json={"properties": {"subject": subject, "hs_pipeline_stage": "1"}},
        timeout=5,
    )
    assert answer.status_code == 201
    return str(answer.json()["id"])


def test_webhook_batches_are_signed_v3(sandbox: HubSpotSandbox, receiver: Receiver) -> None:
    _configure(sandbox, receiver)
    ids = [_create(sandbox, f"s{i}") for i in range(3)]
    assert sandbox.state.webhooks.wait_idle()
    headers, body = receiver.received[0]
    events = json.loads(body)
    assert isinstance(events, list)
    assert len(events) <= 100
    creations = [e for e in events if e["subscriptionType"] == "ticket.creation"]
    assert [str(e["objectId"]) for e in creations] == ids
    first = creations[0]
    assert first["portalId"] == sandbox.state.portal_id
    assert first["appId"] == sandbox.state.app_id
    assert first["attemptNumber"] == 0
    assert first["changeSource"] == "INTEGRATION"
    assert {"eventId", "subscriptionId", "occurredAt"} <= set(first)
    stage_changes = [e for e in events if e["subscriptionType"] == "ticket.propertyChange"]
    assert {e["propertyName"] for e in stage_changes} == {"hs_pipeline_stage", "hs_pipeline"}
    timestamp = headers["X-HubSpot-Request-Timestamp"]
    assert timestamp.isdigit()
    assert len(timestamp) == 13
    message = ("POST" + receiver.url + body.decode("utf-8") + timestamp).encode("utf-8")
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), message, hashlib.sha256).digest()
    ).decode()
    assert headers["X-HubSpot-Signature-v3"] == expected
    assert headers["X-HubSpot-Signature"] == hashlib.sha256(SECRET.encode() + body).hexdigest()


def test_retries_count_attempts_and_stop_on_listed_4xx(
    sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    _configure(sandbox, receiver, subscriptions=["ticket.creation"])
    receiver.statuses = [500, 503]
    _create(sandbox, "retry me")
    assert sandbox.state.webhooks.wait_idle()
    attempts = [json.loads(body)[0]["attemptNumber"] for _, body in receiver.received]
    assert attempts == [0, 1, 2]
    event_ids = {json.loads(body)[0]["eventId"] for _, body in receiver.received}
    assert len(event_ids) == 1  # the same event, sent again
    for status in (400, 401, 403, 404, 405):
        receiver.received.clear()
        receiver.statuses = [status]
        _create(sandbox, f"refused {status}")
        assert sandbox.state.webhooks.wait_idle()
        assert len(receiver.received) == 1, status


def test_agent_actions_send_property_changes_merge_deletion_restore(
    sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    a, b = _create(sandbox, "a"), _create(sandbox, "b")
    _configure(
        sandbox,
        receiver,
        subscriptions=[
            "ticket.propertyChange",
            "ticket.deletion",
            "ticket.merge",
            "ticket.restore",
        ],
        properties=["hs_pipeline_stage"],
    )
    base = f"{sandbox.base_url}/_sandbox/tickets"
    assert requests.post(f"{base}/{a}/stage", json={"stage": "Closed"}, timeout=5).ok
    assert requests.delete(f"{base}/{b}", timeout=5).ok
    assert requests.post(f"{base}/{b}/restore", timeout=5).ok
    assert requests.post(f"{base}/merge", json={"primary": a, "merged": b}, timeout=5).ok
    assert sandbox.state.webhooks.wait_idle()
    events = [e for _, body in receiver.received for e in json.loads(body)]
    kinds = [(e["subscriptionType"], str(e["objectId"])) for e in events]
    assert kinds == [
        ("ticket.propertyChange", a),
        ("ticket.deletion", b),
        ("ticket.restore", b),
        ("ticket.merge", a),
    ]
    assert events[0]["propertyValue"] == "4"
    assert events[0]["changeSource"] == "CRM_UI"
    assert events[3]["mergedObjectIds"] == [int(b)]


def test_lost_mode_sends_nothing(sandbox: HubSpotSandbox, receiver: Receiver) -> None:
    _configure(sandbox, receiver, enabled=False)
    _create(sandbox, "lost")
    assert sandbox.state.webhooks.wait_idle()
    assert receiver.received == []


def test_the_real_sdk_creates_and_searches(sandbox: HubSpotSandbox) -> None:
    client = HubSpot(access_token=sandbox.access_token, host=sandbox.base_url)
    created = client.crm.tickets.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "subject": "From the SDK",
                "hs_pipeline": "0",
                "hs_pipeline_stage": "1",
                "baton_handoff_id": "sdk-1",
            }
        )
    )
    assert created.properties["subject"] == "From the SDK"
    found = client.crm.tickets.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "baton_handoff_id", "operator": "EQ", "value": "sdk-1"}
                    ]
                }
            ],
            properties=["subject", "baton_handoff_id"],
            limit=10,
        )
    )
    assert found.total == 1
    assert found.results[0].id == created.id
    pipelines = client.crm.pipelines.pipelines_api.get_all("tickets")
    assert pipelines.results[0].stages[0].label == "New"
    owners = client.crm.owners.owners_api.get_page()
    assert owners.results == []
    props = client.crm.properties.core_api.get_all("tickets")
    assert any(p.name == "baton_handoff_id" and p.has_unique_value for p in props.results)
    bad = HubSpot(access_token="pat-na1-nope", host=sandbox.base_url)
    with pytest.raises(ApiException) as refused:
        bad.crm.tickets.basic_api.get_by_id(created.id)
    assert getattr(refused.value, "status", None) == 401
