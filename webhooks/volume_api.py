"""``POST /v1/volume``: the agent reports how many conversations it had on a day (and channel),
so the learning report can compute containment. Behind the same bearer API key as intake.

Body ``{"date": "2026-11-26", "channel": "chat", "conversations": 412}`` (``channel`` left out
for all channels). Idempotent per date and channel: the same figure again changes nothing
(200, ``unchanged``), another number replaces it (200, ``replaced``); a new one is 201. A body
that breaks the model is 422 with each problem's field path; the values are never echoed.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from baton.core.store import Store
from baton.core.volume import VolumeFigure, record_volume
from baton.webhooks.auth import (
    STORE_ERRORS,
    ApiKeys,
    BadContentLength,
    BodyTooLarge,
    error_response,
    read_body,
    unauthorized_bearer,
    unavailable,
)
from baton.webhooks.observability import describe, event

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4_096


def volume_router(store: Store, keys: ApiKeys) -> APIRouter:
    """The route, ready for ``app.include_router``."""
    router = APIRouter(tags=["volume"])

    @router.post(
        "/v1/volume",
        summary="Report the agent's conversation volume for a day (containment)",
        response_model=None,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": VolumeFigure.model_json_schema()}},
            }
        },
        responses={
            200: {"description": "The figure was already stored (unchanged) or replaced."},
            201: {"description": "A new figure for that date and channel."},
            401: {"description": "Missing or wrong API key (`Authorization: Bearer …`)."},
            413: {"description": "Body over 4 KiB."},
            422: {"description": "The body breaks the model; each problem names its field."},
            503: {"description": "Store unreachable; nothing was stored."},
        },
    )
    async def report_volume(request: Request) -> Response:
        if not keys.accepts(request.headers.get("authorization")):
            return unauthorized_bearer()
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return error_response(413, "body_too_large", limit=MAX_BODY_BYTES)
        except BadContentLength:
            return error_response(400, "bad_content_length")
        try:
            figure = VolumeFigure.model_validate_json(raw)
        except ValidationError as exc:
            problems = [
                {"path": ".".join(str(p) for p in e["loc"]) or "<root>", "message": e["msg"]}
                for e in exc.errors(include_input=False, include_url=False)
            ]
            return error_response(422, "invalid_volume", problems=problems)
        try:
            (written,) = await run_in_threadpool(record_volume, store, [figure])
        except STORE_ERRORS as exc:
            event(log, logging.ERROR, "volume.unavailable", error=describe(exc))
            return unavailable()
        event(log, logging.INFO, "volume.recorded", written=written.written)
        body = {**figure.model_dump(mode="json"), "written": written.written}
        return JSONResponse(body, status_code=201 if written.written == "created" else 200)

    return router
