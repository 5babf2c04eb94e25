"""Authenticity of inbound webhooks at the receiver: RELIABILITY A2, A7, A8, and A1/A5 when the
verifier itself crashes. A1, A4, A5 and A6 for every platform are in ``tests/contract/``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from baton.core.disposition import Disposition
from baton.core.tables import DispositionRow, InboundEventRow, QuarantineRow
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp

SIG = "X-Zendesk-Webhook-Signature"
TS = "X-Zendesk-Webhook-Signature-Timestamp"


def test_a2_raw_bytes_are_verified_as_received(harness: Any, signer: Any) -> None:
    """A2: odd whitespace, unicode escapes and unusual key order are signed and verified as
    they are, and read as sent (the inbox keeps the event's reading, made once)."""
    now = datetime.now(UTC).isoformat()
    body = (
        '{ "detail" :{"status":"SOLVED" ,\n\t"id": "42", "note": "caf\\u00e9 \\ud83d\\ude00"},'
        f'\r\n  "time"  :  "{now}",   "id":"evt-\\u00e9-1"  ,"type":"x"   }}\n'
    ).encode()

    response = harness.post_event(body, headers=signer(body))

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "duplicates": 0}
    with harness.store.session() as session:
        row = session.query(InboundEventRow).one()
        assert row.event_id == "evt-é-1"
    assert harness.source.parse_calls == 1
    assert harness.inbox.drain() == 1
    with harness.store.session() as session:
        observed = Disposition.model_validate_json(session.query(DispositionRow.data).scalar())
    assert (observed.ticket_id, observed.outcome, observed.event_id) == (
        "42",
        "resolved",
        "evt-é-1",
    )


def test_a2_url_given_to_the_verifier_is_the_configured_public_url(
    harness: Any, zendesk_event: Any, known: Any
) -> None:
    """A2 (HubSpot v3 signs the URL): the URL comes from BATON_PUBLIC_URL, never from the
    request's Host header."""
    body = zendesk_event("evt-url")
    headers = {**harness_signed(harness, body), "Host": "evil.example", "X-Forwarded-Host": "x"}

    assert harness.post_event(body, headers=headers).status_code == 200
    assert harness.source.urls == [f"{known.PUBLIC_URL}/webhooks/zendesk"]


def harness_signed(harness: Any, body: bytes) -> dict[str, str]:
    timestamp = zendesk_timestamp(datetime.now(UTC))
    secret = harness.source.secrets[0]
    return {SIG: zendesk_signature(secret, timestamp, body), TS: timestamp}


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b'{"id": "evt-1"}', b"[1, 2, 3]", b'{"id": "e", "time": 5}', b""],
    ids=["not_json", "no_detail", "array", "bad_time", "empty"],
)
def test_a7_signed_unreadable_payload_is_quarantined_as_payload_error(
    harness: Any, service_logs: pytest.LogCaptureFixture, body: bytes
) -> None:
    """A7: a signed body the source cannot read → 400, kept as received in quarantine, logged
    as a payload error and not as an auth failure; the inbox is untouched."""
    before = harness.store.table_counts()

    response = harness.post_event(body)

    assert response.status_code == 400
    assert response.json() == {"error": "payload_error"}
    after = harness.store.table_counts()
    assert after["quarantine"] == before["quarantine"] + 1
    assert after["inbound_events"] == before["inbound_events"]
    with harness.store.session() as session:
        row = session.query(QuarantineRow).one()
        assert (row.platform, row.body) == ("zendesk", body)
        assert row.reason.startswith("PayloadError")
    messages = [r.getMessage() for r in service_logs.records]
    assert any(m.startswith("webhook.payload_error") for m in messages)
    assert not any("unauthorized" in m for m in messages)


def test_a7_a_source_bug_while_reading_is_a_payload_error_not_a_500(
    harness: Any, zendesk_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A7/A5: an unexpected exception from parse_webhook is quarantined like a PayloadError."""

    def broken(_body: bytes) -> list[Any]:
        raise RuntimeError("connector bug")

    monkeypatch.setattr(harness.source, "parse_webhook", broken)
    response = harness.post_event(zendesk_event("evt-bug"))
    assert response.status_code == 400
    assert harness.store.table_counts()["quarantine"] == 1


def test_a1_a_verifier_crash_fails_closed(
    harness: Any, zendesk_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A1/A5: a verifier raising anything but VerificationError still rejects (401)."""

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise ValueError("connector bug")

    monkeypatch.setattr(harness.source, "verify_webhook", broken)
    before = harness.store.table_counts()
    assert harness.post_event(zendesk_event("evt-crash")).status_code == 401
    assert harness.store.table_counts() == before


def test_a8_declared_oversize_body_is_413_before_any_hmac_work(harness: Any, signer: Any) -> None:
    """A8: a body over the limit (default 1 MiB) → 413, nothing stored, verifier never called."""
    body = b'{"id": "evt-big", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    before = harness.store.table_counts()

    response = harness.post_event(body, headers=signer(body))

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert harness.source.verify_calls == 0
    assert harness.store.table_counts() == before


def test_a8_streamed_oversize_body_without_length_is_cut_off(harness: Any, signer: Any) -> None:
    """A8: a chunked body (no Content-Length) is refused as soon as it passes the limit."""
    chunk = b"x" * 65536
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(40):  # 2.5 MiB in all
            sent += 1
            yield chunk

    headers = signer(b"irrelevant")
    response = harness.client.post("/webhooks/zendesk", content=chunks(), headers=headers)

    assert response.status_code == 413
    assert harness.source.verify_calls == 0
    assert harness.store.table_counts()["inbound_events"] == 0


def test_a8_body_at_the_limit_is_read(make_harness: Any, sqlite_store: Any, signer: Any) -> None:
    """A8: the limit is inclusive: a body of exactly the limit is verified."""
    h = make_harness(sqlite_store, max_body_bytes=64)
    body = b"{" + b" " * 62 + b"}"
    assert len(body) == 64
    assert h.post_event(body, headers=signer(body)).status_code == 400  # read, then unreadable
    assert h.source.verify_calls == 1
    assert h.post_event(body + b" ", headers=signer(body + b" ")).status_code == 413
    assert h.source.verify_calls == 1
