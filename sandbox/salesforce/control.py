"""The Salesforce sandbox's control API: the shared routes (faults, clock, request log) plus
what the org's agents and admins would do in its UI.

``POST   /_sandbox/cases/{id}/comment``   ``{"body": "...", "public": true, "author"?}`` a
                                         CaseComment (by the owner, or ``author``: a user)
``POST   /_sandbox/cases/{id}/transfer``  ``{"queue": name or id}`` or ``{"owner": name/email/id}``
``POST   /_sandbox/cases/{id}/status``    ``{"status": "Working"}`` (``Closed`` closes it)
``POST   /_sandbox/cases/{id}/reopen``    back to an open Status
``POST   /_sandbox/cases/{id}/rate``      ``{"score": 5, "field": "Baton_CSAT__c"}`` the CSAT field
``DELETE /_sandbox/cases/{id}``           delete it (``sobjects/Case/deleted`` shows it)
``GET    /_sandbox/outbound``             the Outbound Message's settings and latest attempts
``PUT    /_sandbox/outbound``             ``{"url", "fields", "enabled", "send_session_id",
                                         "duplicate_probability", "shuffle", "seed"}``
``PATCH  /_sandbox/outbound``             change some of them (``{"enabled": false}``: lost)
``POST   /_sandbox/users``                ``{"name", "email"?, "user_type"?}`` a user (``Standard``;
                                         a portal customer: ``CSPLitePortal``, …)
``POST   /_sandbox/sessions/expire``      end every session (the next call is a 401)
``GET    /_sandbox/org``                  org id, instance URL, client id, API usage

An unknown case is a 404; a change Salesforce would refuse (a value outside a restricted
picklist) is answered with Salesforce's status, its message and its error array under
``salesforce``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from baton.sandbox.control import CONTROL_PREFIX, ControlError, control_app, control_error_response
from baton.sandbox.salesforce.errors import SalesforceError
from baton.sandbox.salesforce.facts import STANDARD_USER_TYPE, USER_TYPES
from baton.sandbox.salesforce.outbound import DEFAULT_FIELDS, OutboundConfig
from baton.sandbox.salesforce.schema import wire
from baton.sandbox.salesforce.state import CSAT_FIELD, SalesforceState

CASE = f"{CONTROL_PREFIX}/cases/{{case_id}}"
RECENT_ATTEMPTS = 50
Json = dict[str, Any]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentBody(_Body):
    """An agent's comment; ``public: false`` keeps it internal."""

    body: str = Field(min_length=1, max_length=4000)
    public: bool = True
    author: str | None = None  # a user's name, email, username or id; default: the owner


