"""What the requests-based connectors share: reading a numeric setting, and classifying the
HTTP layer's own failures (no response at all) into Baton's error tree."""

from __future__ import annotations

from collections.abc import Mapping

import requests

from baton.core.errors import ConfigError, FatalError, PlatformError, RetryableError

_BROKEN_CONNECTION = (
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def positive_setting(env: Mapping[str, str], name: str, default: float) -> float:
    """The positive, finite number in setting ``name`` (``default`` when unset or blank);
    ConfigError naming the setting, never its value, otherwise."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive number") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number")
    return value


def int_header(headers: Mapping[str, str] | None, name: str) -> int | None:
    """A header holding a whole number (``X-Rate-Limit-Remaining: 699``), or None when it is
    missing or holds anything else."""
    raw = (headers.get(name) if headers is not None else None) or ""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def transport_failure(failure: BaseException, platform: str) -> PlatformError:
    """A failure with no response (RELIABILITY O6): a timeout or a broken connection may
    succeed when tried again; anything else the HTTP layer raised will not."""
    kind = type(failure).__name__
    if isinstance(failure, requests.Timeout):
        return RetryableError("request timed out", platform=platform, code=kind)
    if isinstance(failure, _BROKEN_CONNECTION):
        return RetryableError(f"connection failed ({kind})", platform=platform, code=kind)
    return FatalError(f"request failed ({kind})", platform=platform, code=kind)
