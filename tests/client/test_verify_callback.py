"""``verify_callback`` against what Baton's own sender signs (``CallbackSigner``): the event
comes back only when a configured secret proves it; any change to the body, the id or the
timestamp, a stale timestamp or a wrong secret is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from baton.client import BatonError, CallbackVerificationError, verify_callback
from baton.core.callbacks import CallbackSigner, ticket_created

NEW = "whsec_" + base64.b64encode(b"client-callback-new-secret-0123").decode()
OLD = "whsec_" + base64.b64encode(b"client-callback-old-secret-4567").decode()
OTHER = "whsec_" + base64.b64encode(b"someone-else-s-secret-000000000").decode()


def signed(secrets: list[str], at: datetime | None = None) -> tuple[dict[str, str], str]:
    when = at or datetime.now(UTC)
    event = ticket_created("h-1", "zendesk", "42", "https://z.test/agent/tickets/42", when)
    payload = event.payload()
    return CallbackSigner(secrets).headers("cb_1", payload, when), payload


def test_a_signed_callback_verifies_and_parses() -> None:
    headers, payload = signed([NEW])
    event = verify_callback(headers, payload.encode(), NEW)
    assert event["type"] == "ticket.created"
    assert event["data"]["handoff_id"] == "h-1"
    assert event["data"]["ticket_url"] == "https://z.test/agent/tickets/42"
    assert set(event) == {"type", "timestamp", "data"}


def test_rotation_either_side_may_hold_either_secret() -> None:
    both, payload = signed([NEW, OLD])  # Baton mid-rotation signs with both
    assert verify_callback(both, payload, OLD)["type"] == "ticket.created"
    assert verify_callback(both, payload, [NEW])["type"] == "ticket.created"
    old_only, payload = signed([OLD])  # the receiver rotated first
    assert verify_callback(old_only, payload, [NEW, OLD])["type"] == "ticket.created"


def test_a_wrong_secret_is_refused_without_saying_it() -> None:
    headers, payload = signed([NEW])
    with pytest.raises(CallbackVerificationError) as caught:
        verify_callback(headers, payload, [OTHER])
    assert isinstance(caught.value, BatonError)
    for secret in (NEW, OTHER):
        assert secret.removeprefix("whsec_") not in str(caught.value)
    assert "h-1" not in str(caught.value)


def test_a_stale_timestamp_is_refused() -> None:
    headers, payload = signed([NEW], at=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(CallbackVerificationError, match="too old"):
        verify_callback(headers, payload, NEW)


@pytest.mark.parametrize(
    "broken",
    [
        {"webhook-signature": None},
        {"webhook-id": None},
        {"webhook-signature": "v1"},
        {"webhook-signature": "v1,not base64!"},
        {"webhook-timestamp": "yesterday"},
        {"webhook-id": "cb_2"},
    ],
)
def test_missing_or_malformed_headers_are_refused(broken: dict[str, str | None]) -> None:
    headers, payload = signed([NEW])
    for name, value in broken.items():
        headers.pop(name)
        if value is not None:
            headers[name] = value
    with pytest.raises(CallbackVerificationError):
        verify_callback(headers, payload, NEW)


def test_headers_are_read_in_any_case() -> None:
    headers, payload = signed([NEW])
    shouted = {name.upper(): value for name, value in headers.items()}
    assert verify_callback(shouted, payload, NEW)["type"] == "ticket.created"


def test_a_malformed_secret_or_none_is_a_clear_error() -> None:
    headers, payload = signed([NEW])
    with pytest.raises(CallbackVerificationError, match="no callback secret"):
        verify_callback(headers, payload, [])
    with pytest.raises(CallbackVerificationError, match="Standard Webhooks secret"):
        verify_callback(headers, payload, "whsec_***")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_change_to_the_body_is_refused(data: st.DataObject) -> None:
    headers, payload = signed([NEW, OLD])
    body = payload.encode()
    tampered = data.draw(
        st.one_of(
            st.binary(max_size=300),
            st.integers(0, len(body) - 1).flatmap(
                lambda i: st.integers(1, 255).map(
                    lambda x: body[:i] + bytes([body[i] ^ x]) + body[i + 1 :]
                )
            ),
            st.binary(min_size=1, max_size=20).map(lambda extra: body + extra),
            st.integers(0, len(body) - 1).map(lambda i: body[:i]),
        )
    )
    assume(tampered != body)
    with pytest.raises(CallbackVerificationError):
        verify_callback(headers, tampered, [NEW, OLD])


def test_an_authentic_body_that_is_not_an_event_is_refused() -> None:
    when = datetime.now(UTC)
    for payload in ('{"type": "ticket.created"}', "[1, 2]", "not json"):
        headers = CallbackSigner([NEW]).headers("cb_3", payload, when)
        with pytest.raises(CallbackVerificationError, match="authentic callback, but"):
            verify_callback(headers, payload, NEW)
