"""hubspot-api-client on one rate-limited connection pool, and the one error classification.

The SDK builds a separate ``ApiClient`` (with its own urllib3 pool) for every API family, and
each family raises its own ``ApiException`` with no common base. :class:`HubSpotClient` hands the
SDK an ``api_factory`` that puts every family on one :class:`LimitedPool`, which, for every
request: takes a token from the portal's limiter (:mod:`core.budget`: shared by every process
when the store is) and tells it the answer's ``X-HubSpot-RateLimit-Remaining``; sets the
timeout when the SDK gave none (it never does unless asked); turns urllib3's own retries off
(the delivery worker decides, RELIABILITY O6); and counts requests. :func:`classify` turns
any family's exception, or urllib3's, into Baton's error tree.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot
from urllib3.exceptions import HTTPError, TimeoutError

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.settings import HubSpotSettings
from baton.connectors.shared import int_header
from baton.core.budget import account_limiter
from baton.core.errors import (
    AccessDenied,
    BatonError,
    FatalError,
    IdempotencyConflict,
    PlatformError,
    RetryableError,
    TargetRefused,
)
from baton.core.ratelimit import RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
TARGET_PROPERTIES = (facts.PIPELINE, facts.STAGE, facts.OWNER)  # a refusal of these: TargetRefused
_TEN_SECONDLY_PAUSE = 1.0  # seconds: a rolling window frees up within a second or so


class LimitedPool(urllib3.PoolManager):
    """The pool every SDK family sends through: rate limit, timeout, no retries, counting."""

    def __init__(self, limiter: RateLimiter, *, timeout: float) -> None:
        super().__init__(num_pools=4, maxsize=8, retries=False)
        self.limiter = limiter
        self.timeout = timeout
        self.requests = 0
        self.remaining: int | None = None  # the last X-HubSpot-RateLimit-Remaining seen
        self.server_time: datetime | None = None  # the last answer's Date: HubSpot's clock
        self._count_lock = threading.Lock()

    def urlopen(  # type: ignore[override]
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        """Send once a token is free; RetryableError when the wait would be too long."""
        if kw.get("timeout") is None:
            kw["timeout"] = urllib3.Timeout(total=self.timeout)
        kw["retries"] = False
        if not self.limiter.acquire(max_wait=self.timeout):
            raise RetryableError(
                "connection paused by the rate limiter",
                platform=facts.PLATFORM,
                code="RateLimited",
                retry_after=self.limiter.paused_remaining() or None,
            )
        with self._count_lock:
            self.requests += 1
        response = super().urlopen(method, url, redirect=redirect, **kw)
        remaining = int_header(response.headers, facts.HEADER_REMAINING)
        if remaining is not None:
            self.remaining = remaining
        if response.status != 429:
            self.limiter.observe(remaining)
        self.server_time = _http_date(response.headers.get("Date")) or self.server_time
        return response


class HubSpotClient:
    """The SDK (``hubspot.HubSpot``) on one :class:`LimitedPool`; :meth:`call` classifies."""

    def __init__(self, settings: HubSpotSettings, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        per_minute = settings.rate_limit * facts.RATE_SAFETY * 60 / facts.RATE_WINDOW_SECONDS
        burst = max(1, int(settings.rate_limit * (1 - facts.RATE_SAFETY)))
        portal = settings.portal_id or settings.host_override or settings.api_host
        self.limiter = limiter or account_limiter(facts.PLATFORM, portal, per_minute, burst)
        self.pool = LimitedPool(self.limiter, timeout=settings.timeout)
        self.sdk = HubSpot(
            access_token=settings.access_token.get_secret_value(),
            host=settings.api_host,
            api_factory=self._api_factory,
        )

    def _api_factory(self, package: Any, api_name: str, config: dict[str, Any]) -> Any:
        configuration = package.Configuration()
        for key, value in config.items():
            if key != "retry":
                setattr(configuration, key, value)
        api_client = package.ApiClient(configuration=configuration)
        api_client.rest_client.pool_manager = self.pool
        api_client.user_agent = "baton-handoff (hubspot-api-client)"
        return getattr(package, api_name)(api_client=api_client)

    @property
    def requests(self) -> int:
        """API requests sent so far on this connection."""
        return self.pool.requests

    def call(self, operation: Callable[[], T]) -> T:
        """Run one SDK call; any failure raises its PlatformError (429 also pauses the
        connection's limiter for the retry delay)."""
        try:
            return operation()
        except BatonError:
            raise
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, RetryableError) and error.status == 429 and error.retry_after:
                self.limiter.pause_for(error.retry_after)
            raise error from None

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.clear()


