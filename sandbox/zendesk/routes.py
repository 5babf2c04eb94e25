"""The Zendesk sandbox's HTTP app: Zendesk's routes behind its auth, rate limit and faults.

Requests under ``/_sandbox/`` go to the control API instead (``control.py``), before any of
these layers: ``ControlPlane`` → request log → faults → rate limit → auth → Zendesk's routes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.sandbox.control import ControlPlane
from baton.sandbox.faults import FaultMiddleware
from baton.sandbox.requestlog import RequestLogMiddleware
from baton.sandbox.zendesk.control import create_control_app
from baton.sandbox.zendesk.errors import ZendeskError
from baton.sandbox.zendesk.facts import (
    AUTH_FAILURE,
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_LOOKUP_HEADER,
    INCREMENTAL_MAX_PER_PAGE,
    INCREMENTAL_SIDELOADS,
    NOT_FOUND,
    RATE_LIMIT_BODY,
    TICKET_EVENT_SIDELOADS,
    TOO_RECENT_START_TIME,
)
from baton.sandbox.zendesk.model import Json
from baton.sandbox.zendesk.pagination import base_url, int_param, page_url, paginate
from baton.sandbox.zendesk.state import ZendeskState
from baton.sandbox.zendesk.ticket_events import ticket_events_page


def _error_response(exc: ZendeskError) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status)


async def _json_body(request: Request) -> tuple[bytes, Any]:
    raw = await request.body()
    try:
        return raw, json.loads(raw or b"null")
    except json.JSONDecodeError:
        raise ZendeskError(400, {"error": "InvalidJSON", "description": "Invalid JSON"}) from None


def _authorized(state: ZendeskState, header: str | None) -> bool:
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeError):
        return False
    return decoded == f"{state.email}/token:{state.token}"


CallNext = Callable[[Request], Awaitable[Response]]


def _install_middleware(app: FastAPI, state: ZendeskState) -> None:
    @app.middleware("http")
    async def auth(request: Request, call_next: CallNext) -> Response:
        if not _authorized(state, request.headers.get("authorization")):
            return JSONResponse(AUTH_FAILURE, status_code=401)
        return await call_next(request)

    @app.middleware("http")
    async def rate_limit(request: Request, call_next: CallNext) -> Response:
        allowed, remaining, retry_after = state.rate_limiter.hit()
        limit_headers = {
            "X-Rate-Limit": str(state.rate_limiter.limit),
            "X-Rate-Limit-Remaining": str(remaining),
        }
        if not allowed:
            response: Response = PlainTextResponse(
                RATE_LIMIT_BODY, status_code=429, headers={"Retry-After": str(retry_after)}
            )
        else:
            response = await call_next(request)
        response.headers.update(limit_headers)
        with state.lock:
            state.stats.requests += 1
            state.stats.rejections += 0 if allowed else 1
            code = response.status_code
            state.stats.by_status[code] = state.stats.by_status.get(code, 0) + 1
        return response

    app.add_middleware(FaultMiddleware, faults=state.faults)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ZendeskError)
    async def zendesk_error(request: Request, exc: ZendeskError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return JSONResponse(NOT_FOUND, status_code=404)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


def _ticket_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.post("/api/v2/tickets.json")
    async def create_ticket(request: Request) -> JSONResponse:
        raw, body = await _json_body(request)
        data = body.get("ticket") if isinstance(body, dict) else None
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key:
            result, lookup = state.idempotent_create(key, raw, data, base_url(request))
            headers = {IDEMPOTENCY_LOOKUP_HEADER: lookup}
            return JSONResponse(result, status_code=201, headers=headers)
        return JSONResponse(state.create_ticket(data, base_url(request)), status_code=201)

    @app.get("/api/v2/tickets.json")
    async def list_tickets(request: Request) -> Json:
        external_id = request.query_params.get("external_id")
        base = base_url(request)
        with state.lock:
            tickets = [t.to_json(base) for t in state.list_tickets(external_id)]
        return paginate(request, "tickets", tickets)

    @app.get("/api/v2/tickets/{ticket_id}.json")
    async def show_ticket(ticket_id: int, request: Request) -> Json:
        with state.lock:
            return {"ticket": state.ticket(ticket_id).to_json(base_url(request))}

    @app.put("/api/v2/tickets/{ticket_id}.json")
    async def update_ticket(ticket_id: int, request: Request) -> Json:
        _, body = await _json_body(request)
        data = body.get("ticket") if isinstance(body, dict) else None
        return state.update_ticket(ticket_id, data, base_url(request))

    @app.get("/api/v2/tickets/{ticket_id}/comments.json")
    async def list_comments(ticket_id: int, request: Request) -> Json:
        with state.lock:
            comments = [c.to_json() for c in state.ticket(ticket_id).comments]
        return paginate(request, "comments", comments)

    @app.get("/api/v2/tickets/{ticket_id}/metrics.json")
    async def ticket_metrics(ticket_id: int, request: Request) -> Json:
        return {"ticket_metric": state.metrics(ticket_id, base_url(request))}

    @app.post("/api/v2/tickets/{ticket_id}/merge")
    async def merge_tickets(ticket_id: int, request: Request) -> Json:
        _, body = await _json_body(request)
        return {"job_status": state.merge(ticket_id, body, base_url(request))}

    @app.post("/api/v2/tickets/create_many.json")
    async def create_many(request: Request) -> JSONResponse:
        _, body = await _json_body(request)
        items = body.get("tickets") if isinstance(body, dict) else None
        job = state.create_many(items, base_url(request))
        return JSONResponse({"job_status": job}, status_code=200)

    @app.get("/api/v2/job_statuses/{job_id}.json")
    async def job_status(job_id: str) -> Json:
        return {"job_status": state.job_status(job_id)}


def _sideloads(include: str | None) -> dict[str, list[Json]]:
    """The export's sideloads ``include`` asks for (comma-separated); unknown names are ignored."""
    wanted = {name.strip() for name in (include or "").split(",")}
    return {name: [] for name in INCREMENTAL_SIDELOADS if name in wanted}


