"""``GET /v1/report``: the learning report as JSON (the document ``baton report --json``
writes; its JSON Schema is ``baton schema report``), behind the same bearer API key as intake.

Query parameters mirror the command: ``since``, ``until`` (ISO-8601, UTC without an offset),
``by`` (comma-separated dimensions), ``period`` (``day`` or ``week``), ``platform``. A bad value
is 422 naming the parameter; an unreachable store is 503.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from baton.core.errors import BatonError, ConfigError
from baton.core.learning import escalations
from baton.core.learning.report import DEFAULT_DIMENSIONS, build_report, report_document
from baton.core.learning.sla import Slas, slas_in
from baton.core.store import Store
from baton.core.times import parse_time
from baton.webhooks.auth import STORE_ERRORS, ApiKeys, unauthorized_bearer, unavailable
from baton.webhooks.observability import describe, event

log = logging.getLogger(__name__)


class BadParameter(ValueError):
    """A query parameter that cannot be used; its message names it."""


def _refused(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message}, status_code=422)


def report_router(store: Store, keys: ApiKeys, mappings: Path) -> APIRouter:
    """The route, ready for ``app.include_router``."""
    router = APIRouter(tags=["report"])

    @cache
    def slas() -> Slas:
        # Loaded on the first request and kept, as the service keeps its other mapping data.
        return slas_in(mappings)

    def compute(params: dict[str, str]) -> dict[str, Any]:
        period = params.get("period")
        if period not in (None, "day", "week"):
            raise BadParameter("period: must be 'day' or 'week'")
        by = params.get("by")
        dimensions = [d.strip() for d in by.split(",") if d.strip()] if by else DEFAULT_DIMENSIONS
        try:
            since = parse_time(params.get("since"), "since")
            until = parse_time(params.get("until"), "until")
        except BatonError as exc:
            raise BadParameter(str(exc)) from None
        platform = params.get("platform")
        try:
            report = build_report(
                escalations(store, since=since, until=until, platform=platform),
                now=datetime.now(UTC),
                dimensions=dimensions,
                period="day" if period == "day" else "week" if period == "week" else None,
                since=since,
                until=until,
                platform=platform,
                slas=slas(),
            )
        except ValueError as exc:
            raise BadParameter(f"by: {exc}") from None
        return report_document(report)

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
        try:
            document = await run_in_threadpool(compute, dict(request.query_params))
        except BadParameter as exc:
            return _refused(str(exc))
        except ConfigError as exc:  # a mapping that does not load: its SLA targets are unknown
            return _refused(f"mappings: {exc}"[:500])
        except STORE_ERRORS as exc:
            event(log, logging.ERROR, "report.unavailable", error=describe(exc))
            return unavailable()
        return JSONResponse(document)

    return router
