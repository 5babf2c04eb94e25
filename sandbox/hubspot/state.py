"""``HubSpotState``: the portal (CRM, private-app tokens, rate limits, webhooks) and what its
agents do in HubSpot's UI."""

from __future__ import annotations

import math
import secrets
import threading
import uuid
from collections import deque
from typing import Any, Self

from baton.core.catalog import Catalog
from baton.sandbox.clock import Clock, OffsetClock
from baton.sandbox.faults import FaultQueue
from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.crm import Crm, Owner, Pipeline, PropertyDef, Record, Stage, hs_time
from baton.sandbox.hubspot.errors import HubSpotError, error_body, fail
from baton.sandbox.hubspot.history import first_reply_times
from baton.sandbox.hubspot.model import epoch_ms
from baton.sandbox.hubspot.webhooks import WebhookDispatcher
from baton.sandbox.requestlog import RequestLog

Json = dict[str, Any]
CSAT_PROPERTY = "baton_csat_score"
UNIQUE_PROPERTY = "baton_handoff_id"
_CATALOG_TYPES = {
    "enumeration": ("enumeration", "select"),
    "number": ("number", "number"),
    "bool": ("bool", "booleancheckbox"),
    "datetime": ("datetime", "date"),
}


class RateLimits:
    """The ten-second rolling limit and the daily limit, on the sandbox clock."""

    def __init__(
        self,
        clock: Clock,
        ten_second: int,
        daily: int,
        search_per_second: int | None,
        time_factor: float,
    ) -> None:
        self._clock = clock
        self.ten_second = ten_second
        self.daily = daily
        self.search_per_second = search_per_second
        self.window = facts.TEN_SECOND_WINDOW_MS / 1000 / time_factor
        self._hits: deque[float] = deque()
        self._search_hits: deque[float] = deque()
        self._day: str = ""
        self.daily_used = 0
        self._lock = threading.Lock()

    def _trim(self, hits: deque[float], now: float, window: float) -> None:
        while hits and hits[-1] > now:  # the clock was set back
            hits.pop()
        while hits and hits[0] <= now - window:
            hits.popleft()

    def headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers as of now."""
        now = self._clock()
        with self._lock:
            self._roll(now.strftime("%Y-%m-%d"))
            self._trim(self._hits, now.timestamp(), self.window)
            return self._headers()

    def _headers(self) -> dict[str, str]:
        return {
            facts.HEADER_MAX: str(self.ten_second),
            facts.HEADER_REMAINING: str(max(0, self.ten_second - len(self._hits))),
            facts.HEADER_INTERVAL: str(facts.TEN_SECOND_WINDOW_MS),
            facts.HEADER_DAILY: str(self.daily),
            facts.HEADER_DAILY_REMAINING: str(max(0, self.daily - self.daily_used)),
        }

    def _roll(self, day: str) -> None:
        if day != self._day:
            self._day = day
            self.daily_used = 0

    def hit(self, search: bool = False) -> tuple[HubSpotError | None, dict[str, str]]:
        """Count a request: (the 429 to answer or None, the headers)."""
        now = self._clock()
        stamp = now.timestamp()
        with self._lock:
            self._roll(now.strftime("%Y-%m-%d"))
            self._trim(self._hits, stamp, self.window)
            if self.daily_used >= self.daily:
                return _limited(facts.POLICY_DAILY, facts.DAILY_MESSAGE), self._headers()
            if len(self._hits) >= self.ten_second:
                wait = self._hits[0] + self.window - stamp
                headers = {**self._headers(), "Retry-After": str(max(1, math.ceil(wait)))}
                return _limited(facts.POLICY_TEN_SECONDLY, facts.TEN_SECONDLY_MESSAGE), headers
            if search and self.search_per_second is not None:
                self._trim(self._search_hits, stamp, 1.0)
                if len(self._search_hits) >= self.search_per_second:
                    return _limited(
                        "SECONDLY",
                        facts.TEN_SECONDLY_MESSAGE.replace("ten_secondly_rolling", "secondly"),
                    ), self._headers()
                self._search_hits.append(stamp)
            self._hits.append(stamp)
            self.daily_used += 1
            return None, self._headers()


def _limited(policy: str, message: str) -> HubSpotError:
    body = error_body(
        "RATE_LIMITS",
        message,
        errorType=facts.RATE_LIMIT_ERROR_TYPE,
        policyName=policy,
        requestId=str(uuid.uuid4()),
    )
    del body["category"]  # the documented 429 body has errorType, not category
    return HubSpotError(429, body)


class HubSpotState(Crm):
    """The in-memory portal behind the sandbox (thread-safe, one lock)."""

    def __init__(
        self,
        *,
        clock: OffsetClock | None = None,
        access_token: str | None = None,
        portal_id: int = 62_000_001,
        app_id: int = 3_100_001,
        ten_second_limit: int = facts.TEN_SECOND_LIMIT,
        daily_limit: int = facts.DAILY_LIMIT,
        search_per_second: int | None = None,
        time_factor: float = 1.0,
    ) -> None:
        self.offset_clock = clock if clock is not None else OffsetClock()
        self.clock = self.offset_clock
        self.webhooks = WebhookDispatcher(self.clock, portal_id, app_id, time_factor)
        super().__init__(self.clock, self._emit_event)
        self.portal_id = portal_id
        self.app_id = app_id
        self.time_factor = time_factor
        self.tokens = {
            access_token or facts.TOKEN_PREFIX + str(uuid.UUID(bytes=secrets.token_bytes(16)))
        }
        self.faults = FaultQueue()
        self.request_log = RequestLog(self.clock)
        self.limits = RateLimits(
            self.clock, ten_second_limit, daily_limit, search_per_second, time_factor
        )
        self.pipelines = [
            Pipeline(
                "0",
                "Support Pipeline",
                [
                    Stage("1", "New"),
                    Stage("2", "Waiting on contact"),
                    Stage("3", "Waiting on us"),
                    Stage("4", "Closed", closed=True),
                ],
            )
        ]
        self.add_property(
            "tickets",
            PropertyDef(UNIQUE_PROPERTY, "Baton Handoff ID", has_unique_value=True, custom=True),
        )
        self.add_property(
            "tickets",
            PropertyDef(CSAT_PROPERTY, "Baton CSAT score", "number", "number", custom=True),
        )
        self.add_property(
            "tickets",
            PropertyDef(
                "hs_ticket_priority",
                "Priority",
                "enumeration",
                "select",
                [("Low", "LOW"), ("Medium", "MEDIUM"), ("High", "HIGH")],
            ),
        )
        self.add_property(
            "tickets", PropertyDef("hs_ticket_category", "Category", "enumeration", "checkbox", [])
        )

    @property
    def access_token(self) -> str:
        """A valid private-app token."""
        return sorted(self.tokens)[0]

    @classmethod
    def from_catalog(cls, catalog: Catalog, **options: Any) -> Self:
        """A portal with the catalog's pipelines and stages, owners and ticket properties (and
        their options), keeping the catalog's ids."""
        state = cls(**options)
        if catalog.pipelines:
            state.pipelines = [
                Pipeline(p.id, p.name, [Stage(s.id, s.name, s.closed) for s in p.stages])
                for p in catalog.pipelines
            ]
        for user_id, user in enumerate(catalog.users, start=1):
            first, _, last = user.name.partition(" ")
            state.owners.append(
                Owner(
                    str(user.id),
                    user.email or f"{user.id}@sandbox.example",
                    first,
                    last,
                    9_000_000 + user_id,
                )
            )
        for spec in catalog.fields:
            name = str(spec.id)
            kind, field_type = _CATALOG_TYPES.get(spec.type, ("string", "text"))
            existing = state.properties["tickets"].get(name)
            state.add_property(
                "tickets",
                PropertyDef(
                    name,
                    spec.name,
                    kind,
                    field_type,
                    [(o.name, o.value) for o in spec.options],
                    has_unique_value=name == UNIQUE_PROPERTY,
                    custom=existing.custom if existing is not None else not name.startswith("hs_"),
                ),
            )
        return state

    def add_property(self, object_type: str, prop: PropertyDef) -> PropertyDef:
        """Define (or redefine) a property."""
        with self.lock:
            self.properties[object_type][prop.name] = prop
        return prop

    # ---- auth ------------------------------------------------------------------------------

    def check_token(self, authorization: str | None) -> None:
        """401 unless ``Authorization: Bearer <a token of this portal>``."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if not token or scheme.lower() != "bearer":
            raise fail(401, facts.INVALID_AUTHENTICATION, facts.AUTH_MISSING_MESSAGE)
        if token.strip() not in self.tokens:
            raise fail(401, facts.INVALID_AUTHENTICATION, facts.AUTH_INVALID_MESSAGE)

    def revoke_tokens(self) -> int:
        """Forget every token (the next call is a 401); a new one is made."""
        with self.lock:
            count = len(self.tokens)
            self.tokens = {facts.TOKEN_PREFIX + str(uuid.uuid4())}
            return count

    # ---- webhooks ----------------------------------------------------------------------------

    def _emit_event(
        self,
        object_type: str,
        kind: str,
        record: Record,
        name: str | None = None,
        value: str | None = None,
        *,
        source: str,
        merged_ids: list[str] | None = None,
        number_moved: int = 0,
    ) -> None:
        if object_type != "tickets":
            return
        extra: Json = {}
        if kind == "propertyChange":
            extra = {"propertyName": name, "propertyValue": value if value is not None else ""}
        elif kind == "merge":
            ids = [int(i) for i in merged_ids or []]
            extra = {
                "primaryObjectId": int(record.id),
                "mergedObjectIds": ids,
                "newObjectId": int(record.id),
                "numberOfPropertiesMoved": number_moved,
            }
        self.webhooks.emit(f"ticket.{kind}", record.id, source, **extra)

    # ---- agents' actions (the UI: no rate limit, changeSource CRM_UI) -------------------------

    def _ticket(self, ticket_id: str) -> Record:
        return self.live("tickets", ticket_id)

    def _engagement(
        self, ticket_id: str, object_type: str, values: Json, type_id: int, by_owner: bool = True
    ) -> Record:
        with self.lock:
            ticket = self._ticket(ticket_id)
            owner = ticket.properties.get("hubspot_owner_id")
            if owner and by_owner:
                values = {"hubspot_owner_id": owner, **values}
            record = self.create(object_type, values, facts.CHANGE_SOURCE_UI)
            self.associate(
                object_type,
                record.id,
                "tickets",
                ticket.id,
                [{"associationCategory": facts.HUBSPOT_DEFINED, "associationTypeId": type_id}],
            )
            stamp: dict[str, str | None] = {facts.LAST_ACTIVITY_DATE: hs_time(self.clock())}
            self.write(ticket, stamp, facts.CHANGE_SOURCE_UI)
            return record

    def agent_note(self, ticket_id: str, body: str) -> Record:
        """An agent's internal note on the ticket."""
        stamp = str(int(self.clock().timestamp() * 1000))
        return self._engagement(
            ticket_id,
            "notes",
            {"hs_note_body": body, "hs_timestamp": stamp},
            facts.ASSOCIATION_TYPES[("notes", "tickets")],
        )

    def customer_email(self, ticket_id: str, body: str) -> Record:
        """The customer's e-mail reply, logged on the ticket (INCOMING_EMAIL, no owner)."""
        values: Json = {
            "hs_email_text": body,
            "hs_email_direction": facts.EMAIL_INCOMING,
            "hs_timestamp": str(epoch_ms(self.clock())),
        }
        with self.lock:
            type_id = facts.ASSOCIATION_TYPES[("emails", "tickets")]
            email = self._engagement(ticket_id, "emails", values, type_id, by_owner=False)
            return email

    def agent_reply(self, ticket_id: str, body: str, subject: str | None = None) -> Record:
        """An agent's email reply to the customer, logged on the ticket (by the ticket's
        owner); the ticket's first reply sets its first_agent_reply_date and
        time_to_first_agent_reply."""
        now = self.clock()
        values: Json = {
            "hs_email_text": body,
            "hs_email_direction": facts.EMAIL_OUTGOING,
            "hs_email_status": "SENT",
            "hs_timestamp": str(epoch_ms(now)),
        }
        if subject:
            values["hs_email_subject"] = subject
        with self.lock:
            email = self._engagement(
                ticket_id, "emails", values, facts.ASSOCIATION_TYPES[("emails", "tickets")]
            )
            ticket = self._ticket(ticket_id)
            self.write(ticket, first_reply_times(ticket, now), facts.CHANGE_SOURCE_UI)
            return email

    def set_properties(self, ticket_id: str, values: Json) -> Record:
        """An agent edits the ticket's properties."""
        return self.update("tickets", ticket_id, values, facts.CHANGE_SOURCE_UI)

    def move_to_stage(self, ticket_id: str, stage: str, pipeline: str | None = None) -> Record:
        """Move the ticket to the stage named (or with id) ``stage`` of its pipeline (or of
        ``pipeline``)."""
        with self.lock:
            ticket = self._ticket(ticket_id)
            pipe = self.pipeline(pipeline or str(ticket.properties.get("hs_pipeline") or "0"))
            found = None if pipe is None else pipe.stage(stage)
            if pipe is None or found is None:
                raise KeyError(stage if pipe is not None else pipeline)
            values = {"hs_pipeline": pipe.id, "hs_pipeline_stage": found.id}
            return self.set_properties(ticket_id, values)

    def assign(self, ticket_id: str, owner: str | None) -> Record:
        """Give the ticket to the owner with that id, email or name (None: unassign)."""
        if owner is None:
            return self.set_properties(ticket_id, {"hubspot_owner_id": None})
        found = self.owner(owner)
        if found is None:
            raise KeyError(owner)
        return self.set_properties(ticket_id, {"hubspot_owner_id": found.id})

    def rate(self, ticket_id: str, score: float, prop: str = CSAT_PROPERTY) -> Record:
        """Set the CSAT-like property (a custom number property)."""
        return self.set_properties(ticket_id, {prop: score})

    def agent_archive(self, ticket_id: str) -> None:
        """Delete the ticket in the UI (to the recycle bin)."""
        self.archive("tickets", ticket_id, facts.CHANGE_SOURCE_UI)

    def agent_restore(self, ticket_id: str) -> Record:
        """Restore the ticket from the recycle bin."""
        return self.restore("tickets", ticket_id, facts.CHANGE_SOURCE_UI)

    def agent_merge(self, primary_id: str, merged_id: str) -> Record:
        """Merge two tickets in the UI."""
        return self.merge("tickets", primary_id, merged_id, facts.CHANGE_SOURCE_UI)
