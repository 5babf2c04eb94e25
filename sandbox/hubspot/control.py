"""The HubSpot sandbox's control API: the shared routes (faults, clock, request log) plus what
the portal's agents and admins would do in HubSpot's UI.

``POST   /_sandbox/tickets/{id}/note``        ``{"body": "..."}`` an agent's note on the ticket
``POST   /_sandbox/tickets/{id}/reply``       ``{"body": "...", "subject"?}`` an agent's email reply
``POST   /_sandbox/tickets/{id}/customer-email`` ``{"body": "..."}`` the customer's e-mail reply
``POST   /_sandbox/tickets/{id}/stage``       ``{"stage": name or id, "pipeline"?}``
``POST   /_sandbox/tickets/{id}/owner``       ``{"owner": id, email or name, or null}``
``POST   /_sandbox/tickets/{id}/rate``        ``{"score": 5, "property": "baton_csat_score"}``
``POST   /_sandbox/tickets/{id}/properties``  ``{"properties": {...}}`` any edit
``DELETE /_sandbox/tickets/{id}``             archive it (ticket.deletion)
``POST   /_sandbox/tickets/{id}/restore``     restore it (ticket.restore)
``POST   /_sandbox/tickets/merge``            ``{"primary": id, "merged": id}`` (ticket.merge)
``GET    /_sandbox/webhooks``                 the webhook settings and the latest attempts
``PUT    /_sandbox/webhooks``                 ``{"target_url", "client_secret", "subscriptions",
                                             "properties", "enabled", "max_batch",
                                             "max_attempts", "retry_base_seconds", …}``
``PATCH  /_sandbox/webhooks``                 change some of them (``{"enabled": false}``: lost)
``PATCH  /_sandbox/limits``                   ``{"ten_second": N, "daily": N}``
``POST   /_sandbox/tokens/revoke``            revoke every token (the next call is a 401)
``GET    /_sandbox/portal``                   portal id, app id, a token, API usage

An unknown ticket is a 404; a change HubSpot would refuse is answered with HubSpot's status,
its message and its error body under ``hubspot``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from baton.sandbox.control import CONTROL_PREFIX, ControlError, control_app, control_error_response
from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.errors import HubSpotError
from baton.sandbox.hubspot.state import CSAT_PROPERTY, HubSpotState
from baton.sandbox.hubspot.webhooks import WebhookConfig

TICKET = f"{CONTROL_PREFIX}/tickets/{{ticket_id}}"
RECENT_ATTEMPTS = 50
Json = dict[str, Any]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextBody(_Body):
    """An agent's note or reply."""

    body: str = Field(min_length=1, max_length=65_536)
    subject: str | None = None


class StageBody(_Body):
    """The stage (label or id), in the ticket's pipeline unless ``pipeline`` is given."""

    stage: str = Field(min_length=1)
    pipeline: str | None = None


class OwnerBody(_Body):
    """The new owner (id, email or full name); null unassigns."""

    owner: str | None


class RateBody(_Body):
    """The CSAT-like score and the property that holds it."""

    score: float
    property: str = CSAT_PROPERTY


class PropertiesBody(_Body):
    """Property values an agent sets."""

    properties: dict[str, JsonValue]


class MergeBody(_Body):
    """Which ticket survives and which is merged into it."""

    primary: str
    merged: str