class UserBody(_Body):
    """A user to add: an agent (``Standard``) or a portal customer (``CSPLitePortal``, …)."""

    name: str = Field(min_length=1, max_length=121)
    email: str | None = Field(None, max_length=128)
    user_type: str = STANDARD_USER_TYPE

    @field_validator("user_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in USER_TYPES:
            raise ValueError(f"must be one of {sorted(USER_TYPES)}")
        return value


class TransferBody(_Body):
    """The new owner: a queue (name or id) or a user (name, email or id)."""

    queue: str | None = None
    owner: str | None = None

    @model_validator(mode="after")
    def _one(self) -> TransferBody:
        if (self.queue is None) == (self.owner is None):
            raise ValueError("give exactly one of queue or owner")
        return self


class StatusBody(_Body):
    """The new Status."""

    status: str = Field(min_length=1, max_length=255)


class RateBody(_Body):
    """The CSAT score and the custom field that holds it."""

    score: float
    field: str = CSAT_FIELD


class OutboundBody(_Body):
    """The Outbound Message on Case: endpoint, fields and the delivery knobs."""

    url: str | None = Field(None, max_length=2048)
    fields: list[str] = Field(default_factory=lambda: list(DEFAULT_FIELDS))
    enabled: bool = True
    send_session_id: bool = False
    duplicate_probability: float = Field(0.0, ge=0, le=1)
    shuffle: bool = False
    seed: int | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class OutboundPatch(_Body):
    """Some of the Outbound Message's settings."""

    url: str | None = None
    fields: list[str] | None = None
    enabled: bool | None = None
    send_session_id: bool | None = None
    duplicate_probability: float | None = Field(None, ge=0, le=1)
    shuffle: bool | None = None
    seed: int | None = None


def create_control_app(state: SalesforceState) -> FastAPI:
    """The control API of the sandbox serving ``state``."""
    app = control_app(faults=state.faults, clock=state.clock, request_log=state.request_log)

    @app.exception_handler(SalesforceError)
    async def salesforce_refused(request: Request, exc: SalesforceError) -> JSONResponse:
        first = exc.first
        code = str(first.get("errorCode") or first.get("error") or "refused")
        message = str(first.get("message") or first.get("error_description") or code)
        if exc.status == 404:
            code, message = "not_found", f"no case {request.path_params.get('case_id')}"
        return control_error_response(exc.status, code, message, salesforce=exc.body)

    _case_routes(app, state)
    _outbound_routes(app, state)
    _org_routes(app, state)
    return app


def _answer(state: SalesforceState, case_id: str) -> Json:
    with state.lock:
        case = state.record("Case", case_id)
        if case is None:
            raise ControlError(404, f"no case {case_id}")
        return {"case": {name: wire(value) for name, value in case.items()}}


def _case_routes(app: FastAPI, state: SalesforceState) -> None:
    @app.post(f"{CASE}/comment")
    async def comment(case_id: str, body: CommentBody) -> Json:
        _answer(state, case_id)
        try:
            state.comment(case_id, body.body, body.public, body.author)
        except KeyError:
            raise ControlError(422, f"no user {body.author!r}", field="author") from None
        return _answer(state, case_id)

    @app.post(f"{CASE}/transfer")
    async def transfer(case_id: str, body: TransferBody) -> Json:
        _answer(state, case_id)
        try:
            if body.queue is not None:
                owner = state.queue_by_name(body.queue)
            else:
                owner = state.user_by_name(body.owner or "")
        except KeyError:
            which = "queue" if body.queue is not None else "owner"
            raise ControlError(
                422, f"no {which} {body.queue or body.owner!r}", field=which
            ) from None
        state.transfer(case_id, owner)
        return _answer(state, case_id)

    @app.post(f"{CASE}/status")
    async def status(case_id: str, body: StatusBody) -> Json:
        _answer(state, case_id)
        state.set_status(case_id, body.status)
        return _answer(state, case_id)

    @app.post(f"{CASE}/reopen")
    async def reopen(case_id: str) -> Json:
        _answer(state, case_id)
        state.reopen(case_id)
        return _answer(state, case_id)

    @app.post(f"{CASE}/rate")
    async def rate(case_id: str, body: RateBody) -> Json:
        _answer(state, case_id)
        state.rate(case_id, body.score, body.field)
        return _answer(state, case_id)

    @app.delete(CASE)
    async def delete(case_id: str) -> Json:
        _answer(state, case_id)
        state.delete(case_id)
        return {"deleted": case_id}


def _outbound_routes(app: FastAPI, state: SalesforceState) -> None:
    def reading() -> Json:
        config = state.outbound.config
        return {
            "outbound": asdict(config),
            "attempts": [asdict(a) for a in state.outbound.recent(RECENT_ATTEMPTS)],
        }

    @app.get(f"{CONTROL_PREFIX}/outbound")
    async def read_outbound() -> Json:
        return reading()

    @app.put(f"{CONTROL_PREFIX}/outbound")
    async def set_outbound(body: OutboundBody) -> Json:
        state.outbound.configure(OutboundConfig(**body.model_dump()))
        state.outbound.start()
        return reading()

    @app.patch(f"{CONTROL_PREFIX}/outbound")
    async def patch_outbound(body: OutboundPatch) -> Json:
        changes = body.model_dump(exclude_unset=True)
        current = asdict(state.outbound.config)
        state.outbound.configure(OutboundConfig(**{**current, **changes}))
        state.outbound.start()
        return reading()


def _org_routes(app: FastAPI, state: SalesforceState) -> None:
    @app.post(f"{CONTROL_PREFIX}/sessions/expire")
    async def expire() -> Json:
        return {"expired": state.expire_sessions()}

    @app.post(f"{CONTROL_PREFIX}/users")
    async def add_user(body: UserBody) -> Json:
        username = body.email or f"{body.name.replace(' ', '.').lower()}@sandbox.example"
        user_id = state.add_user(None, body.name, body.email, username, body.user_type)
        return {"id": user_id, "user_type": body.user_type}

    @app.get(f"{CONTROL_PREFIX}/org")
    async def org() -> Json:
        return {
            "organization_id": state.organization_id,
            "instance_url": state.instance_url,
            "client_id": state.client_id,
            "api_version": state.api_version,
            "limit_info": state.limit_info(),
            "external_id_field": state.external_id_field,
        }
