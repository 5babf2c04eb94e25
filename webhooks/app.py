"""The HTTP service: handoff intake, webhook receivers, health and metrics.

:func:`create_app` wires the parts over one :class:`~core.store.Store`; background jobs
(the inbox processor, later the delivery worker) are started and stopped by the app's lifespan.
After every durable write (a new handoff, a new inbox event) the app calls ``wake()`` on each
background job that has one, so work is picked up at once instead of at the next poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from importlib import metadata
from typing import Protocol, runtime_checkable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.core.ports import WebhookSource
from baton.core.redact import Redactor
from baton.core.store import Store
from baton.webhooks.auth import RETRY_AFTER_SECONDS, ApiKeys, error_response
from baton.webhooks.intake import HandoffIntake, load_redactor
from baton.webhooks.observability import Metrics, describe, event
from baton.webhooks.receivers import WebhookReceiver
from baton.webhooks.report_api import report_router
from baton.webhooks.settings import ServiceSettings
from baton.webhooks.volume_api import volume_router

log = logging.getLogger(__name__)

TITLE = "Baton"
try:
    VERSION = metadata.version("baton-handoff")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0+source"
DESCRIPTION = (
    "Hands AI-agent conversations to the human help desk exactly once, and follows the "
    "tickets back.\n\n"
    "* `POST /v1/handoffs` takes one handoff (`Authorization: Bearer <API key>`) and answers "
    "202 with its status URL; the handoff id is the idempotency key.\n"
    "* `POST /webhooks/{platform}` receives the platforms' signed webhooks: verified on the "
    "raw bytes, recorded once, acknowledged at once, processed afterwards.\n"
    "* `GET /healthz` and `GET /metrics` (Prometheus) for operations."
)


class BackgroundJob(Protocol):
    """Something the app runs beside itself: started at startup, stopped at shutdown."""

    def start(self) -> None:
        """Start working (in a thread of its own); return at once."""

    def stop(self) -> None:
        """Stop and wait for the work in hand to finish."""


@runtime_checkable
class Wakeable(Protocol):
    """A job that can be told that new work is waiting."""

    def wake(self) -> None:
        """Look for work now."""


def _waker(jobs: Sequence[object]) -> Callable[[], None]:
    wakeable = [job for job in jobs if isinstance(job, Wakeable)]

    def wake() -> None:
        for job in wakeable:
            job.wake()

    return wake


def _lifespan(
    jobs: Sequence[BackgroundJob], after_stop: Callable[[], None]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[BackgroundJob] = []
        try:
            for job in jobs:
                job.start()
                started.append(job)
            yield
        finally:
            for job in reversed(started):
                job.stop()
            after_stop()

    return lifespan


def create_app(
    store: Store,
    sources: Mapping[str, WebhookSource],
    settings: ServiceSettings,
    *,
    background: Sequence[BackgroundJob] = (),
    platforms: Collection[str] | None = None,
    redactor: Redactor | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The Baton service over ``store``.

    ``sources`` are the webhook sources by platform (each gets ``POST /webhooks/<platform>``);
    ``platforms`` are where handoffs may be delivered (default: the sources' platforms).
    ``redactor`` defaults to the rules of ``settings.mappings_dir``, loaded once here;
    ``metrics`` defaults to a new registry owned by this app; ``clock`` (tests) is the time
    webhook timestamps are checked against.
    """
    metrics = metrics if metrics is not None else Metrics()
    wake = _waker(background)
    intake = HandoffIntake(
        store,
        ApiKeys(settings.api_keys),
        redactor or load_redactor(settings.mappings_dir),
        platforms=set(sources) if platforms is None else platforms,
        default_platform=settings.default_platform,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        after_write=wake,
    )
    receiver = WebhookReceiver(
        store,
        sources,
        public_url=settings.webhook_url,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        after_write=wake,
        clock=clock,
    )
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=VERSION,
        # The server has answered its requests by then: the inbox writer has nothing left
        # to commit, and its thread ends with the app.
        lifespan=_lifespan(background, receiver.writer.close),
    )
    app.state.store = store
    app.state.settings = settings
    app.state.metrics = metrics
    app.include_router(intake.router())
    app.include_router(receiver.router())
    keys = ApiKeys(settings.api_keys)
    app.include_router(report_router(store, keys, settings.mappings_dir))
    app.include_router(volume_router(store, keys))
    _add_operations(app, store, metrics)
    _add_error_handlers(app)
    app.add_middleware(AccessLog)
    if not settings.api_keys_configured:
        event(log, logging.WARNING, "intake.disabled", reason="BATON_API_KEYS is not set")
    return app


def _add_operations(app: FastAPI, store: Store, metrics: Metrics) -> None:
    def ping() -> None:
        # A raw DBAPI round trip: no ORM transaction, so on SQLite no write lock is taken.
        connection = store.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    async def healthz() -> Response:
        try:
            await run_in_threadpool(ping)
        except Exception as exc:  # any failure to reach the database is "unavailable"
            event(log, logging.ERROR, "health.database_unreachable", error=describe(exc))
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)


def _add_error_handlers(app: FastAPI) -> None:
    async def http_error(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        codes = {404: "not_found", 405: "method_not_allowed"}
        headers = getattr(exc, "headers", None)
        return error_response(status, codes.get(status, "http_error"), headers=headers)

    async def invalid_request(_request: Request, exc: Exception) -> Response:
        # FastAPI's default echoes the input; only locations and messages go back here.
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        problems = [
            {"path": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in errors
        ]
        return error_response(422, "invalid_request", problems=problems)

    async def unexpected(_request: Request, exc: Exception) -> Response:
        event(log, logging.ERROR, "request.failed", error=type(exc).__name__)
        return error_response(500, "internal_error")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)


class AccessLog:
    """One log line per request: method, route template (no ids, no query), status, time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            event(
                log,
                logging.INFO,
                "request",
                method=scope.get("method", ""),
                path=getattr(scope.get("route"), "path", "<unmatched>"),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
