"""The Salesforce sandbox's HTTP app: the OAuth token endpoint and the REST API behind session
checks, the daily request limit and ``Sforce-Limit-Info``, fault injection and the request log.

Requests under ``/_sandbox/`` go to the control API instead (``control.py``), before any of
these layers: ``ControlPlane`` → request log → faults → the routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.sandbox.control import ControlPlane
from baton.sandbox.faults import FaultMiddleware
from baton.sandbox.http import json_or_none, respond
from baton.sandbox.requestlog import RequestLogMiddleware
from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.api import Answer, RestApi
from baton.sandbox.salesforce.auth import token
from baton.sandbox.salesforce.control import create_control_app
from baton.sandbox.salesforce.errors import SalesforceError, fail, refused
from baton.sandbox.salesforce.state import SalesforceState

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


async def _body(request: Request) -> Any:
    try:
        return await json_or_none(request)
    except ValueError:
        message = "Unexpected character: was expecting JSON"
        raise fail(400, facts.JSON_PARSER_ERROR, message) from None


def create_app(state: SalesforceState) -> FastAPI:
    """The sandbox's HTTP app: token endpoint, REST API, faults, request log and the control
    API under ``/_sandbox/``."""
    app = FastAPI(title="Salesforce sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    api = RestApi(state)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            message = f"HTTP Method '{request.method}' not allowed."
            return respond(405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": message}])
        return respond(exc.status_code, [dict(facts.NOT_FOUND)])

    @app.post(facts.TOKEN_PATH)
    async def oauth_token(request: Request) -> Response:
        try:
            answer = token(state, await request.body(), request.headers.get("authorization"))
        except SalesforceError as exc:
            return respond(exc.status, exc.body)
        return respond(200, answer)

    @app.api_route("/services/data/{rest:path}", methods=_METHODS)
    async def rest_api(rest: str, request: Request) -> Response:
        try:
            state.check_session(request.headers.get("authorization"))
        except SalesforceError as exc:
            return respond(exc.status, exc.body)
        allowed, usage = state.count_request()
        limit = {facts.LIMIT_INFO_HEADER: usage}
        if not allowed:
            return respond(403, refused(facts.REQUEST_LIMIT_EXCEEDED, 403).body, limit)
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            answer = api.handle(request.method, url, request.headers, await _body(request))
        except SalesforceError as exc:
            answer = Answer(exc.status, exc.body)
        finally:
            state.commit()
        return respond(answer.status, answer.body, {**answer.headers, **limit})

    app.add_middleware(FaultMiddleware, faults=state.faults)
    app.add_middleware(RequestLogMiddleware, log=state.request_log)
    app.add_middleware(ControlPlane, control=create_control_app(state))
    return app
