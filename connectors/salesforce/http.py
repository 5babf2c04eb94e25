"""The rate-limited session simple-salesforce logs in on, and the one error classification.

:class:`SalesforceAdapter` is mounted on the session for both schemes. For every request the
SDK or Baton sends it: takes a token from the org's limiter (:mod:`core.budget`: shared by
every process when the store is); sets the timeout when the caller gave none (the SDK's
login calls give none); reads ``Sforce-Limit-Info`` and tells the limiter what is left of the
daily allowance; and, when a host override is configured
(the sandbox), sends every ``https://*.salesforce.com`` URL — login, token, instance — and the
override's own host over https to the override's base URL instead.

:class:`SalesforceClient` logs in lazily through the SDK, sends Baton's requests on the SDK's
session and access token, and on 401 ``INVALID_SESSION_ID`` logs in again **once** and sends
the same request again. Nothing here retries otherwise: every failure is classified by
:func:`classify` and the delivery worker decides (RELIABILITY O6).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.auth import SalesforceSettings
from baton.connectors.shared import transport_failure
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
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceAdapter(HTTPAdapter):
    """Rate limit, default timeout, ``Sforce-Limit-Info`` and the sandbox host override."""

    def __init__(self, limiter: RateLimiter, *, timeout: float, host_override: str | None):
        super().__init__(max_retries=0)
        self.limiter = limiter
        self.timeout = timeout
        self.override = urlsplit(host_override) if host_override else None
        self.api_usage: tuple[int, int] | None = None
        self._warned_usage = False

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send ``request`` once a token is free; RetryableError if the wait is too long."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.override is not None and request.url:
            request.url = self.rewritten(request.url)
        if not self.limiter.acquire(max_wait=self.timeout):
            raise RetryableError(
                "connection paused by the rate limiter",
                platform=facts.PLATFORM,
                code="RateLimited",
                retry_after=self.limiter.paused_remaining() or None,
            )
        response: requests.Response = super().send(request, *args, **kwargs)
        self._read_usage(response.headers.get(facts.LIMIT_INFO_HEADER, ""))
        return response

    def rewritten(self, url: str) -> str:
        """``url`` sent to the override when it names a Salesforce host (or the override's)."""
        assert self.override is not None
        parts = urlsplit(url)
        host = (parts.hostname or "").casefold()
        ours = parts.netloc.casefold() == self.override.netloc.casefold()
        if parts.scheme == "https" and (host.endswith(facts.SALESFORCE_HOST_SUFFIX) or ours):
            return urlunsplit(
                parts._replace(scheme=self.override.scheme, netloc=self.override.netloc)
            )
        return url

    def _read_usage(self, header: str) -> None:
        match = _USAGE.search(header)
        if match is None:
            return
        used, total = int(match.group(1)), int(match.group(2))
        self.api_usage = (used, total)
        self.limiter.observe(max(0, total - used))
        if total and used >= total * facts.API_USAGE_WARNING and not self._warned_usage:
            self._warned_usage = True
            log.warning("Salesforce: %d of the org's %d daily API requests used", used, total)


class SalesforceClient:
    """simple-salesforce, logged in lazily on the adapter's session; raw calls on its token."""

    def __init__(self, settings: SalesforceSettings, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        org = (
            settings.organization_id
            or settings.instance_url
            or settings.host_override
            or f"{settings.domain}/{settings.client_id or settings.username or ''}"
        )
        self.limiter = limiter or account_limiter(facts.PLATFORM, org, settings.rate_limit)
        self.adapter = SalesforceAdapter(
            self.limiter, timeout=settings.timeout, host_override=settings.host_override
        )
        self.session = requests.Session()
        self.session.mount("https://", self.adapter)
        self.session.mount("http://", self.adapter)
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self.logins = 0

    @property
    def sf(self) -> Salesforce:
        """The SDK, logged in (on first use) through its own login call."""
        with self._lock:
            if self._sf is None:
                self._sf = self._login()
            return self._sf

    def _login(self) -> Salesforce:
        self.logins += 1
        try:
            return Salesforce(session=self.session, **self.settings.login_arguments())
        except BatonError:
            raise
        except SalesforceAuthenticationFailed as exc:
            raise login_refused(exc) from None
        except requests.RequestException as exc:
            raise classify(exc) from None

    def relogin(self, stale: Salesforce) -> None:
        """Log in again unless another thread already replaced ``stale``."""
        with self._lock:
            if self._sf is stale or self._sf is None:
                self._sf = self._login()

    def instance_base(self) -> str:
        """``https://<instance>`` as the SDK knows it (logging in first if needed)."""
        return f"https://{self.sf.sf_instance}"

    def api_path(self, path: str) -> str:
        """``/services/data/vXX.X/<path>`` for this connection's API version."""
        return f"/services/data/v{self.settings.api_version}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One call to ``path`` (``/services/…``) on the instance; a failure raises its
        PlatformError. An expired session is renewed once and the request sent again."""
        sf = self.sf
        response = self._send(sf, method, path, params, json, headers)
        if response.status_code == 401 and error_code(response) == facts.INVALID_SESSION_ID:
            self.relogin(sf)
            response = self._send(self.sf, method, path, params, json, headers)
        if not 200 <= response.status_code < 300:
            raise classify(response)
        return response

    def _send(
        self,
        sf: Salesforce,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        with self.calls():
            return self.session.request(
                method,
                f"https://{sf.sf_instance}{path}",
                params=dict(params) if params else None,
                json=json,
                headers={**sf.headers, **(headers or {})},
                timeout=self.settings.timeout,
            )

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET ``path`` and its JSON body; RetryableError when the body is unreadable."""
        return json_body(self.request("GET", path, params=params))

    def query(self, soql: str) -> Any:
        """One SOQL query (its first batch)."""
        return self.get_json(self.api_path("query/"), {"q": soql})

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query, following ``nextRecordsUrl``."""
        page = self.query(soql)
        records: list[dict[str, Any]] = []
        while True:
            records.extend(r for r in page.get("records") or [] if isinstance(r, dict))
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not isinstance(next_url, str):
                return records
            page = self.get_json(next_url)

    @contextmanager
    def calls(self) -> Iterator[None]:
        """Turn whatever requests or the SDK raise inside the block into Baton's errors."""
        try:
            yield
        except BatonError:
            raise
        except (requests.RequestException, SalesforceError) as exc:
            raise classify(exc) from None

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()


def json_body(response: requests.Response) -> Any:
    """The response's JSON; RetryableError (the call may be repeated) when unreadable."""
    try:
        return response.json()
    except ValueError:
        raise RetryableError(
            "answered without a readable body",
            platform=facts.PLATFORM,
            status=response.status_code,
            code="UnreadableResponse",
        ) from None


# ------------------------------------------------------------------------------ classification


def classify(failure: BaseException | requests.Response) -> PlatformError:
    """The one retry classification (RELIABILITY O6) for a response or an exception.

    5xx, connection errors, timeouts → RetryableError; 403 REQUEST_LIMIT_EXCEEDED →
    RetryableError (later); 401/403 otherwise → AccessDenied; 300 (several cases carry the
    external id) → IdempotencyConflict; a refused OwnerId → TargetRefused; other 4xx →
    FatalError naming the fields. Messages hold statuses, codes and field names only.
    """
    if isinstance(failure, requests.Response):
        if failure.status_code == 429:  # not Salesforce's own limit answer (403), a proxy's
            return RetryableError(
                "rate limited (429)",
                platform=facts.PLATFORM,
                status=429,
                code=error_code(failure),
                retry_after=_retry_after(failure.headers.get("Retry-After")),
            )
        return classify_status(failure.status_code, _json_or_none(failure))
    if isinstance(failure, SalesforceError):
        return classify_status(failure.status, failure.content)
    return transport_failure(failure, facts.PLATFORM)


def classify_status(status: int, body: Any) -> PlatformError:
    """Classify a status and its (JSON) error body: a whole response or a composite part."""
    errors = error_entries(body)
    code = errors[0][0] if errors else None
    fields = sorted({f for _, names in errors for f in names})
    p = facts.PLATFORM
    if status >= 500:
        return RetryableError(f"server error ({status})", platform=p, status=status, code=code)
    if status == facts.MULTIPLE_MATCHES_STATUS:
        return IdempotencyConflict(
            "several cases carry this handoff id", platform=p, status=status, code="MultipleMatches"
        )
    if code == facts.REQUEST_LIMIT_EXCEEDED:
        return RetryableError(
            "API request limit exceeded",
            platform=p,
            status=status,
            code=code,
            retry_after=facts.REQUEST_LIMIT_RETRY_AFTER,
        )
    if status in (401, 403):
        return AccessDenied(
            f"credentials or permissions refused ({status})", platform=p, status=status, code=code
        )
    if code == facts.INACTIVE_OWNER or (
        code in facts.OWNER_REFUSED_CODES and fields == [facts.CASE_OWNER]
    ):
        return TargetRefused(
            "target refused: OwnerId",
            fields=[facts.CASE_OWNER],
            platform=p,
            status=status,
            code=code,
        )
    named = f": {', '.join(fields)}" if fields else ""
    return FatalError(f"request refused ({status}){named}", platform=p, status=status, code=code)


def _retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (an HTTP date or junk: None)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None


def login_refused(exc: SalesforceAuthenticationFailed) -> PlatformError:
    """A failed SDK login: 5xx-like answers are retryable, the rest AccessDenied."""
    raw = getattr(exc, "code", None)
    if isinstance(raw, int) and raw >= 500:
        return RetryableError(f"login failed ({raw})", platform=facts.PLATFORM, status=raw)
    code = raw if isinstance(raw, str) and re.fullmatch(r"[A-Za-z0-9_.:]{1,64}", raw) else None
    return AccessDenied("login refused", platform=facts.PLATFORM, status=401, code=code)


def error_entries(body: Any) -> list[tuple[str | None, list[str]]]:
    """``[(errorCode, fields)]`` of a Salesforce error array (codes and names checked)."""
    items = body if isinstance(body, list) else [body]
    found: list[tuple[str | None, list[str]]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        raw = item.get("errorCode")
        code = raw if isinstance(raw, str) and _CODE.match(raw) else None
        names = item.get("fields")
        fields = (
            [f for f in names if isinstance(f, str) and _FIELD.match(f)]
            if isinstance(names, list)
            else []
        )
        found.append((code, fields))
    return found


def error_code(response: requests.Response) -> str | None:
    """The first ``errorCode`` of an error response, if readable."""
    errors = error_entries(_json_or_none(response))
    return errors[0][0] if errors else None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
