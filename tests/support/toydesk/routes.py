"""ToyDesk's HTTP API over its state, behind the shared fault injection (a vendor stand-in:
nothing here is shared with the connector)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from baton.sandbox.faults import FaultMiddleware
from tests.support.toydesk.sandbox import ToyError, ToyState

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "error": message}, status_code=status)


def create_app(state: ToyState) -> Starlette:
    """The ToyDesk API over ``state``."""

    async def guard(request: Request, call_next: Handler) -> Response:
        state.requests.append({"method": request.method, "path": request.url.path})
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {state.token}".encode()):
            return _error(401, "Unauthorized", "a valid bearer token is required")
        wait = state.allow()
        if wait is not None:
            response = _error(429, "TooManyRequests", "rate limit exceeded")
            response.headers["Retry-After"] = str(max(1, int(wait) + 1))
            return response
        return await call_next(request)

    async def create(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "BadRequest", "the body is not JSON")
        try:
            ticket, created = state.create(body, request.headers.get("idempotency-key"))
        except ToyError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse({"ticket": ticket}, status_code=201 if created else 200)

    async def search(request: Request) -> Response:
        return JSONResponse({"tickets": state.find(request.query_params.get("external_id"))})

    async def show(request: Request) -> Response:
        try:
            return JSONResponse({"ticket": state.show(int(request.path_params["id"]))})
        except ToyError as exc:
            return _error(exc.status, exc.code, exc.message)

    async def changes(request: Request) -> Response:
        params = request.query_params
        try:
            after = int(params.get("after", "0"))
            since = datetime.fromisoformat(params["since"]) if "since" in params else None
            if since is not None and since.utcoffset() is None:
                since = since.replace(tzinfo=UTC)
            limit = min(int(params.get("limit", "50")), 100)
        except ValueError:
            return _error(400, "BadRequest", "after, since or limit is malformed")
        return JSONResponse(state.changes_after(after, since, limit))

    async def catalog(request: Request) -> Response:
        return JSONResponse(state.catalog)

    async def add_note(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            note = state.add_note(int(request.path_params["id"]), body)
        except ValueError:
            return _error(400, "BadRequest", "the body is not JSON")
        except ToyError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse({"note": note}, status_code=201)

    async def notes(request: Request) -> Response:
        try:
            return JSONResponse({"notes": state.notes(int(request.path_params["id"]))})
        except ToyError as exc:
            return _error(exc.status, exc.code, exc.message)

    app = Starlette(
        routes=[
            Route("/api/tickets", create, methods=["POST"]),
            Route("/api/tickets", search, methods=["GET"]),
            Route("/api/tickets/{id:int}", show, methods=["GET"]),
            Route("/api/tickets/{id:int}/notes", add_note, methods=["POST"]),
            Route("/api/tickets/{id:int}/notes", notes, methods=["GET"]),
            Route("/api/changes", changes, methods=["GET"]),
            Route("/api/catalog", catalog, methods=["GET"]),
        ]
    )
    app.add_middleware(BaseHTTPMiddleware, dispatch=guard)
    app.add_middleware(FaultMiddleware, faults=state.faults)  # outermost: faults come first
    return app
