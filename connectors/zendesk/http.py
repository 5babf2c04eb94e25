"""Settings, the rate-limited zenpy client, and the one error classification (RELIABILITY O6).

Every request — zenpy's own and the create Baton sends on zenpy's session for its
``Idempotency-Key`` header — goes through :class:`LimitedAdapter`, mounted on the session for
both schemes: it takes a token from the account's limiter (:mod:`core.budget`: shared by every
process when the store is) first, tells it the ``X-Rate-Limit-Remaining`` of each answer, and
pauses it for everyone when Zendesk answers 429.

Retries are not done here (no urllib3 retries, zenpy's 429 budget is 0): every failure is
classified by :func:`classify` and the delivery worker decides, honouring ``retry_after``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, SecretStr
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

from baton.connectors.shared import int_header, positive_setting, transport_failure
from baton.connectors.zendesk import facts
from baton.core.budget import account_limiter
from baton.core.errors import (
    AccessDenied,
    BatonError,
    ConfigError,
    FatalError,
    IdempotencyConflict,
    PlatformError,
    RetryableError,
    TargetRefused,
)
from baton.core.mapping import PlannedRequest
from baton.core.ratelimit import RateLimiter

# zenpy logs request arguments and response bodies at DEBUG: tickets, notes and transcripts
# would reach the logs (C2). Its warnings (e.g. rate limiting) still come through.
logging.getLogger("zenpy").setLevel(logging.INFO)

_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$", re.IGNORECASE)
_URL = re.compile(r"^(https?)://([A-Za-z0-9.-]+(?::\d{1,5})?)/?$")
_ERROR_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


class ZendeskSettings(BaseModel):
    """The connection settings; the token and signing secrets never show in repr or str."""

    model_config = ConfigDict(frozen=True)

    subdomain: str
    email: str
    token: SecretStr
    webhook_secrets: tuple[SecretStr, ...] = ()
    base_url: str | None = None
    rate_limit: float = facts.DEFAULT_RATE_LIMIT
    timeout: float = facts.DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ZendeskSettings:
        """Read ``BATON_ZENDESK_*``; ConfigError names the variable, never its value."""
        subdomain = _required(env, facts.ENV_SUBDOMAIN)
        if not _SUBDOMAIN.match(subdomain):
            raise ConfigError(f"{facts.ENV_SUBDOMAIN} is not a Zendesk subdomain")
        base_url = env.get(facts.ENV_URL, "").strip() or None
        if base_url is not None and not _URL.match(base_url):
            raise ConfigError(f"{facts.ENV_URL} must look like https://host[:port]")
        secrets = env.get(facts.ENV_WEBHOOK_SECRETS, "")
        return cls(
            subdomain=subdomain,
            email=_required(env, facts.ENV_EMAIL),
            token=SecretStr(_required(env, facts.ENV_TOKEN)),
            webhook_secrets=tuple(SecretStr(s.strip()) for s in secrets.split(",") if s.strip()),
            base_url=base_url.rstrip("/") if base_url else None,
            rate_limit=positive_setting(env, facts.ENV_RATE_LIMIT, facts.DEFAULT_RATE_LIMIT),
            timeout=positive_setting(env, facts.ENV_TIMEOUT, facts.DEFAULT_TIMEOUT),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


# ------------------------------------------------------------------------------ transport


class LimitedAdapter(HTTPAdapter):
    """An HTTPAdapter that takes a limiter token before each request and pauses on 429."""

    def __init__(self, limiter: RateLimiter, max_wait: float) -> None:
        super().__init__(max_retries=0)
        self.limiter = limiter
        self.max_wait = max_wait

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send ``request`` once a token is free; RetryableError if the wait is too long."""
        if not self.limiter.acquire(max_wait=self.max_wait):
            raise RetryableError(
                "connection paused by the rate limiter",
                platform=facts.PLATFORM,
                code="RateLimited",
                retry_after=self.limiter.paused_remaining() or None,
            )
        response: requests.Response = super().send(request, *args, **kwargs)
        if response.status_code == 429:
            self.limiter.pause_for(retry_after_seconds(response) or 0.0)
        else:
            self.limiter.observe(int_header(response.headers, facts.RATE_LIMIT_REMAINING_HEADER))
        return response