def _export_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.get("/api/v2/incremental/tickets/cursor.json")
    async def incremental(request: Request) -> Json:
        q = request.query_params
        limit = INCREMENTAL_MAX_PER_PAGE
        per_page = int_param(request, "per_page", limit, limit)
        start_raw = q.get("start_time")
        try:
            start_time = None if start_raw is None else int(start_raw)
        except ValueError:
            raise ZendeskError(
                422, {**TOO_RECENT_START_TIME, "description": "Invalid start_time"}
            ) from None
        page = state.incremental(start_time, q.get("cursor"), per_page)
        base = base_url(request)
        path = request.url.path
        extra = {"per_page": q.get("per_page")}
        after, before = page["after_cursor"], page["before_cursor"]
        with state.lock:
            tickets = [t.to_json(base) for t in page["tickets"]]
        sideloads = _sideloads(q.get("include"))
        if "metric_sets" in sideloads:
            sideloads["metric_sets"] = state.metric_sets(page["tickets"], base)
        return {
            "tickets": tickets,
            **sideloads,
            "after_cursor": after,
            "after_url": page_url(request, path, {"cursor": after, **extra}),
            "before_cursor": before,
            "before_url": page_url(request, path, {"cursor": before, **extra}) if before else None,
            "end_of_stream": page["end_of_stream"],
        }

    @app.get("/api/v2/incremental/ticket_events.json")
    @app.get("/api/v2/incremental/ticket_events")
    async def incremental_ticket_events(request: Request) -> Json:
        q = request.query_params
        limit = INCREMENTAL_MAX_PER_PAGE
        per_page = int_param(request, "per_page", limit, limit)
        try:
            start_time = int(q.get("start_time", ""))
        except ValueError:
            raise ZendeskError(
                422, {**TOO_RECENT_START_TIME, "description": "Invalid start_time"}
            ) from None
        comments = TICKET_EVENT_SIDELOADS[0] in (q.get("include") or "").split(",")
        page = ticket_events_page(state, start_time, comments=comments, per_page=per_page)
        params = {"start_time": page["end_time"], "include": q.get("include")}
        page["next_page"] = page_url(request, "/api/v2/incremental/ticket_events.json", params)
        return page

    @app.get("/api/v2/satisfaction_ratings.json")
    async def satisfaction_ratings(request: Request) -> Json:
        score = request.query_params.get("score")
        base = base_url(request)
        with state.lock:
            ratings = [
                {**r, "url": f"{base}/api/v2/satisfaction_ratings/{r['id']}.json"}
                for r in state.ratings
                if score is None or r["score"] == score
            ]
        return paginate(request, "satisfaction_ratings", ratings)


def _metadata_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.get("/api/v2/ticket_fields.json")
    async def ticket_fields(request: Request) -> Json:
        base = base_url(request)
        with state.lock:
            fields = [f.to_json(base) for f in state.ticket_fields.values()]
        return paginate(request, "ticket_fields", fields)

    @app.get("/api/v2/groups.json")
    async def groups(request: Request) -> Json:
        base = base_url(request)
        with state.lock:
            items = [g.to_json(base) for g in sorted(state.groups.values(), key=lambda g: g.id)]
        return paginate(request, "groups", items)

    @app.get("/api/v2/users.json")
    async def users(request: Request) -> Json:
        roles = request.query_params.getlist("role") + request.query_params.getlist("role[]")
        base = base_url(request)
        with state.lock:
            items = [
                u.to_json(base)
                for u in sorted(state.users.values(), key=lambda u: u.id)
                if not roles or u.role in roles
            ]
        return paginate(request, "users", items)

    @app.get("/api/v2/users/search.json")
    async def search_users(request: Request) -> Json:
        query = (request.query_params.get("query") or "").lower().strip()
        base = base_url(request)
        with state.lock:
            items = [
                u.to_json(base)
                for u in sorted(state.users.values(), key=lambda u: u.id)
                if query and (query in u.name.lower() or query == (u.email or "").lower())
            ]
        return paginate(request, "users", items)

    @app.get("/api/v2/users/{user_id}.json")
    async def show_user(user_id: int, request: Request) -> Json:
        with state.lock:
            user = state.users.get(user_id)
            if user is None:
                raise ZendeskError(404, NOT_FOUND)
            return {"user": user.to_json(base_url(request))}

    @app.get("/api/v2/groups/{group_id}.json")
    async def show_group(group_id: int, request: Request) -> Json:
        with state.lock:
            group = state.groups.get(group_id)
            if group is None:
                raise ZendeskError(404, NOT_FOUND)
            return {"group": group.to_json(base_url(request))}


def create_app(state: ZendeskState) -> FastAPI:
    """The sandbox's HTTP app: Zendesk routes, auth, rate limit, faults, request log, and the
    control API under ``/_sandbox/``."""
    app = FastAPI(title="Zendesk sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    _install_error_handlers(app)
    _ticket_routes(app, state)
    _export_routes(app, state)
    _metadata_routes(app, state)
    _install_middleware(app, state)
    app.add_middleware(RequestLogMiddleware, log=state.request_log)
    app.add_middleware(ControlPlane, control=create_control_app(state))
    return app
