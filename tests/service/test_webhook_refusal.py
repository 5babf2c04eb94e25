"""The refusal seam (``WebhookSource.refusal``) and Outbound Message reading at the receiver.

A SOAP sender is refused with a SOAP fault, not Baton's JSON: the receiver keeps its status
(401 not proven authentic, 400 quarantined) and what it stores, and takes only the body and
media type from the source. Sources with no refusal answer keep the JSON one. With the real
reader behind the Outbound-Message-style source: one message of three notifications delivered
twice and in reverse order leaves each case at its latest value (D1, D4, D5); a wrong
organisation, a billion-laughs body and an external-entity body are SOAP faults that store
nothing (A1), while an authentic message broken further in is quarantined (A7).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baton.core.disposition import Disposition, latest
from baton.core.errors import VerificationError
from baton.core.inbox import InboxProcessor
from baton.core.ports import WebhookReply
from baton.core.store import Store
from baton.core.tables import DispositionRow
from baton.webhooks.app import create_app
from tests.support.outbound import ACK, OutboundMessageSource, outbound_body

ORG_18 = "00D000000000001EAA"
ORG_15 = "00D000000000001"
SECRET = "path-secret-4f1d9c2b7a"
PATH = f"/webhooks/outbound/{SECRET}"
XML = {"Content-Type": "text/xml; charset=utf-8"}

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>&xxe;</soapenv:Body></soapenv:Envelope>"
)


@pytest.fixture
def outbound() -> OutboundMessageSource:
    # configured in the 15-character form; Salesforce sends the 18-character one
    return OutboundMessageSource(organization_id=ORG_15, path_secrets=(SECRET,))


@pytest.fixture
def client(
    store: Store, outbound: OutboundMessageSource, service_settings: Callable[..., Any]
) -> Iterator[TestClient]:
    with TestClient(create_app(store, {"outbound": outbound}, service_settings())) as running:
        yield running


def _stored(store: Store) -> dict[str, int]:
    return {name: n for name, n in store.table_counts().items() if n}


def _is_soap_fault(answer: Any) -> bool:
    return (
        answer.headers["content-type"].startswith("text/xml")
        and b"<soapenv:Fault><faultcode>soapenv:Client</faultcode>" in answer.content
    )


def _case(status: str, modified: str) -> dict[str, str | None]:
    return {"Status": status, "LastModifiedDate": modified, "OwnerId": None}


def test_d1_d4_d5_three_notifications_twice_and_reversed_end_at_the_latest_values(
    client: TestClient, store: Store, outbound: OutboundMessageSource
) -> None:
    """D1, D4, D5: a 3-notification message (the newest state of three cases) is delivered
    twice — the first time the store fails to record it (503, nothing stored), the second time
    with its notifications in reverse order — then an older message about the same cases
    arrives last → each notification recorded once, every completed delivery acknowledged
    byte for byte, and each case's disposition at its newest value, not the last to arrive."""
    newer = [
        ("04l000000000001AAA", "500000000000001AAA", _case("Closed", "2026-11-27T12:05:00Z")),
        ("04l000000000002AAA", "500000000000002AAA", _case("Closed", "2026-11-27T12:06:00Z")),
        ("04l000000000003AAA", "500000000000003AAA", _case("Working", "2026-11-27T12:07:00Z")),
    ]
    older = [
        ("04l000000000004AAA", "500000000000003AAA", _case("Closed", "2026-11-27T11:00:00Z")),
        ("04l000000000005AAA", "500000000000002AAA", _case("New", "2026-11-27T11:00:00Z")),
        ("04l000000000006AAA", "500000000000001AAA", _case("New", "2026-11-27T11:00:00Z")),
    ]
    record, calls = store.record_inbound_events, []

    def failing_once(*args: Any) -> list[bool]:
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("the store went away")
        return record(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "record_inbound_events", failing_once)
        first = client.post(PATH, content=outbound_body(ORG_18, newer), headers=XML)
    assert first.status_code == 503  # a retry is wanted: nothing acknowledged
    assert store.table_counts()["inbound_events"] == 0  # all or none (D5)
    answer = client.post(PATH, content=outbound_body(ORG_18, newer[::-1]), headers=XML)
    assert (answer.status_code, answer.content) == (200, ACK)
    answer = client.post(PATH, content=outbound_body(ORG_18, older), headers=XML)
    assert (answer.status_code, answer.content) == (200, ACK)

    assert InboxProcessor(store, {"outbound": outbound}).drain() == 6
    assert store.table_counts()["inbound_events"] == 6  # the redelivery added nothing
    with store.reading() as session:
        history = [
            Disposition.model_validate_json(d) for d in session.scalars(select(DispositionRow.data))
        ]
    final = {
        case: latest(d for d in history if d.ticket_id == case)
        for case in ("500000000000001AAA", "500000000000002AAA", "500000000000003AAA")
    }
    assert {case: d.outcome for case, d in final.items() if d} == {
        "500000000000001AAA": "resolved",
        "500000000000002AAA": "resolved",
        "500000000000003AAA": "open",
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/webhooks/outbound/wrong-secret", outbound_body(ORG_18, [])),
        (PATH, outbound_body("00D000000000002EAA", [])),  # another organisation
        (PATH, outbound_body("00d000000000001", [])),  # 15 characters are case-sensitive
        (PATH, BILLION_LAUGHS),
        (PATH, EXTERNAL_ENTITY),
        (PATH, b"<not-xml"),
    ],
    ids=["secret", "organisation", "case", "billion-laughs", "external-entity", "malformed"],
)
def test_a1_an_unauthenticated_or_hostile_message_is_a_soap_fault_storing_nothing(
    client: TestClient,
    store: Store,
    outbound: OutboundMessageSource,
    path: str,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A1 with a SOAP sender: 401 with a SOAP fault (not the JSON answer), no row anywhere
    (not even in quarantine), nothing parsed, and the fault names no check."""
    with caplog.at_level(logging.INFO):
        answer = client.post(path, content=body, headers=XML)
    assert answer.status_code == 401
    assert _is_soap_fault(answer)
    assert b"<faultstring>not authenticated</faultstring>" in answer.content
    assert _stored(store) == {}
    assert outbound.parse_calls == 0
    assert any("webhook.unauthorized" in r.getMessage() for r in caplog.records)


def test_a7_an_authentic_message_broken_further_in_is_quarantined_with_a_soap_fault(
    client: TestClient, store: Store
) -> None:
    body = outbound_body(ORG_18, [("04l000000000001AAA", "500000000000001AAA", {})])
    broken = body.replace(b'xsi:type="sf:Case"', b'xsi:type="sf:Account"')
    answer = client.post(PATH, content=broken, headers=XML)
    assert answer.status_code == 400
    assert _is_soap_fault(answer)
    assert _stored(store) == {"quarantine": 1}


class _Refusing:
    """A source that refuses every body, with a configurable refusal answer."""

    platform = "refusing"

    def __init__(self, refusal: Callable[[int, str], WebhookReply | None]) -> None:
        self._refusal = refusal
        self.reasons: list[tuple[int, str]] = []

    def verify_webhook(self, headers: Any, body: bytes, *, url: str, now: Any) -> None:
        raise VerificationError("signature does not match")  # never reads SECRET-INPUT

    def parse_webhook(self, body: bytes) -> list[Any]:
        raise AssertionError("never reached")

    def acknowledge(self, received: int, duplicates: int) -> None:
        return None

    def refusal(self, status: int, reason: str) -> WebhookReply | None:
        self.reasons.append((status, reason))
        return self._refusal(status, reason)


def _raise(status: int, reason: str) -> WebhookReply:
    raise RuntimeError("a source bug")


@pytest.mark.parametrize(
    ("refusal", "soap"),
    [
        (lambda s, r: WebhookReply(b"<fault/>", "text/xml; charset=utf-8", 200), True),
        (lambda s, r: None, False),
        (_raise, False),
    ],
    ids=["own-answer-status-kept", "none-is-json", "raising-is-json"],
)
def test_a1_a_source_refusal_answer_replaces_the_json_body_only(
    store: Store,
    service_settings: Callable[..., Any],
    refusal: Callable[[int, str], WebhookReply | None],
    soap: bool,
) -> None:
    """A bad signature: the status stays 401 even when the source's reply says 200, the body
    and media type are the source's when it has one, Baton's JSON otherwise (also when the
    refusal raises), nothing is stored, and the source is given the receiver's generic
    reason, no input."""
    source = _Refusing(refusal)
    with TestClient(create_app(store, {"refusing": source}, service_settings())) as client:
        answer = client.post("/webhooks/refusing", content=b"SECRET-INPUT", headers=XML)
    assert answer.status_code == 401
    if soap:
        assert (answer.content, answer.headers["content-type"]) == (
            b"<fault/>",
            "text/xml; charset=utf-8",
        )
    else:
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["error"] == "unauthorized"
    assert source.reasons == [(401, "signature does not match")]
    assert _stored(store) == {}


def test_a1_a_source_without_a_refusal_keeps_the_json_answer(harness: Any) -> None:
    """The seam's default: a source (the Zendesk-like fake) with no refusal answer."""
    answer = harness.post_event(b"{}", headers={"x-zendesk-webhook-signature": "bad"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
