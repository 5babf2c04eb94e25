"""Small HTTP pieces every sandbox's routes share: an answer that is JSON or empty, and a
request body read as JSON (or None when there is none)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """``body`` as JSON with ``status``, or an empty answer when ``body`` is None."""
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def json_or_none(request: Request) -> Any:
    """The request's JSON body, None for an empty one; ValueError when it is not JSON (each
    sandbox answers that in its vendor's words)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("not JSON") from None
