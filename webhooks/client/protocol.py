"""The client's one home for what it sends and how it reads the answers, with no I/O: the
sync (:mod:`baton.client.sync`) and async (:mod:`baton.client.aio`) clients are thin shells
that send what this module plans and hand each answer back to it.

Retries: a request is sent again on a connection error or timeout, a 429 or a 5xx — the same
method, path and bytes (so the same handoff id: Baton's idempotency makes that safe). The
wait before each retry is what ``Retry-After`` asked (seconds or an HTTP date), else capped
exponential backoff with jitter. A ``Retry-After`` longer than :data:`MAX_RETRY_AFTER` ends the
retries at once (the error carries it, to schedule a later try).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from baton.client.errors import (
    HandoffConflict,
    InvalidHandoff,
    NotFound,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
)
from baton.client.models import Accepted, HandoffStatus
from baton.core.errors import Problem, ValidationError
from baton.core.handoff import Handoff, is_handoff_id, parse_handoff, validate_handoff

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
BACKOFF_INITIAL = 0.5  # seconds before the first retry, doubling …
BACKOFF_MAX = 8.0  # … up to this, plus up to BACKOFF_INITIAL of jitter
MAX_RETRY_AFTER = 60.0  # a longer Retry-After is not waited out in the call
HANDOFFS_PATH = "/v1/handoffs"

Until = Literal["ticket", "resolved"]
UNTIL: tuple[Until, ...] = ("ticket", "resolved")
# Transport errors where sending again can help; others (a bad URL scheme, a proxy refusing)
# fail the same way every time.
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Call:
    """One planned request: sent as is on every attempt."""

    method: str
    path: str
    content: bytes | None = None
    handoff_id: str | None = None


def headers(api_key: str) -> dict[str, str]:
    """The headers of every request: the API key as a bearer token, JSON both ways."""
    return {
        "Authorization": f"Bearer {api_key}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


def handoff_call(
    handoff: Handoff | Mapping[str, Any], *, new_id: Callable[[], str] = lambda: str(uuid.uuid4())
) -> Call:
    """Plan ``POST /v1/handoffs``: validate with Baton's own model, fill in what is missing.

    A document without ``id`` gets one (once: the call's bytes are reused on every retry) and
    without ``created_at`` the time now (Baton leaves it out of its idempotency comparison).
    Raises :class:`InvalidHandoff` with every field path, before anything is sent.
    """
    try:
        if isinstance(handoff, Handoff):
            model = handoff
        else:
            document = dict(handoff)
            if document.get("id") is None:
                document["id"] = new_id()
            if document.get("created_at") is None:
                document["created_at"] = datetime.now(UTC)
            model = validate_handoff(document)
        body = model.model_dump_json().encode()
        parse_handoff(body)  # what Baton will check: the size limit, and each field again
    except ValidationError as exc:
        raise InvalidHandoff(exc.problems) from None
    return Call("POST", HANDOFFS_PATH, body, model.id)


def status_call(handoff_id: str) -> Call:
    """Plan ``GET /v1/handoffs/{id}``; an id no handoff can have is :class:`NotFound` here."""
    if not is_handoff_id(handoff_id):
        raise NotFound("not a handoff id (1 to 128 of A-Z a-z 0-9 . _ : -)")
    return Call("GET", f"{HANDOFFS_PATH}/{handoff_id}", handoff_id=handoff_id)


def transport_failure(call: Call, exc: httpx.HTTPError) -> TransportError:
    """The :class:`TransportError` for ``exc`` (raise it ``from exc``); ``retryable`` says
    whether sending again can help."""
    error = TransportError(
        f"{call.method} {call.path}: no answer from Baton ({type(exc).__name__})"
    )
    error.retryable = isinstance(exc, _RETRYABLE_TRANSPORT)
    return error


def check_retryable(response: httpx.Response, now: datetime | None = None) -> None:
    """Raise :class:`ServiceUnavailable` (to be retried) for a 429 or a 5xx answer."""
    if response.status_code == 429 or response.status_code >= 500:
        hint = retry_after_seconds(response.headers.get("Retry-After"), now)
        raise ServiceUnavailable(response.status_code, hint)


def is_retryable(exc: BaseException) -> bool:
    """Whether the failed attempt that raised ``exc`` is worth another."""
    if isinstance(exc, ServiceUnavailable):
        return True
    return isinstance(exc, TransportError) and exc.retryable


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date; None if absent or
    unreadable (then backoff decides)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT; "-0000" parses naive
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


class _WaitRetryAfter(wait_base):
    """The failed attempt's ``retry_after`` when it has one, else ``fallback``."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        hint = _retry_after(retry_state)
        return hint if hint is not None else self.fallback(retry_state)


class _StopOnLongRetryAfter(stop_base):
    """Stop when Baton asks for a longer wait than :data:`MAX_RETRY_AFTER`."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        hint = _retry_after(retry_state)
        return hint is not None and hint > MAX_RETRY_AFTER


def _retry_after(retry_state: RetryCallState) -> float | None:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None and outcome.failed else None
    hint = getattr(error, "retry_after", None)
    return hint if isinstance(hint, float | int) else None


def retry_options(retries: int, sleep: Callable[[float], Any]) -> dict[str, Any]:
    """Keyword arguments for tenacity's ``Retrying`` / ``AsyncRetrying`` (``sleep``: blocking
    or async to match): ``retries`` retries after the first attempt, then the last error."""
    if retries < 0:
        raise ValueError("retries must be 0 or more")
    return {
        "retry": retry_if_exception(is_retryable),
        "stop": stop_after_attempt(retries + 1) | _StopOnLongRetryAfter(),
        "wait": _WaitRetryAfter(
            wait_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX)
            + wait_random(0, BACKOFF_INITIAL)
        ),
        "sleep": sleep,
        "reraise": True,
    }


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _error_code(document: Any) -> str | None:
    code = document.get("error") if isinstance(document, dict) else None
    return code if isinstance(code, str) and code.isidentifier() and len(code) <= 40 else None


def _refusal(call: Call, response: httpx.Response, document: Any) -> Exception:
    """The error for an answer that is neither success nor retryable."""
    status = response.status_code
    if status == 401:
        return Unauthorized("Baton refused the API key (401)")
    if status == 404:
        if call.method == "GET":
            return NotFound(f"no handoff {call.handoff_id} (404)")
        return NotFound(f"{call.method} {call.path}: 404 (is the base URL a Baton service?)")
    if status == 409 and call.handoff_id is not None:
        return HandoffConflict(call.handoff_id)
    if status == 422 and isinstance(document, dict):
        problems = document.get("problems")
        if isinstance(problems, list):
            return InvalidHandoff(
                [
                    Problem(str(p.get("path", "")), str(p.get("message", "")))
                    for p in problems
                    if isinstance(p, dict)
                ],
                status=422,
            )
    return UnexpectedResponse(status, _error_code(document))


def read_accepted(call: Call, response: httpx.Response) -> Accepted:
    """The answer to ``POST /v1/handoffs``: 202 (received now) or 200 (received before: its
    status document), else the error it means. ``status_url`` is made absolute."""
    document = _json(response)
    if response.status_code not in (200, 202) or not isinstance(document, dict):
        raise _refusal(call, response, document)
    existing = response.status_code == 200
    try:
        handoff_id = str(document["id"])
        url = str(document.get("status_url") or f"{HANDOFFS_PATH}/{handoff_id}")
        return Accepted.model_validate(
            {
                **document,
                "status_url": str(response.request.url.join(url)),
                "warnings": [] if existing else document.get("warnings", []),
                "existing": existing,
            }
        )
    except (KeyError, ValueError):  # pydantic's ValidationError is a ValueError
        raise UnexpectedResponse(response.status_code, "not a handoff answer") from None


def read_status(call: Call, response: httpx.Response) -> HandoffStatus:
    """The answer to ``GET /v1/handoffs/{id}``, else the error it means."""
    document = _json(response)
    if response.status_code != 200 or not isinstance(document, dict):
        raise _refusal(call, response, document)
    try:
        return HandoffStatus.model_validate(document)
    except ValueError:
        raise UnexpectedResponse(200, "not a status document") from None


def check_until(until: str) -> Until:
    """``until`` checked: ``ticket`` or ``resolved`` (ValueError otherwise)."""
    for known in UNTIL:
        if until == known:
            return known
    raise ValueError(f"until must be one of {', '.join(UNTIL)}")


def reached(status: HandoffStatus, until: Until) -> bool:
    """Whether ``status`` is what ``wait`` waits for: the ticket exists, or it is resolved."""
    if until == "ticket":
        return status.ticket is not None
    return status.outcome == "resolved"


def next_pause(poll: float, remaining: float) -> float | None:
    """How long ``wait`` sleeps before looking again; None once time is up."""
    if remaining <= 0:
        return None
    return min(poll, remaining)
