"""core.signatures: HMAC, constant-time comparison against every secret, two-sided window."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest

from baton.core.errors import VerificationError
from baton.core.signatures import check_timestamp, hmac_sha256_base64, signature_matches

# Zendesk's webhook verification docs: the published known-answer vector.
ZENDESK_SECRET = b"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
ZENDESK_TIMESTAMP = b"2021-03-25T05:09:27Z"
ZENDESK_BODY = b'{"event":"ticket.updated","id":123}'
ZENDESK_SIGNATURE = "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM="

NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


def test_a3_zendesk_known_answer_vector() -> None:
    assert hmac_sha256_base64(ZENDESK_SECRET, ZENDESK_TIMESTAMP + ZENDESK_BODY) == ZENDESK_SIGNATURE


def test_a3_one_byte_changed_changes_the_signature() -> None:
    tampered = ZENDESK_BODY.replace(b"123", b"124")
    assert hmac_sha256_base64(ZENDESK_SECRET, ZENDESK_TIMESTAMP + tampered) != ZENDESK_SIGNATURE


def test_a3_signatures_are_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert signature_matches([ZENDESK_SIGNATURE], ZENDESK_SIGNATURE)
    assert calls == [(ZENDESK_SIGNATURE.encode(), ZENDESK_SIGNATURE.encode())]


def test_a6_every_candidate_is_compared_without_early_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(a)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    candidates = [ZENDESK_SIGNATURE, "other-1", "other-2"]
    assert signature_matches(candidates, ZENDESK_SIGNATURE)  # the first one matches …
    assert calls == [c.encode() for c in candidates]  # … and all three were still compared


def test_a6_rotation_either_secret_verifies_and_a_removed_one_does_not() -> None:
    message = ZENDESK_TIMESTAMP + ZENDESK_BODY
    old = hmac_sha256_base64(b"old-secret", message)
    new = hmac_sha256_base64(b"new-secret", message)
    both = [old, new]
    assert signature_matches(both, old)
    assert signature_matches(both, new)
    assert not signature_matches([new], old)  # "old-secret" removed from the configuration
    assert not signature_matches([], old)


@pytest.mark.parametrize(
    "provided", ["", "x", "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM", "é\udc80"]
)
def test_a5_any_provided_text_is_comparable(provided: str) -> None:
    assert not signature_matches([ZENDESK_SIGNATURE], provided)


@pytest.mark.parametrize("offset", [0, 299, -299, 300, -300])
def test_a4_inside_the_window_is_accepted(offset: int) -> None:
    check_timestamp(NOW - timedelta(seconds=offset), NOW)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_a4_outside_the_window_is_rejected_both_ways(offset: int) -> None:
    with pytest.raises(VerificationError, match="timestamp outside the 300 s window"):
        check_timestamp(NOW - timedelta(seconds=offset), NOW)


def test_a4_custom_tolerance() -> None:
    check_timestamp(NOW - timedelta(seconds=59), NOW, timedelta(minutes=1))
    with pytest.raises(VerificationError, match="60 s window"):
        check_timestamp(NOW - timedelta(seconds=61), NOW, timedelta(minutes=1))


def test_a5_naive_or_extreme_timestamps_raise_only_verification_error() -> None:
    with pytest.raises(VerificationError, match="no time zone"):
        check_timestamp(datetime(2026, 11, 21, 10, 0, 0), NOW)
    extreme = datetime.max.replace(tzinfo=UTC)
    with pytest.raises(VerificationError, match="outside"):
        check_timestamp(extreme, datetime.min.replace(tzinfo=UTC))
