"""The HubSpot sandbox's HTTP app: the CRM API behind private-app token checks, the
ten-second and daily limits with ``X-HubSpot-RateLimit-*`` headers, fault injection and the
request log.

Requests under ``/_sandbox/`` go to the control API instead (``control.py``), before any of
these layers: ``ControlPlane`` → request log → faults → the routes.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.sandbox.control import ControlPlane
from baton.sandbox.faults import FaultMiddleware
from baton.sandbox.http import json_or_none, respond
from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.answer import Answer
from baton.sandbox.hubspot.api import CrmApi
from baton.sandbox.hubspot.control import create_control_app
from baton.sandbox.hubspot.errors import HubSpotError, fail
from baton.sandbox.hubspot.state import HubSpotState
from baton.sandbox.requestlog import RequestLogMiddleware

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


async def _body(request: Request) -> Any:
    try:
        return await json_or_none(request)
    except ValueError:
        raise fail(400, facts.VALIDATION_ERROR, "Invalid input JSON on line 1") from None


def create_app(state: HubSpotState) -> FastAPI:
    """The sandbox's HTTP app: the CRM API, faults, request log and the control API under
    ``/_sandbox/``."""
    app = FastAPI(title="HubSpot sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    api = CrmApi(state)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = fail(exc.status_code, facts.OBJECT_NOT_FOUND, f"No route for {request.url.path}")
        return respond(error.status, error.body)

    @app.api_route("/crm/{rest:path}", methods=_METHODS)
    async def crm(rest: str, request: Request) -> Response:
        date = {"Date": format_datetime(state.clock(), usegmt=True)}  # HTTP/1.1 §7.1.1.2
        try:
            state.check_token(request.headers.get("authorization"))
        except HubSpotError as exc:
            return respond(exc.status, exc.body, date)
        limited, headers = state.limits.hit(api.is_search(request.method, request.url.path))
        headers = {**headers, **date}
        if limited is not None:
            return respond(limited.status, limited.body, headers)
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        try:
            answer = api.handle(request.method, request.url.path, query, await _body(request))
        except HubSpotError as exc:
            answer = Answer(exc.status, exc.body)
        return respond(answer.status, answer.body, {**answer.headers, **headers})

    app.add_middleware(FaultMiddleware, faults=state.faults)
    app.add_middleware(RequestLogMiddleware, log=state.request_log)
    app.add_middleware(ControlPlane, control=create_control_app(state))
    return app
