"""The Zendesk sandbox's control API: the shared routes (faults, clock, request log) plus
what Zendesk's agents and admins would do in its UI.

``POST /_sandbox/tickets/{id}/reply``     ``{"body": "...", "public": true}`` an agent comments
``POST /_sandbox/tickets/{id}/solve``     an agent solves the ticket
``POST /_sandbox/tickets/{id}/reopen``    the ticket is open again
``POST /_sandbox/tickets/{id}/transfer``  ``{"group": name or id, "assignee": name, email or id}``
``POST /_sandbox/tickets/{id}/rate``      ``{"score": "good" | "bad", "comment": "..."}`` (CSAT)
``POST /_sandbox/tickets/{id}/merge``     ``{"into": target id}`` merge the ticket into another
``POST /_sandbox/webhooks``               ``{"url": "...", "secret": "..."}`` signed events go there
``GET  /_sandbox/webhooks``               the subscribed URLs and the latest delivery attempts
``DELETE /_sandbox/webhooks/{webhook_id}`` stop sending there

An unknown ticket is a 404; a change Zendesk would refuse (a closed ticket, an assignee outside
the group) is answered with Zendesk's own status and its description as the ``message``.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from baton.sandbox.control import (
    CONTROL_PREFIX,
    ControlError,
    control_app,
    control_error_response,
)
from baton.sandbox.zendesk.errors import ZendeskError
from baton.sandbox.zendesk.model import Json
from baton.sandbox.zendesk.pagination import base_url
from baton.sandbox.zendesk.state import ZendeskState
from baton.sandbox.zendesk.webhooks import WebhookTarget

RECENT_DELIVERIES = 50
TICKET_ACTIONS = f"{CONTROL_PREFIX}/tickets/{{ticket_id}}"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyBody(_Body):
    """An agent's comment; ``public: false`` makes it an internal note."""

    body: str = Field(min_length=1, max_length=65_536)
    public: bool = True

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class TransferBody(_Body):
    """Where the ticket moves: a group (name or id) and/or an agent (name, email or id)."""

    group: str | int | None = None
    assignee: str | int | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> TransferBody:
        if self.group is None and self.assignee is None:
            raise ValueError("give group, assignee or both")
        return self


class RateBody(_Body):
    """The requester's satisfaction rating."""

    score: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=65_536)


class MergeBody(_Body):
    """The ticket this one is merged into."""

    into: int = Field(ge=1)


class WebhookBody(_Body):
    """Where to send the signed event webhooks; without ``secret`` one is made up."""

    url: str = Field(max_length=2048)
    secret: str | None = Field(None, min_length=1, max_length=256)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


def create_control_app(state: ZendeskState) -> FastAPI:
    """The control API of the sandbox serving ``state``."""
    app = control_app(faults=state.faults, clock=state.clock, request_log=state.request_log)

    @app.exception_handler(ZendeskError)
    async def zendesk_refused(request: Request, exc: ZendeskError) -> JSONResponse:
        message = str(exc.body.get("description") or exc.body.get("error") or "refused")
        code = str(exc.body.get("error") or "refused")
        return control_error_response(exc.status, code, message, zendesk=exc.body)

    _ticket_action_routes(app, state)
    _webhook_routes(app, state)
    return app