def point_zenpy_at(base_url: str) -> None:
    """Make zenpy call ``base_url`` (a sandbox) instead of ``https://<subdomain>.zendesk.com``.

    zenpy reads ``ZENPY_FORCE_NETLOC`` / ``ZENPY_FORCE_SCHEME`` from the environment on every
    request, so this is process-wide: one Zendesk URL per process.
    """
    match = _URL.match(base_url)
    if match is None:
        raise ConfigError(f"{facts.ENV_URL} must look like https://host[:port]")
    os.environ[facts.ZENPY_FORCE_SCHEME] = match.group(1)
    os.environ[facts.ZENPY_FORCE_NETLOC] = match.group(2)


class ZendeskClient:
    """zenpy on a rate-limited, authenticated session, plus that session for raw requests."""

    def __init__(self, settings: ZendeskSettings, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or account_limiter(
            facts.PLATFORM, settings.base_url or settings.subdomain, settings.rate_limit
        )
        self.session = requests.Session()
        adapter = LimitedAdapter(self.limiter, max_wait=settings.timeout)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        if settings.base_url:
            point_zenpy_at(settings.base_url)
        self.zenpy = Zenpy(
            subdomain=settings.subdomain,
            email=settings.email,
            token=settings.token.get_secret_value(),
            session=self.session,
            timeout=settings.timeout,
            ratelimit_budget=facts.ZENPY_RATELIMIT_BUDGET,
            disable_cache=True,
        )

    def api_base(self) -> str:
        """``scheme://host`` the way zenpy resolves it, so raw requests go where zenpy goes."""
        scheme = os.environ.get(facts.ZENPY_FORCE_SCHEME) or "https"
        default = f"{self.settings.subdomain}.zendesk.com"
        netloc = os.environ.get(facts.ZENPY_FORCE_NETLOC) or default
        return f"{scheme}://{netloc}"

    def send(self, planned: PlannedRequest) -> requests.Response:
        """Send a planned request on zenpy's session; a non-2xx answer raises its PlatformError."""
        with self.calls():
            response = self.session.request(
                planned.method,
                self.api_base() + planned.path,
                json=planned.json,
                headers=planned.headers,
                timeout=self.settings.timeout,
            )
        if not 200 <= response.status_code < 300:
            raise classify(response)
        return response

    def get(self, url: str, params: Mapping[str, str]) -> requests.Response:
        """GET ``url`` on zenpy's session; a non-2xx answer raises its PlatformError."""
        with self.calls():
            response = self.session.get(url, params=dict(params), timeout=self.settings.timeout)
        if not 200 <= response.status_code < 300:
            raise classify(response)
        return response

    @contextmanager
    def calls(self) -> Iterator[None]:
        """Turn whatever zenpy or requests raise inside the block into Baton's errors."""
        try:
            yield
        except BatonError:
            raise
        except (ZenpyException, APIException, requests.RequestException) as exc:
            raise classify(exc, paused_for=self.limiter.paused_remaining()) from None

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()


# ------------------------------------------------------------------------------ classification


def classify(
    failure: BaseException | requests.Response, *, paused_for: float = 0.0
) -> PlatformError:
    """The one retry classification (RELIABILITY O6) for a response or an exception.

    429 → RetryableError with ``retry_after``; 5xx, connection errors, timeouts and broken
    bodies → RetryableError; 401/403 → AccessDenied; 422 RecordInvalid about the group or
    assignee only → TargetRefused, about other fields → FatalError naming the invalid fields;
    a reused idempotency key → IdempotencyConflict; other 4xx → FatalError.
    zenpy's exceptions are classified by the response they carry. Messages hold statuses,
    error codes and field names only: never a body, a value or a credential.
    """
    if isinstance(failure, requests.Response):
        return _from_response(failure)
    if isinstance(failure, RatelimitBudgetExceeded):
        return _rate_limited(code="RateLimited", retry_after=paused_for or None)
    response = getattr(failure, "response", None)
    if isinstance(response, requests.Response):
        return _from_response(response)
    return _from_exception(failure)


def _from_exception(failure: BaseException) -> PlatformError:
    if isinstance(failure, ZenpyException):
        return FatalError("unexpected response", platform=facts.PLATFORM, code="Unexpected")
    return transport_failure(failure, facts.PLATFORM)


def _from_response(response: requests.Response) -> PlatformError:
    status = response.status_code
    body = _json_body(response)
    code = _error_code(body)
    if status == 429:
        return _rate_limited(code=code or "RateLimited", retry_after=retry_after_seconds(response))
    if status >= 500:
        return RetryableError(
            f"server error ({status})", platform=facts.PLATFORM, status=status, code=code
        )
    if status in (401, 403):
        return AccessDenied(
            f"credentials or permissions refused ({status})",
            platform=facts.PLATFORM,
            status=status,
            code=code,
        )
    if code == facts.IDEMPOTENCY_MISMATCH_ERROR:
        return IdempotencyConflict(
            "idempotency key already used with another request body",
            platform=facts.PLATFORM,
            status=status,
            code=code,
        )
    if status == 422 and code == facts.RECORD_INVALID_ERROR:
        refused = refused_target(body)
        if refused:
            return TargetRefused(
                f"target refused: {', '.join(refused)}",
                platform=facts.PLATFORM,
                status=status,
                code=code,
                fields=refused,
            )
        fields = ", ".join(invalid_fields(body)) or "unknown fields"
        return FatalError(
            f"record invalid: {fields}", platform=facts.PLATFORM, status=status, code=code
        )
    return FatalError(
        f"request refused ({status})", platform=facts.PLATFORM, status=status, code=code
    )


def _rate_limited(*, code: str, retry_after: float | None) -> RetryableError:
    return RetryableError(
        "rate limited (429)",
        platform=facts.PLATFORM,
        status=429,
        code=code,
        retry_after=retry_after,
    )


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` header in seconds (Zendesk sends whole seconds), or None."""
    raw = response.headers.get(facts.RETRY_AFTER_HEADER, "")
    try:
        seconds = float(raw)
    except ValueError:
        return None
    if seconds != seconds or seconds == float("inf"):  # NaN or infinite
        return None
    return max(0.0, seconds)


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(body: Any) -> str | None:
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.match(code) else None


def invalid_fields(body: Any) -> list[str]:
    """The names of the fields a RecordInvalid ``details`` object complains about."""
    details = body.get("details") if isinstance(body, dict) else None
    if not isinstance(details, dict):
        return []
    names: set[str] = set()
    for key, entries in details.items():
        field_ids = _ticket_field_ids(entries)
        if field_ids:
            names.update(f"custom field {field_id}" for field_id in field_ids)
        elif isinstance(key, str) and _FIELD_NAME.match(key):
            names.add(key)
    return sorted(names)


def refused_target(body: Any) -> list[str]:
    """The target fields (group, assignee) a RecordInvalid ``details`` object refuses, when
    they are all it refuses; otherwise (other problems too, or none) an empty list."""
    details = body.get("details") if isinstance(body, dict) else None
    if not isinstance(details, dict) or not details:
        return []
    if not all(isinstance(key, str) and key in facts.TARGET_DETAIL_KEYS for key in details):
        return []
    return sorted(details)


def _ticket_field_ids(entries: Any) -> list[int]:
    """Custom field ids named by ``base`` entries (``{"ticket_field_id": 123, ...}``)."""
    if not isinstance(entries, list):
        return []
    return [
        entry["ticket_field_id"]
        for entry in entries
        if isinstance(entry, dict) and type(entry.get("ticket_field_id")) is int
    ]
