"""What every CRM resource answers with, and the small readers of its requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.errors import HubSpotError, fail

Json = dict[str, Any]
Query = dict[str, list[str]]
SOURCE = facts.CHANGE_SOURCE_API


@dataclass
class Answer:
    """A status and a JSON body (None: no body)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def batch_answer(results: list[Json], errors: list[Json], started: str, completed: str) -> Answer:
    """A batch endpoint's answer: 200, or 207 with the inputs that failed in ``errors``."""
    answer: Json = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if errors:
        answer["numErrors"] = len(errors)
        answer["errors"] = errors
        return Answer(facts.MULTI_STATUS, answer)
    return Answer(200, answer)


def default_properties(kind: str) -> tuple[str, ...]:
    if kind == "tickets":
        return facts.TICKET_DEFAULT_PROPERTIES
    if kind == "contacts":
        return facts.CONTACT_DEFAULT_PROPERTIES
    return ()


def listed(query: Query, key: str = "properties") -> list[str]:
    return [n for raw in query.get(key, []) for n in raw.split(",") if n]


def flag(query: Query, key: str) -> bool:
    return any(v.lower() == "true" for v in query.get(key, []))


def bad_request(message: str) -> HubSpotError:
    return fail(400, facts.VALIDATION_ERROR, message)


def json_object(body: Any) -> Json:
    if not isinstance(body, dict):
        raise bad_request("Invalid input JSON: expected an object")
    return body


def batch_inputs(body: Any, limit: int = facts.BATCH_MAX_INPUTS) -> list[Any]:
    """A batch call's ``inputs``: a non-empty list of at most ``limit`` items, else 400."""
    inputs = json_object(body).get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise bad_request("inputs is required")
    if len(inputs) > limit:
        raise bad_request(f"at most {limit} inputs are allowed")
    return inputs