def _ticket_action_routes(app: FastAPI, state: ZendeskState) -> None:
    def answer(ticket_id: int, request: Request) -> Json:
        with state.lock:
            return {"ticket": state.ticket(ticket_id).to_json(base_url(request))}

    @app.post(f"{TICKET_ACTIONS}/reply")
    async def reply(ticket_id: int, body: ReplyBody, request: Request) -> Json:
        _known_ticket(state, ticket_id)
        state.agent_reply(ticket_id, body.body, public=body.public)
        return answer(ticket_id, request)

    @app.post(f"{TICKET_ACTIONS}/solve")
    async def solve(ticket_id: int, request: Request) -> Json:
        _known_ticket(state, ticket_id)
        state.solve(ticket_id)
        return answer(ticket_id, request)

    @app.post(f"{TICKET_ACTIONS}/reopen")
    async def reopen(ticket_id: int, request: Request) -> Json:
        _known_ticket(state, ticket_id)
        state.reopen(ticket_id)
        return answer(ticket_id, request)

    @app.post(f"{TICKET_ACTIONS}/transfer")
    async def transfer(ticket_id: int, body: TransferBody, request: Request) -> Json:
        _known_ticket(state, ticket_id)
        group_id = None if body.group is None else _group_id(state, body.group)
        assignee_id = None if body.assignee is None else _agent_id(state, body.assignee)
        state.reassign(ticket_id, group_id=group_id, assignee_id=assignee_id)
        return answer(ticket_id, request)

    @app.post(f"{TICKET_ACTIONS}/merge")
    async def merge(ticket_id: int, body: MergeBody, request: Request) -> Json:
        _known_ticket(state, ticket_id)
        _known_ticket(state, body.into, field="into")
        if body.into == ticket_id:
            raise ControlError(422, "a ticket cannot be merged into itself", field="into")
        state.merge(body.into, {"ids": [ticket_id]}, base_url(request))
        return answer(ticket_id, request)

    @app.post(f"{TICKET_ACTIONS}/rate")
    async def rate(ticket_id: int, body: RateBody) -> Json:
        _known_ticket(state, ticket_id)
        return {"satisfaction_rating": state.rate(ticket_id, body.score, body.comment)}


def _known_ticket(state: ZendeskState, ticket_id: int, field: str | None = None) -> None:
    with state.lock:
        ticket = state.tickets.get(ticket_id)
        if ticket is None or ticket.deleted:
            raise ControlError(404, f"no ticket {ticket_id}", field=field)


def _group_id(state: ZendeskState, wanted: str | int) -> int:
    """The id of the group called or numbered ``wanted``; 422 naming ``group`` if none is."""
    with state.lock:
        groups = sorted(state.groups.values(), key=lambda g: g.id)
    for group in groups:
        if str(group.id) == str(wanted).strip() or group.name.casefold() == str(wanted).casefold():
            return group.id
    known = ", ".join(repr(g.name) for g in groups) or "none"
    raise ControlError(
        422, f"no group named or numbered {wanted!r} (groups: {known})", field="group"
    )


def _agent_id(state: ZendeskState, wanted: str | int) -> int:
    """The id of the agent with that id, email or name; 422 naming ``assignee`` if none has."""
    text = str(wanted).strip().casefold()
    with state.lock:
        agents = sorted(
            (u for u in state.users.values() if u.role in ("agent", "admin")), key=lambda u: u.id
        )
    for agent in agents:
        if text in (str(agent.id), (agent.email or "").casefold(), agent.name.casefold()):
            return agent.id
    raise ControlError(422, f"no agent with id, email or name {wanted!r}", field="assignee")


def _webhook_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.post(f"{CONTROL_PREFIX}/webhooks", status_code=201)
    async def point_webhooks(body: WebhookBody) -> dict[str, Any]:
        secret = body.secret or secrets.token_urlsafe(32)
        target = state.webhooks.add(WebhookTarget(body.url, secret))
        state.webhooks.start()
        return {"webhook_id": target.webhook_id, "url": target.url, "secret": secret}

    @app.get(f"{CONTROL_PREFIX}/webhooks")
    async def list_webhooks() -> dict[str, Any]:
        targets = state.webhooks.subscribed()
        deliveries = state.webhooks.recent_deliveries(RECENT_DELIVERIES)
        return {
            "webhooks": [{"webhook_id": t.webhook_id, "url": t.url} for t in targets],
            "deliveries": [asdict(d) for d in deliveries],
        }

    @app.delete(f"{CONTROL_PREFIX}/webhooks/{{webhook_id}}")
    async def stop_webhooks(webhook_id: str) -> dict[str, Any]:
        if not state.webhooks.remove(webhook_id):
            raise ControlError(404, f"no webhook {webhook_id}")
        return {"removed": webhook_id}
