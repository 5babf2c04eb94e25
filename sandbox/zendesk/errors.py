"""Error responses in Zendesk's own shape, raised by the state and answered by the routes."""

from __future__ import annotations

from baton.sandbox.zendesk.facts import INVALID_VALUE_ERROR, RECORD_INVALID
from baton.sandbox.zendesk.model import Json


class ZendeskError(Exception):
    """An error response in Zendesk's own shape."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def invalid(field_name: str, description: str, error: str | None = INVALID_VALUE_ERROR) -> Json:
    """One entry of a RecordInvalid ``details`` list."""
    entry: Json = {"description": description}
    if error:
        entry["error"] = error
    return {field_name: [entry]}


def record_invalid(details: Json) -> ZendeskError:
    """422 RecordInvalid with ``details``."""
    return ZendeskError(422, {**RECORD_INVALID, "details": details})
