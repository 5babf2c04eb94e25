"""The control API every sandbox serves beside its vendor API, under the reserved ``/_sandbox/``.

It is not part of any vendor's API: it is how a test (or a person with curl) steers a running
sandbox, like stripe-mock's or toxiproxy's admin endpoints. It asks for no vendor credentials,
so it answers only clients on the loopback interface (the sandboxes listen on 127.0.0.1).
Bodies are JSON checked by pydantic; bad input gets a 4xx whose ``message`` names the field.

``ControlPlane`` sends ``/_sandbox/…`` to the control app before any of the vendor app's layers
(auth, rate limit, faults, request log) see it. ``control_app`` builds the platform-free part:

``POST   /_sandbox/faults``         queue a fault for the next ``times`` matching requests
``POST   /_sandbox/faults/random``  set a standing rule: a fault with ``probability`` or ``one_in``
``GET    /_sandbox/faults``         the queued faults and the random rules (with their counts)
``DELETE /_sandbox/faults``         clear both
``GET    /_sandbox/clock``          the sandbox's time
``POST   /_sandbox/clock``          ``{"advance_seconds": N}`` moves it forward; ``{"set": time}``
                                   sets it to a later time, or an earlier one with
                                   ``"backwards": true`` (to play a history in the past)
``GET    /_sandbox/requests``       the vendor-API requests received (newest ``limit``)
``DELETE /_sandbox/requests``       forget them

A platform's sandbox adds its own routes (agents' actions, webhooks) to the app it gets.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.sandbox.clock import OffsetClock, iso_utc
from baton.sandbox.faults import (
    ASGIApp,
    Fault,
    FaultKind,
    FaultQueue,
    RandomFault,
    Receive,
    Scope,
    Send,
)
from baton.sandbox.requestlog import RequestLog

CONTROL_PREFIX = "/_sandbox"
MAX_FAULT_SECONDS = 600.0
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600.0
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
_METHOD = re.compile(r"\*|[A-Za-z]+")
_FAULT_FIELDS = {f.name for f in dataclasses.fields(Fault)}


class ControlError(Exception):
    """A refused control request: answered ``status`` with ``{error, message, field}``."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def control_error_response(status: int, error: str, message: str, **extra: Any) -> JSONResponse:
    """The control API's error body: ``{"error": code, "message": text, …}``."""
    return JSONResponse({"error": error, "message": message, **extra}, status_code=status)


