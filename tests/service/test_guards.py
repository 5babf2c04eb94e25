"""Unit tests of the request guards and of the log-safe helpers (C2)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.requests import Request

from baton.webhooks.auth import ApiKeys, BadContentLength, BodyTooLarge, read_body
from baton.webhooks.observability import describe, event

KEY = "a-good-key-0123456789abcdef"


def test_api_keys_keep_digests_only_and_accept_any_configured_key() -> None:
    """Keys are kept as digests (repr shows a count); any configured key matches."""
    keys = ApiKeys([SecretStr(KEY), "another-key-0123456789abcdef"])
    assert KEY not in repr(keys)
    assert KEY not in str(vars(keys))
    assert keys.accepts(f"Bearer {KEY}")
    assert keys.accepts("bearer another-key-0123456789abcdef")
    for bad in (None, "", KEY, f"Basic {KEY}", f"Bearer {KEY}x", "Bearer ", f"Token {KEY}"):
        assert not keys.accepts(bad)
    assert not ApiKeys([]).accepts(f"Bearer {KEY}")
    assert not ApiKeys([]).configured


def _request(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> Request:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def test_read_body_limits() -> None:
    """The declared length is checked first; the streamed read stops past the limit."""
    read = asyncio.run
    assert read(read_body(_request([], [b"ab", b"cd"]), 4)) == b"abcd"
    with pytest.raises(BodyTooLarge):
        read(read_body(_request([], [b"ab", b"cde"]), 4))
    with pytest.raises(BodyTooLarge):
        read(read_body(_request([(b"content-length", b"5")], []), 4))
    for value in (b"abc", b"-1"):
        with pytest.raises(BadContentLength):
            read(read_body(_request([(b"content-length", value)], [b""]), 4))


def test_c2_describe_drops_statement_parameters() -> None:
    """C2: SQLAlchemy messages carry the statement's parameters (bodies); describe keeps the
    class and the driver's first line only."""
    secret = "TRANSCRIPT-TEXT-in-a-parameter"
    integrity = IntegrityError("INSERT INTO x VALUES (?)", (secret,), Exception("UNIQUE failed"))
    assert secret in str(integrity)
    assert describe(integrity) == "IntegrityError: UNIQUE failed"
    outage = OperationalError("SELECT 1", {}, Exception("connection refused\nDETAIL: more"))
    assert describe(outage) == "OperationalError: connection refused"


def test_event_lines_quote_values(caplog: pytest.LogCaptureFixture) -> None:
    """One line per event; values with spaces or quotes are quoted, newlines escaped."""
    caplog.set_level(logging.INFO)
    event(logging.getLogger("t"), logging.INFO, "thing.done", id="h-1", reason='a "b"\nc')
    assert caplog.records[0].getMessage() == 'thing.done id=h-1 reason="a \\"b\\"\\nc"'