def classify(exc: BaseException) -> PlatformError:
    """Any SDK family's ``ApiException`` (by its ``status``, ``headers`` and ``body``) or a
    urllib3 failure, as Baton's error: 429 and 5xx retryable (429 with the policy's delay),
    401/403 access denied, 409 a conflict, other refusals fatal, a timeout or broken connection
    retryable. Messages carry the status and HubSpot's category, never the body's text."""
    status = getattr(exc, "status", None)
    if type(status) is int and type(exc).__module__.startswith("hubspot."):
        return classify_status(status, getattr(exc, "body", None), getattr(exc, "headers", None))
    kind = type(exc).__name__
    if isinstance(exc, TimeoutError):
        return RetryableError("request timed out", platform=facts.PLATFORM, code=kind)
    if isinstance(exc, HTTPError | ConnectionError):
        return RetryableError(f"connection failed ({kind})", platform=facts.PLATFORM, code=kind)
    return FatalError(f"request failed ({kind})", platform=facts.PLATFORM, code=kind)


def classify_status(status: int, body: Any, headers: Any = None) -> PlatformError:
    """A refusal by its status and HubSpot's error body."""
    document = _document(body)
    category = _category(document)
    if status == 0:  # the SDK's wrapping of an SSL failure: no answer at all
        return FatalError("TLS failed", platform=facts.PLATFORM, code="SSLError")
    if status == 429:
        return RetryableError(
            f"HubSpot rate limit ({document.get('policyName') or 'unknown policy'})",
            platform=facts.PLATFORM,
            status=429,
            code=category or "RATE_LIMIT",
            retry_after=_retry_after(document, headers),
        )
    if status >= 500 or status == 408:
        return RetryableError(
            f"HubSpot answered {status}", platform=facts.PLATFORM, status=status, code=category
        )
    if status in (401, 403):
        return AccessDenied(
            f"HubSpot refused the credentials ({status})",
            platform=facts.PLATFORM,
            status=status,
            code=category,
        )
    if status == 409:
        return IdempotencyConflict(
            "HubSpot reports a conflict (a unique value already taken)",
            platform=facts.PLATFORM,
            status=409,
            code=category or facts.CONFLICT,
        )
    names = error_names(document)
    if category == facts.VALIDATION_ERROR and names and set(names) <= set(TARGET_PROPERTIES):
        return TargetRefused(
            f"target refused: {', '.join(sorted(set(names)))}",
            fields=sorted(set(names)),
            platform=facts.PLATFORM,
            status=status,
            code=category,
        )
    return FatalError(
        f"HubSpot refused the request ({status} {category or 'no category'})",
        platform=facts.PLATFORM,
        status=status,
        code=category,
    )


def item_error(error: Any) -> PlatformError:
    """One failed row of a 207 batch answer (an SDK error model or a dict) as the error a
    request holding only that row would raise."""
    document = error.to_dict() if hasattr(error, "to_dict") else _document(error)
    status = 409 if document.get("category") == facts.CONFLICT else 400
    return classify_status(status, document)


def error_names(body: Any) -> list[str]:
    """The property names a VALIDATION_ERROR body blames (its ``errors[].context`` or the
    JSON list HubSpot wraps in ``message``), for telling a refused target from other input."""
    document = _document(body)
    names: list[str] = []
    for item in document.get("errors") or []:
        if isinstance(item, dict):
            context = item.get("context")
            for value in (
                (context or {}).get("propertyName") or [] if isinstance(context, dict) else []
            ):
                names.append(str(value))
    message = document.get("message")
    if isinstance(message, str) and "[" in message:
        start = message.find("[")
        try:
            listed = json.loads(message[start:])
        except ValueError:
            listed = []
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append(item["name"])
    return names


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.utcoffset() is not None else None


def _document(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}
    return body if isinstance(body, dict) else {}


def _category(document: dict[str, Any]) -> str | None:
    for key in ("category", "errorType"):
        value = document.get(key)
        if isinstance(value, str) and _CODE.fullmatch(value):
            return value
    return None


def _retry_after(document: dict[str, Any], headers: Any) -> float:
    raw = headers.get("Retry-After") if headers is not None else None
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
    if document.get("policyName") == facts.POLICY_DAILY:
        now = datetime.now(UTC)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - now).total_seconds()
    return _TEN_SECONDLY_PAUSE
