"""Webhook signatures the sandboxes emit (and tests generate), one function per platform."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's ``X-Zendesk-Webhook-Signature``.

    base64(HMAC-SHA256(key = the signing secret exactly as given, utf-8; message = timestamp
    followed directly by the raw body)).
    """
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def zendesk_timestamp(when: datetime) -> str:
    """``X-Zendesk-Webhook-Signature-Timestamp``: ISO-8601 UTC to the second, ``...Z``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
