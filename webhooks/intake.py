"""The handoff API: ``POST /v1/handoffs`` and ``GET /v1/handoffs/{id}``.

A handoff is authenticated (API key), must be declared ``application/json`` (else 415),
size-checked before it is read, validated (422 with field paths and never an input value,
RELIABILITY C4), redacted with the mapping folder's rules *before* anything is stored (C5, C6),
then stored with its delivery in one transaction. The redacted copy is read back exactly as the
worker will read it before anything is answered, so a 202 is never followed by a failure of
Baton's own making (O8).

Unknown vocabulary (a trigger kind, channel or role the model does not know) is accepted as
``other``; the 202 lists each such change under ``warnings`` and the
``baton_handoff_normalisations`` counter counts them.

The handoff id is the idempotency key: the same handoff again is answered with the existing
status (200) — "the same" leaves out :data:`core.handoff.IDEMPOTENCY_IGNORED_FIELDS`, which
retrying clients regenerate — and the same id with another handoff is a conflict (409).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from baton.core.accept import HandoffGate, RedactedCopyInvalid
from baton.core.callbacks import human_holds_conversation
from baton.core.disposition import latest
from baton.core.errors import Problem
from baton.core.handoff import (
    Handoff,
    is_handoff_id,
)
from baton.core.mapping import REDACTION_FILE
from baton.core.redact import Redactor, default_redactor, load_rules
from baton.core.store import Store, TicketLink
from baton.core.store_replies import reply_document
from baton.core.tables import DeliveryRow, HandoffRow
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
from baton.webhooks.observability import Metrics, describe, event

log = logging.getLogger(__name__)

HANDOFF_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "One handoff document (its JSON Schema: `baton schema handoff`).",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
_PROBLEMS_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["invalid_handoff"]},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def load_redactor(mappings_dir: Path) -> Redactor:
    """The mapping folder's redaction: the built-in rules plus ``redaction.yaml`` if present.

    Raises MappingError (a ConfigError) when that file is invalid.
    """
    rules_file = mappings_dir / REDACTION_FILE
    if not rules_file.exists():
        return default_redactor()
    return Redactor(load_rules(rules_file))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _ticket_doc(link: TicketLink) -> dict[str, Any]:
    """The status document's ``ticket``: where it is, and the route and target its create
    used (``backup``: the mapping's backup target, after the platform refused the chosen one;
    all three null when not recorded)."""
    return {
        "platform": link.platform,
        "id": link.ticket_id,
        "url": link.ticket_url,
        "route": link.route,
        "target": link.target,
        "backup": link.backup,
    }


def _is_json(content_type: str | None) -> bool:
    """Whether a Content-Type declares JSON: ``application/json`` or ``application/*+json``,
    with any parameters (``; charset=utf-8``)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().casefold()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _problems(problems: Collection[Problem]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message} for p in problems]


class HandoffIntake:
    """The handoff endpoints over one store."""

    def __init__(
        self,
        store: Store,
        keys: ApiKeys,
        redactor: Redactor,
        *,
        platforms: Collection[str],
        default_platform: str,
        max_body_bytes: int,
        metrics: Metrics,
        after_write: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.gate = HandoffGate(store, redactor, frozenset(platforms), default_platform)
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.after_write = after_write

    def router(self) -> APIRouter:
        """The routes, ready for ``app.include_router``."""
        router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])
        router.add_api_route(
            "",
            self.submit,
            methods=["POST"],
            status_code=202,
            summary="Submit a handoff",
            response_model=None,
            openapi_extra={"requestBody": HANDOFF_REQUEST_BODY},
            responses={
                200: {"description": "This id was already received with the same body."},
                202: {
                    "description": "Received; `status_url` follows its delivery; `warnings` "
                    "lists each unknown word accepted as 'other'."
                },
                401: {"description": "Missing or wrong API key (`Authorization: Bearer …`)."},
                409: {"description": "This id was already received with another body."},
                413: {"description": "Body over the size limit."},
                415: {"description": "The body is not declared `application/json`."},
                422: {
                    "description": "Invalid handoff; every problem with its field path.",
                    "content": {"application/json": {"schema": _PROBLEMS_SCHEMA}},
                },
                503: {"description": "Store unreachable; nothing stored; retry."},
            },
        )
        router.add_api_route(
            "/{handoff_id}",
            self.status,
            methods=["GET"],
            summary="A handoff's status, delivery, ticket and dispositions",
            response_model=None,
            responses={
                401: {"description": "Missing or wrong API key."},
                404: {"description": "No handoff with this id."},
                503: {"description": "Store unreachable; retry."},
            },
        )
        return router

    async def submit(self, request: Request) -> Response:
        """Accept one handoff (see the module docstring for the answers)."""
        if not self.keys.accepts(request.headers.get("authorization")):
            self._count("unauthorized")
            event(log, logging.WARNING, "handoff.unauthorized")
            return unauthorized_bearer()
        if not _is_json(request.headers.get("content-type")):
            self._count("unsupported_media_type")
            return error_response(415, "unsupported_media_type", expected="application/json")
        try:
            raw = await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            self._count("too_large")
            return error_response(413, "too_large", limit=self.max_body_bytes)
        except BadContentLength:
            self._count("invalid")
            return error_response(400, "bad_request")
        return await run_in_threadpool(self._accept, raw)

    def _accept(self, raw: bytes) -> Response:
        try:
            accepted = self.gate.accept(raw)
            existing = (
                self.status_document(accepted.handoff.id)
                if accepted.result == "existing" and accepted.handoff is not None
                else None
            )
        except RedactedCopyInvalid as exc:
            self._count("unstorable")
            event(log, logging.ERROR, "handoff.redacted_copy_invalid", error=str(exc)[:300])
            return error_response(500, "internal_error")
        except STORE_ERRORS as exc:
            self._count("unavailable")
            event(log, logging.ERROR, "handoff.unavailable", error=describe(exc))
            return unavailable()
        handoff, platform = accepted.handoff, accepted.platform
        if accepted.result == "invalid" or handoff is None or platform is None:
            return self._invalid(accepted.problems)
        if accepted.result == "conflict":
            self._count("conflict")
            event(log, logging.WARNING, "handoff.conflict", id=handoff.id)
            return error_response(409, "handoff_conflict")
        if existing is not None:
            self._count("existing")
            return JSONResponse(existing, status_code=200)
        self._count("created")
        for warning in accepted.warnings:
            field = warning.path.split("[")[0].split(".")[0]
            self.metrics.normalisations.labels(field=field).inc()
        event(
            log,
            logging.INFO,
            "handoff.received",
            id=handoff.id,
            platform=platform,
            normalised=len(accepted.warnings),
        )
        self.after_write()
        return self._received(handoff, platform, _problems(accepted.warnings))

    def _received(
        self, handoff: Handoff, platform: str, warnings: list[dict[str, str]]
    ) -> Response:
        url = f"/v1/handoffs/{handoff.id}"
        body = {
            "id": handoff.id,
            "status": "received",
            "platform": platform,
            "status_url": url,
            "warnings": warnings,
        }
        return JSONResponse(body, status_code=202, headers={"Location": url})

    def _invalid(self, problems: Collection[Problem]) -> Response:
        self._count("invalid")
        event(
            log,
            logging.INFO,
            "handoff.invalid",
            problems=len(problems),
            paths=",".join(p.path or "<root>" for p in problems)[:200],
        )
        return JSONResponse(
            {"error": "invalid_handoff", "problems": _problems(problems)}, status_code=422
        )

    def _count(self, result: str) -> None:
        self.metrics.handoffs.labels(result=result).inc()

    async def status(self, handoff_id: str, request: Request) -> Response:
        """The status document of one handoff, or 404.

        An id no handoff can have is 404 without a look-up: it may hold text the store cannot
        (a NUL), which must not turn into a 503 (RELIABILITY K5).
        """
        if not self.keys.accepts(request.headers.get("authorization")):
            return unauthorized_bearer()
        if not is_handoff_id(handoff_id):
            return error_response(404, "not_found")
        try:
            document = await run_in_threadpool(self.status_document, handoff_id)
        except STORE_ERRORS as exc:
            event(log, logging.ERROR, "handoff.status_unavailable", error=describe(exc))
            return unavailable()
        if document is None:
            return error_response(404, "not_found")
        return JSONResponse(document)

    def status_document(self, handoff_id: str) -> dict[str, Any] | None:
        """``{id, platform, status, delivery, ticket, disposition, history,
        human_holds_conversation, latest_reply}`` or None (``latest_reply``: the newest
        public reply by a person, ``{reply_id, author, body, at}`` redacted, or null)."""
        with self.store.reading() as session:
            row = session.get(HandoffRow, handoff_id)
            if row is None:
                return None
            platform, status = row.platform, row.status
            delivery = session.scalars(
                select(DeliveryRow).where(
                    DeliveryRow.handoff_id == handoff_id, DeliveryRow.platform == platform
                )
            ).one_or_none()
            delivery_doc = None
            if delivery is not None:
                delivery_doc = {
                    "state": delivery.state,
                    "attempts": delivery.attempts,
                    "next_attempt_at": _iso(delivery.next_attempt_at),
                    "last_error": delivery.last_error,
                }
        link = self.store.ticket_link(handoff_id)
        history = self.store.dispositions(handoff_id)
        current = latest(history)
        return {
            "id": handoff_id,
            "platform": platform,
            "status": status,
            "delivery": delivery_doc,
            "ticket": None if link is None else _ticket_doc(link),
            "disposition": None if current is None else current.model_dump(mode="json"),
            "history": [d.model_dump(mode="json") for d in history],
            # Whether a person holds the conversation now: the agent should stay quiet.
            "human_holds_conversation": human_holds_conversation(link is not None, current),
            "latest_reply": reply_document(self.store.latest_reply(handoff_id)),
        }