class ControlPlane:
    """ASGI middleware: ``/_sandbox/…`` to ``control`` (loopback clients only), the rest on."""

    def __init__(self, app: ASGIApp, control: ASGIApp, prefix: str = CONTROL_PREFIX) -> None:
        self.app = app
        self.control = control
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route by path prefix."""
        path = scope.get("path", "")
        ours = scope["type"] == "http" and (
            path == self.prefix or path.startswith(self.prefix + "/")
        )
        if not ours:
            await self.app(scope, receive, send)
        elif _is_remote(scope.get("client")):
            refused = control_error_response(
                403, "forbidden", "the sandbox control API answers loopback clients only"
            )
            await refused(scope, receive, send)
        else:
            await self.control(scope, receive, send)


def _is_remote(client: Any) -> bool:
    """Whether the client is an IP address off the loopback interface."""
    host = client[0] if client else None
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an IP: an in-process transport (a test client), never remote
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return not (mapped or address).is_loopback


# ------------------------------------------------------------------------------ bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultParams(_Body):
    """What a fault does and which requests it matches (see ``sandbox/faults.py``)."""

    kind: FaultKind
    method: str = "*"
    path_regex: str = ".*"
    status: int = Field(500, ge=100, le=599)
    body: JsonValue = None
    headers: dict[str, str] = Field(default_factory=dict)
    retry_after: int = Field(1, ge=0, le=86_400)
    seconds: float = Field(0.0, ge=0, le=MAX_FAULT_SECONDS)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if not _METHOD.fullmatch(value):
            raise ValueError("must be an HTTP method such as POST, or * for any")
        return value.upper()

    @field_validator("path_regex")
    @classmethod
    def _path_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression ({exc})") from None
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(text):
                raise ValueError(f"{name!r} is not a header name and printable ASCII value")
        return value

    def to_fault(self) -> Fault:
        """The ``Fault`` these parameters describe (with ``times`` where the body has it)."""
        return Fault(**self.model_dump(include=_FAULT_FIELDS))


class QueuedFaultBody(FaultParams):
    """``POST /_sandbox/faults``: a fault for the next ``times`` matching requests."""

    times: int = Field(1, ge=1, le=1_000_000)


class RandomFaultBody(FaultParams):
    """``POST /_sandbox/faults/random``: a fault each matching request gets by chance."""

    probability: float | None = Field(None, gt=0, le=1)
    one_in: int | None = Field(None, ge=1)
    seed: int | None = None

    @model_validator(mode="after")
    def _one_chance(self) -> RandomFaultBody:
        if (self.probability is None) == (self.one_in is None):
            raise ValueError("give exactly one of probability (0 < p <= 1) or one_in (>= 1)")
        return self

    @property
    def chance(self) -> float:
        """The probability asked for, directly or as one in ``one_in``."""
        if self.one_in is not None:
            return 1 / self.one_in
        assert self.probability is not None  # the validator asks for one of the two
        return self.probability

    def to_rule(self) -> RandomFault:
        """The ``RandomFault`` rule these parameters describe."""
        return RandomFault(self.to_fault(), self.chance, self.seed)


class ClockBody(_Body):
    """``POST /_sandbox/clock``: how far to move the sandbox's time forward, or the time to
    set it to (earlier than its time only with ``backwards``)."""

    advance_seconds: float | None = Field(None, ge=0, le=MAX_ADVANCE_SECONDS)
    set: AwareDatetime | None = None
    backwards: bool = False

    @model_validator(mode="after")
    def _one_move(self) -> ClockBody:
        if (self.advance_seconds is None) == (self.set is None):
            raise ValueError("give exactly one of advance_seconds (>= 0) or set (a time)")
        if self.backwards and self.set is None:
            raise ValueError("backwards goes with set")
        return self


# ------------------------------------------------------------------------------ app


def control_app(*, faults: FaultQueue, clock: OffsetClock, request_log: RequestLog) -> FastAPI:
    """The platform-free control routes on a new app, its errors in the control API's shape."""
    app = FastAPI(title="Sandbox control", openapi_url=None, docs_url=None, redoc_url=None)
    _install_error_handlers(app)
    _fault_routes(app, faults)
    _clock_routes(app, clock)
    _request_log_routes(app, request_log)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return control_error_response(422, "invalid_request", message, problems=problems)

    @app.exception_handler(ControlError)
    async def refused(request: Request, exc: ControlError) -> JSONResponse:
        text = exc.message if exc.field is None else f"{exc.field}: {exc.message}"
        code = "not_found" if exc.status == 404 else "invalid_request"
        return control_error_response(exc.status, code, text, field=exc.field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            message = f"no control endpoint {request.method} {request.url.path}"
            return control_error_response(exc.status_code, "not_found", message)
        return control_error_response(exc.status_code, "http_error", str(exc.detail))


def _problem(error: Any) -> dict[str, str]:
    """One validation error as ``{field, message}``: the dotted place, without body/path/query."""
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return {"field": "body", "message": f"is not valid JSON ({reason})".replace(" ()", "")}
    where = [str(part) for part in error.get("loc", ()) if part not in ("body", "path", "query")]
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    return {"field": ".".join(where) or "body", "message": message}


def _fault_routes(app: FastAPI, faults: FaultQueue) -> None:
    @app.post(f"{CONTROL_PREFIX}/faults", status_code=201)
    async def queue_fault(body: QueuedFaultBody) -> dict[str, Any]:
        return {"fault": faults.add(body.to_fault()).describe()}

    @app.post(f"{CONTROL_PREFIX}/faults/random", status_code=201)
    async def random_fault(body: RandomFaultBody) -> dict[str, Any]:
        return {"rule": faults.add_random(body.to_rule()).describe()}

    @app.get(f"{CONTROL_PREFIX}/faults")
    async def list_faults() -> dict[str, Any]:
        return {
            "queued": [fault.describe() for fault in faults.pending()],
            "random": [rule.describe() for rule in faults.random_rules()],
        }

    @app.delete(f"{CONTROL_PREFIX}/faults")
    async def clear_faults() -> dict[str, Any]:
        faults.clear()
        return {"queued": [], "random": []}


def _clock_routes(app: FastAPI, clock: OffsetClock) -> None:
    def reading() -> dict[str, Any]:
        return {"now": iso_utc(clock()), "offset_seconds": clock.offset_seconds}

    @app.get(f"{CONTROL_PREFIX}/clock")
    async def read_clock() -> dict[str, Any]:
        return reading()

    @app.post(f"{CONTROL_PREFIX}/clock")
    async def move_clock(body: ClockBody) -> dict[str, Any]:
        if body.set is None:
            clock.advance(body.advance_seconds or 0.0)
        elif body.set < clock() and not body.backwards:
            raise ControlError(
                422,
                'is earlier than the sandbox\'s time: add "backwards": true to go back',
                field="set",
            )
        else:
            clock.set(body.set)
        return reading()


def _request_log_routes(app: FastAPI, log: RequestLog) -> None:
    @app.get(f"{CONTROL_PREFIX}/requests")
    async def list_requests(
        limit: Annotated[int, Query(ge=1, le=100_000)] = 100_000,
    ) -> dict[str, Any]:
        entries = log.entries()[-limit:]
        return {
            "requests": [entry.describe() for entry in entries],
            "received": log.received,
            "capacity": log.capacity,
        }

    @app.delete(f"{CONTROL_PREFIX}/requests")
    async def clear_requests() -> dict[str, Any]:
        log.clear()
        return {"requests": [], "received": 0, "capacity": log.capacity}
