"""The webhook seam carries every kind of sender: an unsigned, Outbound-Message-style SOAP
sender authenticated by a secret path and its organisation id, answered with the SOAP
acknowledgement it wants byte for byte; and a body is read by the platform's parser once,
before the ack, however many events it holds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from baton.core.inbox import InboxProcessor
from baton.core.store import Store
from baton.core.tables import DispositionRow, InboundEventRow
from baton.webhooks.app import create_app
from tests.support.outbound import ACK, OutboundMessageSource, notifications_body

ORG = "00D000000000001EAA"
SECRET = "path-secret-4f1d9c2b7a"


@pytest.fixture
def outbound() -> OutboundMessageSource:
    return OutboundMessageSource(organization_id=ORG, path_secrets=("old-secret-1", SECRET))


@pytest.fixture
def client(
    store: Store, outbound: OutboundMessageSource, service_settings: Callable[..., Any]
) -> Iterator[TestClient]:
    app = create_app(store, {"outbound": outbound}, service_settings())
    with TestClient(app) as running:
        yield running


def _counts(store: Store) -> tuple[int, int]:
    with store.reading() as session:
        events = session.scalar(select(func.count()).select_from(InboundEventRow)) or 0
        dispositions = session.scalar(select(func.count()).select_from(DispositionRow)) or 0
    return events, dispositions


def _post(client: TestClient, body: bytes, path: str = f"/webhooks/outbound/{SECRET}") -> Any:
    return client.post(path, content=body, headers={"Content-Type": "text/xml; charset=utf-8"})


def test_an_outbound_message_is_acknowledged_with_the_exact_soap_body(
    client: TestClient, store: Store
) -> None:
    body = notifications_body(ORG, [("04l000000000001", "500000000000001", "Closed")])
    answer = _post(client, body)
    assert answer.status_code == 200
    assert answer.content == ACK  # byte for byte: anything else and the sender redelivers
    assert answer.headers["content-type"].startswith("text/xml")
    again = _post(client, body)  # the sender's redelivery: acknowledged, recorded once
    assert (again.status_code, again.content) == (200, ACK)
    assert _counts(store) == (1, 0)


def test_either_configured_path_secret_verifies_during_rotation(client: TestClient) -> None:
    body = notifications_body(ORG, [("04l000000000002", "500000000000002", "New")])
    assert _post(client, body, "/webhooks/outbound/old-secret-1").status_code == 200


@pytest.mark.parametrize(
    ("path", "organization"),
    [
        ("/webhooks/outbound/wrong-secret", ORG),  # not a configured secret
        ("/webhooks/outbound", ORG),  # no secret segment at all
        (f"/webhooks/outbound/{SECRET}", "00D999999999999EAA"),  # another organisation
    ],
)
def test_a_wrong_secret_or_organisation_is_401_and_stores_nothing(
    client: TestClient,
    store: Store,
    path: str,
    organization: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = notifications_body(organization, [("04l000000000003", "500000000000003", "New")])
    with caplog.at_level(logging.DEBUG):
        answer = _post(client, body, path)
    assert answer.status_code == 401
    assert answer.content != ACK
    assert _counts(store) == (0, 0)
    baton_lines = [r.getMessage() for r in caplog.records if r.name.startswith("baton")]
    assert any("webhook.unauthorized" in line for line in baton_lines)  # logged, without
    assert not [line for line in baton_lines if SECRET in line or "wrong-secret" in line]


def test_an_unreadable_authentic_message_is_400_never_500(client: TestClient, store: Store) -> None:
    body = notifications_body(ORG, [("04l000000000004", "500000000000004", "New")])
    broken = body.replace(b"<Id>04l000000000004</Id>", b"")  # a Notification without its Id
    assert _post(client, broken).status_code == 400
    assert _counts(store) == (0, 0)


def test_a_100_notification_message_is_parsed_once_before_the_ack(
    client: TestClient, store: Store, outbound: OutboundMessageSource
) -> None:
    notifications = [(f"04l{i:015d}", f"500{i:015d}", "Closed") for i in range(100)]
    body = notifications_body(ORG, notifications)
    assert _post(client, body).content == ACK
    assert outbound.parse_calls == 1
    assert _counts(store) == (100, 0)

    processed = InboxProcessor(store, {"outbound": outbound}).drain()

    assert processed == 100
    assert outbound.parse_calls == 1  # the processor read the stored slices, not the body
    assert _counts(store) == (100, 100)