class WebhookBody(_Body):
    """The app's webhook settings."""

    target_url: str | None = Field(None, max_length=2048)
    client_secret: str = Field("sandbox-client-secret", min_length=1)
    subscriptions: list[str] = Field(default_factory=lambda: list(facts.TICKET_EVENTS))
    properties: list[str] = Field(
        default_factory=lambda: ["hs_pipeline_stage", "hubspot_owner_id", "hs_pipeline"]
    )
    enabled: bool = True
    max_batch: int = Field(facts.WEBHOOK_MAX_BATCH, ge=1, le=facts.WEBHOOK_MAX_BATCH)
    max_attempts: int = Field(facts.WEBHOOK_MAX_ATTEMPTS, ge=1, le=facts.WEBHOOK_MAX_ATTEMPTS)
    retry_base_seconds: float = Field(facts.WEBHOOK_FIRST_RETRY_SECONDS, ge=0, le=86_400)
    batch_wait_seconds: float = Field(0.05, ge=0, le=60)
    duplicate_probability: float = Field(0.0, ge=0, le=1)
    seed: int | None = None

    @field_validator("target_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("subscriptions")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in facts.TICKET_EVENTS]
        if unknown:
            raise ValueError(f"unknown subscription types {unknown}; known: {facts.TICKET_EVENTS}")
        return value


class WebhookPatch(_Body):
    """Some of the webhook settings."""

    target_url: str | None = None
    client_secret: str | None = None
    subscriptions: list[str] | None = None
    properties: list[str] | None = None
    enabled: bool | None = None
    max_batch: int | None = Field(None, ge=1, le=facts.WEBHOOK_MAX_BATCH)
    max_attempts: int | None = Field(None, ge=1, le=facts.WEBHOOK_MAX_ATTEMPTS)
    retry_base_seconds: float | None = Field(None, ge=0, le=86_400)
    batch_wait_seconds: float | None = Field(None, ge=0, le=60)
    duplicate_probability: float | None = Field(None, ge=0, le=1)
    seed: int | None = None


class LimitsBody(_Body):
    """New rate limits."""

    ten_second: int | None = Field(None, ge=1)
    daily: int | None = Field(None, ge=1)


def create_control_app(state: HubSpotState) -> FastAPI:
    """The control API of the sandbox serving ``state``."""
    app = control_app(faults=state.faults, clock=state.offset_clock, request_log=state.request_log)

    @app.exception_handler(HubSpotError)
    async def hubspot_refused(request: Request, exc: HubSpotError) -> JSONResponse:
        code, message = exc.category or "refused", str(exc.body.get("message"))
        if exc.status == 404:
            code, message = "not_found", f"no ticket {request.path_params.get('ticket_id')}"
        return control_error_response(exc.status, code, message, hubspot=exc.body)

    _ticket_routes(app, state)
    _webhook_routes(app, state)
    _portal_routes(app, state)
    return app


def _ticket(state: HubSpotState, ticket_id: str) -> Json:
    with state.lock:
        record = state.records["tickets"].get(ticket_id)
        if record is None:
            raise ControlError(404, f"no ticket {ticket_id}")
        return {"ticket": record.describe()}


def _ticket_routes(app: FastAPI, state: HubSpotState) -> None:
    @app.post(f"{TICKET}/note")
    async def note(ticket_id: str, body: TextBody) -> Json:
        _ticket(state, ticket_id)
        created = state.agent_note(ticket_id, body.body)
        return {**_ticket(state, ticket_id), "note": created.describe()}

    @app.post(f"{TICKET}/reply")
    async def reply(ticket_id: str, body: TextBody) -> Json:
        _ticket(state, ticket_id)
        created = state.agent_reply(ticket_id, body.body, body.subject)
        return {**_ticket(state, ticket_id), "email": created.describe()}

    @app.post(f"{TICKET}/customer-email")
    async def customer_email(ticket_id: str, body: TextBody) -> Json:
        _ticket(state, ticket_id)
        created = state.customer_email(ticket_id, body.body)
        return {**_ticket(state, ticket_id), "email": created.describe()}

    @app.post(f"{TICKET}/stage")
    async def stage(ticket_id: str, body: StageBody) -> Json:
        _ticket(state, ticket_id)
        try:
            state.move_to_stage(ticket_id, body.stage, body.pipeline)
        except KeyError:
            raise ControlError(
                422, f"no stage {body.stage!r} in that pipeline", field="stage"
            ) from None
        return _ticket(state, ticket_id)

    @app.post(f"{TICKET}/owner")
    async def owner(ticket_id: str, body: OwnerBody) -> Json:
        _ticket(state, ticket_id)
        try:
            state.assign(ticket_id, body.owner)
        except KeyError:
            raise ControlError(422, f"no owner {body.owner!r}", field="owner") from None
        return _ticket(state, ticket_id)

    @app.post(f"{TICKET}/rate")
    async def rate(ticket_id: str, body: RateBody) -> Json:
        _ticket(state, ticket_id)
        state.rate(ticket_id, body.score, body.property)
        return _ticket(state, ticket_id)

    @app.post(f"{TICKET}/properties")
    async def properties(ticket_id: str, body: PropertiesBody) -> Json:
        _ticket(state, ticket_id)
        state.set_properties(ticket_id, body.properties)
        return _ticket(state, ticket_id)

    @app.delete(TICKET)
    async def archive(ticket_id: str) -> Json:
        _ticket(state, ticket_id)
        state.agent_archive(ticket_id)
        return {"archived": ticket_id}

    @app.post(f"{TICKET}/restore")
    async def restore(ticket_id: str) -> Json:
        _ticket(state, ticket_id)
        state.agent_restore(ticket_id)
        return _ticket(state, ticket_id)

    @app.post(f"{CONTROL_PREFIX}/tickets/merge")
    async def merge(body: MergeBody) -> Json:
        _ticket(state, body.primary)
        _ticket(state, body.merged)
        primary = state.agent_merge(body.primary, body.merged)
        return {"ticket": primary.describe(), "merged": body.merged}


def _webhook_routes(app: FastAPI, state: HubSpotState) -> None:
    def reading() -> Json:
        return {
            "webhooks": asdict(state.webhooks.config),
            "attempts": [asdict(a) for a in state.webhooks.recent(RECENT_ATTEMPTS)],
        }

    @app.get(f"{CONTROL_PREFIX}/webhooks")
    async def read_webhooks() -> Json:
        return reading()

    @app.put(f"{CONTROL_PREFIX}/webhooks")
    async def set_webhooks(body: WebhookBody) -> Json:
        state.webhooks.configure(WebhookConfig(**body.model_dump()))
        state.webhooks.start()
        return reading()

    @app.patch(f"{CONTROL_PREFIX}/webhooks")
    async def patch_webhooks(body: WebhookPatch) -> Json:
        changes = body.model_dump(exclude_unset=True)
        merged = WebhookBody(**{**asdict(state.webhooks.config), **changes})
        state.webhooks.configure(WebhookConfig(**merged.model_dump()))
        state.webhooks.start()
        return reading()


def _portal_routes(app: FastAPI, state: HubSpotState) -> None:
    @app.patch(f"{CONTROL_PREFIX}/limits")
    async def limits(body: LimitsBody) -> Json:
        if body.ten_second is not None:
            state.limits.ten_second = body.ten_second
        if body.daily is not None:
            state.limits.daily = body.daily
        return {"limits": state.limits.headers()}

    @app.post(f"{CONTROL_PREFIX}/tokens/revoke")
    async def revoke() -> Json:
        return {"revoked": state.revoke_tokens(), "access_token": state.access_token}

    @app.get(f"{CONTROL_PREFIX}/portal")
    async def portal() -> Json:
        return {
            "portal_id": state.portal_id,
            "app_id": state.app_id,
            "access_token": state.access_token,
            "limits": state.limits.headers(),
            "daily_used": state.limits.daily_used,
        }
