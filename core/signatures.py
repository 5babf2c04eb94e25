"""Platform-free pieces of webhook verification: HMAC, constant-time comparison, time window.

Connectors combine them with their platform's header names and message layout (each
connector's facts module).
Every comparison goes through :func:`hmac.compare_digest`, against every configured secret, so
neither the position of a mismatch nor which secret matched shows in the timing. Messages name
what failed; they never carry a secret, a signature or a body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from baton.core.errors import VerificationError

DEFAULT_TOLERANCE = timedelta(minutes=5)


def hmac_sha256_base64(secret: bytes, message: bytes) -> str:
    """base64(HMAC-SHA256(secret, message)), the form Zendesk and HubSpot v3 send."""
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(expected: Sequence[str], provided: str) -> bool:
    """Whether ``provided`` equals any of the ``expected`` signatures (one per secret).

    Compares against every candidate, without stopping at the first match, each in constant
    time; text is compared as UTF-8 bytes so that any input is comparable.
    """
    given = provided.encode("utf-8", "surrogatepass")
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), given)
    return matched


def check_timestamp(
    signed_at: datetime, now: datetime, tolerance: timedelta = DEFAULT_TOLERANCE
) -> None:
    """Raise VerificationError unless ``signed_at`` is within ``tolerance`` of ``now``.

    Two-sided: a timestamp too far in the future is as suspect as a stale one. Both datetimes
    must carry a time zone.
    """
    if signed_at.utcoffset() is None or now.utcoffset() is None:
        raise VerificationError("timestamp has no time zone")
    window = int(tolerance.total_seconds())
    try:
        inside = abs(now - signed_at) <= tolerance
    except OverflowError:  # dates near datetime.min/max with an offset
        inside = False
    if not inside:
        raise VerificationError(f"timestamp outside the {window} s window")
