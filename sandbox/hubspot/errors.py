"""Error answers in HubSpot's shape, raised by the state and answered by the routes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from baton.sandbox.hubspot import facts

Json = dict[str, Any]


class HubSpotError(Exception):
    """An API error: ``status`` with ``{status: "error", message, correlationId, category, …}``."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status}: {body.get('message')}")
        self.status = status
        self.body = body

    @property
    def category(self) -> str:
        """The body's ``category`` (or ``errorType`` for a 429)."""
        return str(self.body.get("category") or self.body.get("errorType") or "")


def error_body(category: str, message: str, **extra: Any) -> Json:
    """HubSpot's error object with a fresh correlation id."""
    return {
        "status": facts.ERROR_STATUS,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def fail(status: int, category: str, message: str, **extra: Any) -> HubSpotError:
    """A ``HubSpotError`` with a body from ``error_body``."""
    return HubSpotError(status, error_body(category, message, **extra))


def invalid_properties(problems: list[Json]) -> HubSpotError:
    """400 VALIDATION_ERROR for property values: the problems as JSON inside the message, and
    as ``errors`` (``{message, code, context}``)."""
    text = facts.PROPERTY_VALUES_MESSAGE.format(errors=json.dumps(problems))
    errors = [
        {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
        for p in problems
    ]
    return fail(400, facts.VALIDATION_ERROR, text, errors=errors)


def not_found(object_type: str, object_id: str) -> HubSpotError:
    """404 for an unknown (or archived) record."""
    return fail(
        404,
        facts.OBJECT_NOT_FOUND,
        f"{object_type} {object_id} not found ({facts.NOT_FOUND_MESSAGE})",
    )
