"""The account behind the Zendesk sandbox: its users, groups and ticket fields, how it is
seeded, and how a ticket's values are checked against what it has."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

from baton.core.catalog import Catalog
from baton.sandbox.clock import Clock, OffsetClock, utcnow
from baton.sandbox.faults import FaultQueue
from baton.sandbox.requestlog import DEFAULT_CAPACITY, RequestLog
from baton.sandbox.zendesk.errors import ZendeskError, invalid
from baton.sandbox.zendesk.facts import (
    ALL_AGENTS_IN_ALL_GROUPS,
    BLANK_REQUESTER_NAME_REFUSED,
    DEFAULT_RATE_LIMIT,
    FIELD_MESSAGES,
    IDEMPOTENCY_TTL_SECONDS,
    INVALID_VALUE_ERROR,
    NOT_FOUND,
    PRIORITIES,
    REQUESTER_WITHOUT_EMAIL_REFUSED,
    STATUSES,
    TICKET_TYPES,
)
from baton.sandbox.zendesk.model import Group, IdempotencyRecord, Json, Ticket, TicketField, User
from baton.sandbox.zendesk.ratelimit import RateLimiter, Stats
from baton.sandbox.zendesk.webhooks import WebhookDispatcher


class Account:
    """An account's records, ids, clock and lock; the base of ``ZendeskState``."""

    def __init__(
        self,
        *,
        email: str = "baton@example.com",
        token: str = "sandbox-token",  # noqa: S107 - a sandbox credential, not a secret
        subdomain: str = "baton-sandbox",
        clock: Clock = utcnow,
        time_factor: float = 1.0,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        idempotency_ttl: float = IDEMPOTENCY_TTL_SECONDS,
        account_id: int = 9_000_001,
        request_log_size: int = DEFAULT_CAPACITY,
    ) -> None:
        self.email = email
        self.token = token
        self.subdomain = subdomain
        # ``clock`` as given, moved forward by the control API's ``POST /_sandbox/clock``.
        self.clock = OffsetClock(clock)
        self.time_factor = time_factor
        self.idempotency_ttl = idempotency_ttl
        self.account_id = account_id
        self.lock = threading.RLock()
        self.faults = FaultQueue()
        self.stats = Stats()
        self.request_log = RequestLog(self.clock, request_log_size)
        self.rate_limiter = RateLimiter(rate_limit, self.clock, time_factor)
        self.webhooks = WebhookDispatcher(self.clock, time_factor)
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.ticket_fields: dict[int, TicketField] = {}
        self.tickets: dict[int, Ticket] = {}
        self.group_members: dict[int, set[int]] = {}
        self.ratings: list[Json] = []
        self.jobs: dict[str, Json] = {}
        self._idempotency: dict[str, IdempotencyRecord] = {}
        self._ticket_ids = itertools.count(1)
        self._user_ids = itertools.count(900_000)
        self._object_ids = itertools.count(5_000_000)
        self._seq = itertools.count(1)
        self.api_user = self._add_user(next(self._user_ids), "Baton API", email, "admin")

    # ---- seeding ---------------------------------------------------------------------------

    @classmethod
    def from_catalog(
        cls,
        catalog: Catalog,
        *,
        email: str = "baton@example.com",
        token: str = "sandbox-token",  # noqa: S107 - a sandbox credential, not a secret
        subdomain: str = "baton-sandbox",
        **options: Any,
    ) -> Self:
        """A state seeded with the catalog's ticket fields, groups and agents (ids kept)."""
        state = cls(email=email, token=token, subdomain=subdomain, **options)
        for f in catalog.fields:
            kind = "tagger" if f.type in ("dropdown", "tagger", "select") else f.type
            options_json = [{"name": o.name, "value": o.value} for o in f.options]
            state.ticket_fields[int(f.id)] = TicketField(int(f.id), f.name, kind, options_json)
        for g in catalog.groups:
            state.add_group(int(g.id), g.name)
        for u in catalog.users:
            state._add_user(int(u.id), u.name, u.email, "agent")
        return state

    def add_group(self, group_id: int, name: str) -> Group:
        """Create a group."""
        with self.lock:
            group = Group(group_id, name, self.clock())
            self.groups[group_id] = group
            return group

    def add_agent(self, user_id: int, name: str, email: str | None = None) -> User:
        """Create an agent."""
        return self._add_user(user_id, name, email, "agent")

    def add_ticket_field(
        self, field_id: int, title: str, kind: str = "text", options: Iterable[str] = ()
    ) -> TicketField:
        """Create a custom ticket field (``tagger`` options are given by value)."""
        with self.lock:
            opts = [{"name": v, "value": v} for v in options]
            ticket_field = TicketField(field_id, title, kind, opts)
            self.ticket_fields[field_id] = ticket_field
            return ticket_field

    def set_group_members(self, group_id: int, agent_ids: Iterable[int]) -> None:
        """Restrict a group to the given agents (by default every agent is in every group)."""
        with self.lock:
            self.group_members[group_id] = set(agent_ids)

    def _add_user(self, user_id: int, name: str, email: str | None, role: str) -> User:
        with self.lock:
            user = User(user_id, name, email, role, self.clock())
            self.users[user_id] = user
            return user

    # ---- helpers ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox clock."""
        return self.clock()

    def is_agent(self, user_id: int) -> bool:
        """Whether ``user_id`` is an agent or admin."""
        user = self.users.get(user_id)
        return user is not None and user.role in ("agent", "admin")

    def in_group(self, agent_id: int, group_id: int) -> bool:
        """Whether the agent is a member of the group."""
        members = self.group_members.get(group_id)
        if members is None:
            return ALL_AGENTS_IN_ALL_GROUPS
        return agent_id in members

    def ticket(self, ticket_id: int) -> Ticket:
        """A live ticket or 404."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.deleted:
            raise ZendeskError(404, NOT_FOUND)
        return ticket

    def _next_id(self) -> int:
        return next(self._object_ids)

    def _touch(self, ticket: Ticket) -> None:
        ticket.updated_at = self.clock()
        ticket.seq = next(self._seq)

    # ---- validation ------------------------------------------------------------------------

    def _validate_enums(self, data: Json, *, creating: bool) -> Json:
        details: Json = {}
        for key, allowed in (("priority", PRIORITIES), ("type", TICKET_TYPES)):
            if data.get(key) is not None and data[key] not in allowed:
                details.update(invalid(key, FIELD_MESSAGES[key]))
        status = data.get("status")
        if status is not None and status not in STATUSES:
            details.update(invalid("status", FIELD_MESSAGES["status"]))
        elif creating and status == "closed":
            details.update(invalid("status", FIELD_MESSAGES["closed_on_create"]))
        return details

    def _validate_assignment(self, assignee_id: Any, group_id: Any) -> Json:
        details: Json = {}
        if group_id is not None and group_id not in self.groups:
            details.update(invalid("group_id", FIELD_MESSAGES["group_id"]))
        if assignee_id is not None:
            if not self.is_agent(assignee_id):
                details.update(invalid("assignee_id", FIELD_MESSAGES["assignee_id"]))
            elif group_id in self.groups and not self.in_group(assignee_id, group_id):
                details.update(invalid("assignee_id", FIELD_MESSAGES["assignee_not_in_group"]))
        return details

    def _validate_custom_fields(self, raw: Any) -> tuple[dict[int, Any], Json]:
        values: dict[int, Any] = {}
        details: Json = {}
        for item in raw or []:
            field_id = item.get("id") if isinstance(item, dict) else None
            ticket_field = self.ticket_fields.get(field_id) if isinstance(field_id, int) else None
            if ticket_field is None:
                message = FIELD_MESSAGES["custom_field"].format(id=field_id)
                details.setdefault("base", []).append(
                    {"description": message, "error": INVALID_VALUE_ERROR}
                )
                continue
            value = item.get("value")
            allowed = {o["value"] for o in ticket_field.options}
            if ticket_field.type == "tagger" and value is not None and value not in allowed:
                message = FIELD_MESSAGES["custom_field_value"].format(
                    title=ticket_field.title, value=value
                )
                details.setdefault("base", []).append(
                    {
                        "description": message,
                        "error": INVALID_VALUE_ERROR,
                        "ticket_field_id": ticket_field.id,
                    }
                )
                continue
            values[ticket_field.id] = value
        return values, details

    def _resolve_requester(self, data: Json) -> tuple[int | None, Json]:
        if data.get("requester_id") is not None:
            if data["requester_id"] not in self.users:
                return None, invalid("requester_id", FIELD_MESSAGES["requester_id"])
            return data["requester_id"], {}
        requester = data.get("requester")
        if requester is None:
            return self.api_user.id, {}  # the submitter, i.e. the API user
        if not isinstance(requester, dict):
            return None, invalid("requester", FIELD_MESSAGES["requester"])
        email, name = requester.get("email"), requester.get("name")
        if isinstance(email, str) and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            for user in self.users.values():
                if user.email and user.email.lower() == email.lower():
                    return user.id, {}  # used as is: no name needed, nothing updated
        elif email is not None or REQUESTER_WITHOUT_EMAIL_REFUSED:
            return None, invalid("requester", FIELD_MESSAGES["requester"])
        checked = name.strip() if isinstance(name, str) and BLANK_REQUESTER_NAME_REFUSED else name
        if not isinstance(name, str) or not checked:
            return None, invalid("requester", FIELD_MESSAGES["requester_name"])
        return self._add_user(next(self._user_ids), name, email, "end-user").id, {}
