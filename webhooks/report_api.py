"""The learning report over HTTP.

``GET /v1/report``: the report as JSON (the document ``baton report --json`` writes; its JSON
Schema is ``baton schema report``), behind the same bearer API key as intake.

``GET /report``: the same report as the HTML page ``baton report --html`` writes, for a browser.
A browser cannot send a bearer header, so the page takes the API key as the password of HTTP
Basic authentication (any user name; the browser asks for it on the 401 challenge) — never in
the query string, where it would end up in logs and history. Served with a Content Security
Policy that forbids the page any request at all.

Query parameters mirror the command: ``since``, ``until`` (ISO-8601, UTC without an offset),
``by`` (comma-separated dimensions), ``period`` (``day`` or ``week``), ``platform``. A bad value
is 422 naming the parameter; an unreachable store is 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from baton.core.errors import BatonError, ConfigError
from baton.core.learning.assemble import MappingFacts, stored_report
from baton.core.learning.report import DEFAULT_DIMENSIONS, Report, report_document
from baton.core.store import Store
from baton.core.times import parse_time
from baton.webhooks.auth import (
    STORE_ERRORS,
    ApiKeys,
    unauthorized_basic,
    unauthorized_bearer,
    unavailable,
)
from baton.webhooks.observability import describe, event

log = logging.getLogger(__name__)

PAGE_HEADERS = {
    # The page is self-contained: nothing to fetch, nothing to run but itself.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class BadParameter(ValueError):
    """A query parameter that cannot be used; its message names it."""


def _refused(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message}, status_code=422)


def report_router(store: Store, keys: ApiKeys, mappings: Path) -> APIRouter:
    """The routes, ready for ``app.include_router``."""
    router = APIRouter(tags=["report"])

    @cache
    def facts() -> MappingFacts:
        # Loaded on the first request and kept, as the service keeps its other mapping data.
        return MappingFacts.load(mappings)

    def compute(params: dict[str, str], extra: tuple[str, ...] = ()) -> Report:
        period = params.get("period")
        if period not in (None, "day", "week"):
            raise BadParameter("period: must be 'day' or 'week'")
        by = params.get("by")
        dimensions = [d.strip() for d in by.split(",") if d.strip()] if by else DEFAULT_DIMENSIONS
        dimensions = list(dict.fromkeys([*dimensions, *extra]))
        try:
            since = parse_time(params.get("since"), "since")
            until = parse_time(params.get("until"), "until")
        except BatonError as exc:
            raise BadParameter(str(exc)) from None
        try:
            return stored_report(
                store,
                facts(),
                now=datetime.now(UTC),
                dimensions=dimensions,
                period="day" if period == "day" else "week" if period == "week" else None,
                since=since,
                until=until,
                platform=params.get("platform"),
            )
        except ValueError as exc:
            raise BadParameter(f"by: {exc}") from None

    async def answer(request: Request, render: Callable[[dict[str, str]], Response]) -> Response:
        try:
            return await run_in_threadpool(render, dict(request.query_params))
        except BadParameter as exc:
            return _refused(str(exc))
        except ConfigError as exc:  # a mapping that does not load: its SLA targets are unknown
            return _refused(f"mappings: {exc}"[:500])
        except STORE_ERRORS as exc:
            event(log, logging.ERROR, "report.unavailable", error=describe(exc))
            return unavailable()

    def as_json(params: dict[str, str]) -> Response:
        return JSONResponse(report_document(compute(params)))

    def as_page(params: dict[str, str]) -> Response:
        from baton.core.learning.page import CHART_DIMENSIONS, report_html

        if "period" in params:
            raise BadParameter("period: the page charts the whole range, by week; leave it out")
        page = report_html(compute(params, CHART_DIMENSIONS))
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @router.get(
        "/v1/report",
        summary="The learning report (JSON)",
        response_model=None,
        responses={
            401: {"description": "Missing or wrong API key (`Authorization: Bearer …`)."},
            422: {"description": "A query parameter that cannot be used, named."},
            503: {"description": "Store unreachable."},
        },
    )
    async def report(request: Request) -> Response:
        if not keys.accepts(request.headers.get("authorization")):
            return unauthorized_bearer()
        return await answer(request, as_json)

    @router.get(
        "/report",
        summary="The learning report (HTML page, HTTP Basic with the API key as password)",
        response_class=HTMLResponse,
        responses={
            401: {"description": "Missing or wrong key; the Basic challenge asks for it."},
            422: {"description": "A query parameter that cannot be used, named."},
            503: {"description": "Store unreachable."},
        },
    )
    async def report_page(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if not (keys.accepts_basic(authorization) or keys.accepts(authorization)):
            return unauthorized_basic()
        return await answer(request, as_page)

    return router
