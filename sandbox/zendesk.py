"""Local emulator of the Zendesk Support API surface Baton uses.

``ZendeskState`` holds the account (tickets, comments, users, groups, ticket fields, metrics,
satisfaction ratings, idempotency records, job statuses), a clock and the webhook dispatcher;
``create_app(state)`` serves it with Zendesk's auth, validation errors, pagination, incremental
export, idempotency keys, rate limit and fault injection. Agent-side actions (reply, solve,
reopen, reassign, rate, delete) are plain methods on the state, and every ticket change emits
signed event webhooks to the configured ``WebhookTarget``s.

Serve it with ``sandbox.server.ZendeskSandbox(state)``; point zenpy at it with
``ZENPY_FORCE_NETLOC=127.0.0.1:PORT`` and ``ZENPY_FORCE_SCHEME=http``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import math
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.core.catalog import Catalog
from baton.sandbox.faults import FaultMiddleware, FaultQueue
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp

# --------------------------------------------------------------------------------------------
# Zendesk facts. Confirmed against developer.zendesk.com / SDK sources unless marked otherwise.
# --------------------------------------------------------------------------------------------
PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_TYPES = ("problem", "incident", "question", "task")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
CSAT_SCORES = ("offered", "unoffered", "good", "bad")
JOB_STATUSES = ("queued", "working", "failed", "completed")
AUTH_FAILURE = {"error": "Couldn't authenticate you"}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
RECORD_INVALID = {"error": "RecordInvalid", "description": "Record validation errors"}
BLANK_DESCRIPTION = {"description": "Description: cannot be blank", "error": "BlankValue"}
CLOSED_PREVENTS_UPDATE = {"description": "Status: closed prevents ticket update"}
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_LOOKUP_HEADER = "x-idempotency-lookup"
IDEMPOTENCY_MISMATCH = {
    "error": "IdempotentRequestError",
    "description": "Request parameters don't match the given idempotency key",
}
TOO_RECENT_START_TIME = {
    "error": "InvalidValue",
    "description": "Too recent start_time. Use a start_time older than 1 minute",
}
INCREMENTAL_MIN_AGE_SECONDS = 60  # items changed within the last minute are excluded
INCREMENTAL_MAX_PER_PAGE = 1000
LIST_MAX_PER_PAGE = 100
CREATE_MANY_MAX = 100
RATE_LIMIT_BODY = "Number of allowed API requests per minute exceeded"  # text/plain
DEFAULT_RATE_LIMIT = 700  # requests per minute (plan dependent)
WEBHOOK_EVENT_VERSION = "2022-11-06"
EVENT_TYPE_PREFIX = "zen:event-type:ticket."
# Requesters (Tickets API, "Requesters and submitters" and "Creating a ticket with a new
# requester"): "By default, the requester of a ticket is the submitter", and through the API the
# submitter is the authenticated API user, so a create without requester/requester_id gets the
# API user. A `requester` object names a new user by name and email, "with the name and email
# being required"; a user who already has that email is used as is ("only the email attribute
# is required") and is not updated.

# ---- UNCONFIRMED assumptions: could not be checked against Zendesk docs; correct them here ----
IDEMPOTENCY_TTL_SECONDS = 2 * 60 * 60  # "2 hours" per third-party notes, not the reference
IDEMPOTENCY_MISMATCH_STATUS = 400  # error name confirmed (zendesk-java-client), status not
TOO_RECENT_START_TIME_STATUS = 422  # seen in client code handling it; not in the reference
PER_PAGE_TOO_LARGE = {"error": "InvalidPaginationParameter", "description": "per_page too large"}
TOO_MANY_VALUES = {"error": "TooManyValues", "description": "Too many values, limit is 100"}
TOO_MANY_VALUES_STATUS = 400
PARAMETER_MISSING = {"error": "ParameterMissing", "description": "Parameter ticket is required"}
INVALID_VALUE_ERROR = "InvalidValue"  # the per-field ``error`` code in RecordInvalid details
FIELD_MESSAGES = {  # per-field descriptions in RecordInvalid details
    "priority": "Priority: is not valid",
    "type": "Type: is not valid",
    "status": "Status: is not valid",
    "closed_on_create": "Status: closed is not valid for a new ticket",
    "group_id": "Group: is invalid",
    "assignee_id": "Assignee: is invalid",
    "assignee_not_in_group": "Assignee: is not a member of the group",
    "requester_id": "Requester: is invalid",
    "requester": "Requester: Email is not properly formatted",  # also for a missing email
    # Seen in a real 422 quoted in facetoe/zenpy#287, not in the reference:
    "requester_name": "Requester: Name:  is too short (minimum is 1 character)",
    "custom_field": "Ticket field {id}: is invalid",
    "custom_field_value": "{title}: {value} is not a valid option",
}
EVENT_ENUM_UPPERCASE = True  # event webhook detail/event values like "OPEN", "SOLVED"
# The reference requires an email for a new requester; whether an account refuses a requester
# with only a name (or a phone) is not stated beyond that, so the sandbox refuses it. Neither is
# it stated whether a name of only spaces counts as blank: the sandbox says it does.
REQUESTER_WITHOUT_EMAIL_REFUSED = True
BLANK_REQUESTER_NAME_REFUSED = True
TAGS_SPLIT_ON_WHITESPACE = True  # "foo bar" → ["foo", "bar"], lower-cased
ALL_AGENTS_IN_ALL_GROUPS = True  # catalogs carry no memberships; restrict via set_group_members
BUSINESS_EQUALS_CALENDAR = True  # the sandbox's schedule is 24/7
WEBHOOK_MAX_ATTEMPTS = 5
WEBHOOK_BASE_DELAY_SECONDS = 1.0  # doubled per retry, divided by time_factor
# --------------------------------------------------------------------------------------------

Clock = Callable[[], datetime]
Json = dict[str, Any]


def utcnow() -> datetime:
    """The real UTC time (the default clock)."""
    return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand: ``clock()`` reads it, ``clock.advance(seconds)`` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


def iso(when: datetime | None) -> str | None:
    """Zendesk's timestamp format: ``2024-01-02T03:04:05Z``."""
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


# ------------------------------------------------------------------------------ model


@dataclass
class User:
    """An agent, admin or end user."""

    id: int
    name: str
    email: str | None
    role: str
    created_at: datetime

    def to_json(self, base: str) -> Json:
        """The API representation."""
        return {
            "id": self.id,
            "url": f"{base}/api/v2/users/{self.id}.json",
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "active": True,
            "verified": True,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


@dataclass
class Group:
    """A group of agents."""

    id: int
    name: str
    created_at: datetime

    def to_json(self, base: str) -> Json:
        """The API representation."""
        return {
            "id": self.id,
            "url": f"{base}/api/v2/groups/{self.id}.json",
            "name": self.name,
            "deleted": False,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


@dataclass
class TicketField:
    """A custom ticket field; ``tagger`` is a dropdown whose option values are tags."""

    id: int
    title: str
    type: str
    options: list[Json]

    def to_json(self, base: str) -> Json:
        """The API representation."""
        body: Json = {
            "id": self.id,
            "url": f"{base}/api/v2/ticket_fields/{self.id}.json",
            "type": self.type,
            "title": self.title,
            "active": True,
            "required": False,
        }
        if self.options:
            body["custom_field_options"] = [
                {"id": self.id * 1000 + i, "name": o["name"], "value": o["value"]}
                for i, o in enumerate(self.options)
            ]
        return body


@dataclass
class Comment:
    """A ticket comment; ``public=False`` is an internal note."""

    id: int
    author_id: int
    body: str
    html_body: str
    public: bool
    audit_id: int
    created_at: datetime

    def to_json(self) -> Json:
        """The API representation."""
        return {
            "id": self.id,
            "type": "Comment",
            "author_id": self.author_id,
            "body": self.body,
            "html_body": self.html_body,
            "plain_text": self.body,
            "public": self.public,
            "attachments": [],
            "audit_id": self.audit_id,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(self.created_at),
            "metadata": {"system": {}, "custom": {}},
        }


@dataclass
class Metrics:
    """What a ticket's history has accumulated for ``/metrics.json``."""

    first_reply_at: datetime | None = None
    solved_times: list[datetime] = field(default_factory=list)
    reopens: int = 0
    replies: int = 0
    group_stations: int = 0
    assignee_stations: int = 0
    assigned_at: datetime | None = None
    initially_assigned_at: datetime | None = None
    status_updated_at: datetime | None = None
    latest_comment_added_at: datetime | None = None


@dataclass
class Ticket:
    """A ticket and its history."""

    id: int
    subject: str | None
    description: str
    status: str
    priority: str | None
    type: str | None
    requester_id: int
    submitter_id: int
    assignee_id: int | None
    group_id: int | None
    tags: list[str]
    custom_fields: dict[int, Any]
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    seq: int = 0
    deleted: bool = False
    comments: list[Comment] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    satisfaction: Json | None = None

    def snapshot(self) -> Json:
        """The fields webhooks compare before and after a change."""
        return {
            "status": "deleted" if self.deleted else self.status,
            "priority": self.priority,
            "assignee_id": self.assignee_id,
            "group_id": self.group_id,
            "tags": list(self.tags),
        }

    def to_json(self, base: str) -> Json:
        """The API representation."""
        rating = self.satisfaction or {"score": "unoffered"}
        custom = [{"id": fid, "value": value} for fid, value in self.custom_fields.items()]
        return {
            "id": self.id,
            "url": f"{base}/api/v2/tickets/{self.id}.json",
            "external_id": self.external_id,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "generated_timestamp": int(self.updated_at.timestamp()),
            "type": self.type,
            "subject": self.subject,
            "raw_subject": self.subject,
            "description": self.description,
            "priority": self.priority,
            "status": "deleted" if self.deleted else self.status,
            "recipient": None,
            "requester_id": self.requester_id,
            "submitter_id": self.submitter_id,
            "assignee_id": self.assignee_id,
            "organization_id": None,
            "group_id": self.group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "problem_id": None,
            "has_incidents": False,
            "is_public": any(c.public for c in self.comments),
            "due_at": None,
            "tags": list(self.tags),
            "custom_fields": custom,
            "fields": custom,
            "satisfaction_rating": rating,
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "brand_id": None,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }


# ------------------------------------------------------------------------------ webhooks


@dataclass
class WebhookTarget:
    """Where event webhooks go; ``duplicate=True`` delivers every event twice."""

    url: str
    signing_secret: str
    webhook_id: str = field(default_factory=lambda: uuid.uuid4().hex[:26].upper())
    duplicate: bool = False


@dataclass
class Delivery:
    """One delivery attempt, for tests to inspect."""

    event_id: str
    event_type: str
    invocation_id: str
    attempt: int
    status: int | None
    error: str | None = None


class WebhookDispatcher:
    """At-least-once, signed delivery of events from a background thread with retries."""

    def __init__(self, clock: Clock, time_factor: float) -> None:
        self._clock = clock
        self.time_factor = time_factor
        self.targets: list[WebhookTarget] = []
        self.deliveries: list[Delivery] = []
        self.events: dict[str, Json] = {}
        self.max_attempts = WEBHOOK_MAX_ATTEMPTS
        self._queue: queue.Queue[tuple[WebhookTarget, Json] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def add(self, target: WebhookTarget) -> WebhookTarget:
        """Subscribe ``target`` to every ticket event."""
        with self._lock:
            self.targets.append(target)
        return target

    def enqueue(self, event: Json) -> None:
        """Queue ``event`` for every target (twice for duplicating targets)."""
        with self._lock:
            targets = list(self.targets)
            self.events[event["id"]] = event
        for target in targets:
            for _ in range(2 if target.duplicate else 1):
                self._queue.put((target, event))

    def redeliver(self, event_id: str) -> None:
        """Send an already emitted event again (same event id: a duplicate delivery)."""
        with self._lock:
            event = self.events[event_id]
            targets = list(self.targets)
        for target in targets:
            self._queue.put((target, event))

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zendesk-webhooks")
                self._thread.daemon = True
                self._thread.start()

    def stop(self) -> None:
        """Stop the sender thread after the events already queued."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=10)
        self._thread = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event is delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, target: WebhookTarget, event: Json) -> None:
        body = json.dumps(event, separators=(",", ":")).encode("utf-8")
        invocation_id = uuid.uuid4().hex
        for attempt in range(1, self.max_attempts + 1):
            timestamp = zendesk_timestamp(self._clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Zendesk Webhook",
                "X-Zendesk-Webhook-Id": target.webhook_id,
                "X-Zendesk-Webhook-Invocation-Id": invocation_id,
                "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
                "X-Zendesk-Webhook-Signature": zendesk_signature(
                    target.signing_secret, timestamp, body
                ),
            }
            record = Delivery(event["id"], event["type"], invocation_id, attempt, None)
            try:
                response = self._session.post(target.url, data=body, headers=headers, timeout=5)
                record.status = response.status_code
            except requests.RequestException as exc:
                record.error = type(exc).__name__
            with self._lock:
                self.deliveries.append(record)
            if record.status is not None and 200 <= record.status < 300:
                return
            if attempt < self.max_attempts:
                time.sleep(WEBHOOK_BASE_DELAY_SECONDS * 2 ** (attempt - 1) / self.time_factor)


# ------------------------------------------------------------------------------ rate limit


@dataclass
class Stats:
    """Request counters for benchmarks."""

    requests: int = 0
    rejections: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class RateLimiter:
    """Sliding one-minute window (shortened by ``time_factor``) on the sandbox clock."""

    def __init__(self, limit: int, clock: Clock, time_factor: float) -> None:
        self.limit = limit
        self._clock = clock
        self.window = 60.0 / time_factor
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def hit(self) -> tuple[bool, int, int]:
        """Count a request: (allowed, remaining, retry_after_seconds)."""
        now = self._clock().timestamp()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                wait = self._hits[0] + self.window - now
                return False, 0, max(1, math.ceil(wait))
            self._hits.append(now)
            return True, self.limit - len(self._hits), 0


# ------------------------------------------------------------------------------ state


@dataclass
class _IdempotencyRecord:
    fingerprint: str
    response: Json
    expires_at: datetime


def _split_tags(raw: Any) -> list[str]:
    values = raw if isinstance(raw, list) else [raw]
    tags: list[str] = []
    for value in values:
        text = str(value).lower()
        parts = text.split() if TAGS_SPLIT_ON_WHITESPACE else [text.strip()]
        tags.extend(p for p in parts if p and p not in tags)
    return tags


class ZendeskState:
    """The in-memory Zendesk account behind the sandbox (thread-safe, one lock)."""

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
    ) -> None:
        self.email = email
        self.token = token
        self.subdomain = subdomain
        self.clock = clock
        self.time_factor = time_factor
        self.idempotency_ttl = idempotency_ttl
        self.account_id = account_id
        self.lock = threading.RLock()
        self.faults = FaultQueue()
        self.stats = Stats()
        self.rate_limiter = RateLimiter(rate_limit, clock, time_factor)
        self.webhooks = WebhookDispatcher(clock, time_factor)
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.ticket_fields: dict[int, TicketField] = {}
        self.tickets: dict[int, Ticket] = {}
        self.group_members: dict[int, set[int]] = {}
        self.ratings: list[Json] = []
        self.jobs: dict[str, Json] = {}
        self._idempotency: dict[str, _IdempotencyRecord] = {}
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
    ) -> ZendeskState:
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

    # ---- tickets ---------------------------------------------------------------------------

    def create_ticket(self, data: Any, base: str) -> Json:
        """Validate and create a ticket; returns ``{ticket, audit}`` or raises ``ZendeskError``."""
        if not isinstance(data, dict):
            raise ZendeskError(400, PARAMETER_MISSING)
        with self.lock:
            raw_comment = data.get("comment")
            comment: Json = raw_comment if isinstance(raw_comment, dict) else {}
            body = comment.get("body") or comment.get("html_body") or data.get("description")
            details: Json = {}
            if not isinstance(body, str) or not body.strip():
                details["base"] = [dict(BLANK_DESCRIPTION)]
            details.update(self._validate_enums(data, creating=True))
            details.update(self._validate_assignment(data.get("assignee_id"), data.get("group_id")))
            custom, custom_details = self._validate_custom_fields(data.get("custom_fields"))
            for key, entries in custom_details.items():
                details.setdefault(key, []).extend(entries)
            requester_id, requester_details = self._resolve_requester(data)
            details.update(requester_details)
            if details or requester_id is None:
                raise record_invalid(details)
            ticket = self._new_ticket(data, str(body), requester_id, custom)
            audit = self._add_comment(ticket, comment, str(body), requester_id, data)
            self._record_assignment(ticket, None, None)
            self.tickets[ticket.id] = ticket
            self._emit(ticket, None, created=True, comment=ticket.comments[-1])
            return {"ticket": ticket.to_json(base), "audit": audit}

    def _new_ticket(
        self, data: Json, body: str, requester_id: int, custom: dict[int, Any]
    ) -> Ticket:
        now = self.clock()
        status = data.get("status") or ("open" if data.get("assignee_id") else "new")
        tags = _split_tags(data.get("tags") or [])
        tags.extend(self._tagger_tags(custom, tags))
        external_id = data.get("external_id")
        ticket = Ticket(
            id=next(self._ticket_ids),
            subject=data.get("subject") or body[:80],
            description=body,
            status=status,
            priority=data.get("priority"),
            type=data.get("type"),
            requester_id=requester_id,
            submitter_id=self.api_user.id,
            assignee_id=data.get("assignee_id"),
            group_id=data.get("group_id"),
            tags=tags,
            custom_fields=dict.fromkeys(self.ticket_fields) | custom,
            external_id=None if external_id is None else str(external_id),
            created_at=now,
            updated_at=now,
            seq=next(self._seq),
        )
        ticket.metrics.status_updated_at = now
        if status == "solved":
            ticket.metrics.solved_times.append(now)
        return ticket

    def _tagger_tags(self, custom: dict[int, Any], existing: list[str]) -> list[str]:
        extra = []
        for fid, value in custom.items():
            if self.ticket_fields[fid].type == "tagger" and value and value not in existing:
                extra.append(str(value))
        return extra

    def _add_comment(
        self, ticket: Ticket, comment: Json, body: str, author_id: int, data: Json
    ) -> Json:
        audit_id = self._next_id()
        html = comment.get("html_body") or f"<p>{body}</p>"
        public = comment.get("public", True) is not False
        requested = comment.get("author_id")
        author = requested if isinstance(requested, int) and requested in self.users else author_id
        entry = Comment(self._next_id(), author, body, html, public, audit_id, self.clock())
        ticket.comments.append(entry)
        self._count_reply(ticket, entry)
        return {
            "id": audit_id,
            "ticket_id": ticket.id,
            "created_at": iso(entry.created_at),
            "author_id": author,
            "metadata": {"system": {"client": "sandbox"}, "custom": data.get("metadata") or {}},
            "events": [
                {
                    "id": entry.id,
                    "type": "Comment",
                    "author_id": author,
                    "body": body,
                    "html_body": html,
                    "public": public,
                    "attachments": [],
                }
            ],
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        }

    def _count_reply(self, ticket: Ticket, entry: Comment) -> None:
        ticket.metrics.latest_comment_added_at = entry.created_at
        is_reply = entry.public and self.is_agent(entry.author_id) and len(ticket.comments) > 1
        if is_reply:
            ticket.metrics.replies += 1
            if ticket.metrics.first_reply_at is None:
                ticket.metrics.first_reply_at = entry.created_at

    def _record_assignment(
        self, ticket: Ticket, old_group: int | None, old_assignee: int | None
    ) -> None:
        now = self.clock()
        if ticket.group_id is not None and ticket.group_id != old_group:
            ticket.metrics.group_stations += 1
        if ticket.assignee_id is not None and ticket.assignee_id != old_assignee:
            ticket.metrics.assignee_stations += 1
            ticket.metrics.assigned_at = now
            if ticket.metrics.initially_assigned_at is None:
                ticket.metrics.initially_assigned_at = now

    def _set_status(self, ticket: Ticket, status: str) -> None:
        if status == ticket.status:
            return
        now = self.clock()
        if ticket.status in ("solved", "closed") and status not in ("solved", "closed"):
            ticket.metrics.reopens += 1
        if status == "solved":
            ticket.metrics.solved_times.append(now)
        ticket.status = status
        ticket.metrics.status_updated_at = now

    def update_ticket(self, ticket_id: int, data: Any, base: str) -> Json:
        """Apply a PUT; returns ``{ticket, audit}`` or raises ``ZendeskError``."""
        if not isinstance(data, dict):
            raise ZendeskError(400, PARAMETER_MISSING)
        with self.lock:
            ticket = self.ticket(ticket_id)
            if ticket.status == "closed":
                raise record_invalid({"status": [dict(CLOSED_PREVENTS_UPDATE)]})
            details = self._validate_enums(data, creating=False)
            group_id = data.get("group_id", ticket.group_id)
            assignee_id = data.get("assignee_id", ticket.assignee_id)
            if "group_id" in data or "assignee_id" in data:
                details.update(self._validate_assignment(assignee_id, group_id))
            custom, custom_details = self._validate_custom_fields(data.get("custom_fields"))
            details.update(custom_details)
            comment = data.get("comment") if isinstance(data.get("comment"), dict) else None
            body = None if comment is None else comment.get("body") or comment.get("html_body")
            if comment is not None and (not isinstance(body, str) or not body.strip()):
                details.setdefault("base", []).append(dict(BLANK_DESCRIPTION))
            if details:
                raise record_invalid(details)
            before = ticket.snapshot()
            self._apply_update(ticket, data, group_id, assignee_id, custom)
            audit = self._update_audit(ticket, comment, body, data)
            self._touch(ticket)
            self._emit(ticket, before, comment=ticket.comments[-1] if comment else None)
            return {"ticket": ticket.to_json(base), "audit": audit}

    def _apply_update(
        self, ticket: Ticket, data: Json, group_id: Any, assignee_id: Any, custom: dict[int, Any]
    ) -> None:
        old_group, old_assignee = ticket.group_id, ticket.assignee_id
        ticket.group_id, ticket.assignee_id = group_id, assignee_id
        self._record_assignment(ticket, old_group, old_assignee)
        for key in ("subject", "priority", "type"):
            if key in data:
                setattr(ticket, key, data[key])
        if "external_id" in data:
            ticket.external_id = None if data["external_id"] is None else str(data["external_id"])
        if "tags" in data:
            ticket.tags = _split_tags(data["tags"] or [])
        ticket.custom_fields.update(custom)
        ticket.tags.extend(self._tagger_tags(custom, ticket.tags))
        status = data.get("status")
        if status is None and assignee_id is not None and ticket.status == "new":
            status = "open"
        if status is not None:
            self._set_status(ticket, status)

    def _update_audit(self, ticket: Ticket, comment: Json | None, body: Any, data: Json) -> Json:
        if comment is not None:
            return self._add_comment(ticket, comment, str(body), self.api_user.id, data)
        return {
            "id": self._next_id(),
            "ticket_id": ticket.id,
            "created_at": iso(self.clock()),
            "author_id": self.api_user.id,
            "metadata": {"system": {}, "custom": data.get("metadata") or {}},
            "events": [],
        }

    def list_tickets(self, external_id: str | None = None) -> list[Ticket]:
        """Live tickets in id order, optionally filtered by external_id."""
        with self.lock:
            tickets = [t for t in self.tickets.values() if not t.deleted]
        if external_id is not None:
            tickets = [t for t in tickets if t.external_id == external_id]
        return sorted(tickets, key=lambda t: t.id)

    # ---- idempotency -----------------------------------------------------------------------

    def idempotent_create(
        self, key: str, raw_body: bytes, data: Any, base: str
    ) -> tuple[Json, str]:
        """Create under ``Idempotency-Key``: (response, "hit" | "miss")."""
        fingerprint = hashlib.sha256(raw_body).hexdigest()
        with self.lock:
            now = self.clock()
            record = self._idempotency.get(key)
            if record is not None and record.expires_at > now:
                if record.fingerprint != fingerprint:
                    raise ZendeskError(IDEMPOTENCY_MISMATCH_STATUS, IDEMPOTENCY_MISMATCH)
                return record.response, "hit"
            response = self.create_ticket(data, base)
            expires = now + timedelta(seconds=self.idempotency_ttl)
            self._idempotency[key] = _IdempotencyRecord(fingerprint, response, expires)
            return response, "miss"

    # ---- bulk ------------------------------------------------------------------------------

    def create_many(self, items: Any, base: str) -> Json:
        """Queue a bulk create (≤ 100) and run it; returns the queued job_status."""
        if not isinstance(items, list) or not items:
            raise ZendeskError(400, PARAMETER_MISSING)
        if len(items) > CREATE_MANY_MAX:
            raise ZendeskError(TOO_MANY_VALUES_STATUS, TOO_MANY_VALUES)
        job_id = uuid.uuid4().hex
        url = f"{base}/api/v2/job_statuses/{job_id}.json"
        results = []
        for index, item in enumerate(items):
            try:
                created = self.create_ticket(item, base)
                results.append({"index": index, "id": created["ticket"]["id"]})
            except ZendeskError as exc:
                results.append({"index": index, "error": exc.body.get("error"), **exc.body})
        with self.lock:
            self.jobs[job_id] = {
                "id": job_id,
                "url": url,
                "job_type": "ThreadedBulkCreateTickets",
                "total": len(items),
                "progress": len(items),
                "status": "completed",
                "message": "Completed at " + str(iso(self.clock())),
                "results": results,
            }
        return {
            "id": job_id,
            "url": url,
            "job_type": "ThreadedBulkCreateTickets",
            "total": len(items),
            "progress": None,
            "status": "queued",
            "message": None,
            "results": None,
        }

    def job_status(self, job_id: str) -> Json:
        """A job status or 404."""
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ZendeskError(404, NOT_FOUND)
        return job

    # ---- incremental export ----------------------------------------------------------------

    def incremental(self, start_time: int | None, cursor: str | None, per_page: int) -> Json:
        """One page of the cursor-based incremental ticket export (without URLs)."""
        with self.lock:
            now = self.clock()
            horizon = now - timedelta(seconds=INCREMENTAL_MIN_AGE_SECONDS)
            if cursor is not None:
                after_seq = _decode_cursor(cursor)
                since = None
            else:
                if start_time is None or start_time > horizon.timestamp():
                    raise ZendeskError(TOO_RECENT_START_TIME_STATUS, TOO_RECENT_START_TIME)
                after_seq, since = 0, start_time
            eligible = sorted(
                (
                    t
                    for t in self.tickets.values()
                    if t.seq > after_seq
                    and t.updated_at <= horizon
                    and (since is None or t.updated_at.timestamp() >= since)
                ),
                key=lambda t: (t.seq, t.id),
            )
            page = eligible[:per_page]
            last = page[-1].seq if page else after_seq
            return {
                "tickets": page,
                "after_cursor": _encode_cursor(last),
                "before_cursor": _encode_cursor(page[0].seq - 1) if page else None,
                "end_of_stream": len(eligible) <= per_page,
            }

    # ---- metrics and CSAT ------------------------------------------------------------------

    def metrics(self, ticket_id: int, base: str) -> Json:
        """``ticket_metric`` derived from the ticket's history."""
        with self.lock:
            ticket = self.ticket(ticket_id)
            m = ticket.metrics
            first_solved = m.solved_times[0] if m.solved_times else None
            last_solved = m.solved_times[-1] if m.solved_times else None
            metric_id = ticket.id + 7_000_000
            return {
                "id": metric_id,
                "url": f"{base}/api/v2/ticket_metrics/{metric_id}.json",
                "ticket_id": ticket.id,
                "created_at": iso(ticket.created_at),
                "updated_at": iso(ticket.updated_at),
                "group_stations": m.group_stations,
                "assignee_stations": m.assignee_stations,
                "reopens": m.reopens,
                "replies": m.replies,
                "assignee_updated_at": iso(m.assigned_at),
                "requester_updated_at": iso(ticket.created_at),
                "status_updated_at": iso(m.status_updated_at),
                "initially_assigned_at": iso(m.initially_assigned_at),
                "assigned_at": iso(m.assigned_at),
                "solved_at": iso(last_solved),
                "latest_comment_added_at": iso(m.latest_comment_added_at),
                "reply_time_in_minutes": _minutes(ticket.created_at, m.first_reply_at),
                "first_resolution_time_in_minutes": _minutes(ticket.created_at, first_solved),
                "full_resolution_time_in_minutes": _minutes(ticket.created_at, last_solved),
                "agent_wait_time_in_minutes": {"calendar": None, "business": None},
                "requester_wait_time_in_minutes": {"calendar": None, "business": None},
                "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
            }

    def rate(self, ticket_id: int, score: str, comment: str | None = None) -> Json:
        """Record a satisfaction rating from the requester (emits no webhook of its own)."""
        if score not in CSAT_SCORES:
            raise ValueError(f"score must be one of {CSAT_SCORES}")
        with self.lock:
            ticket = self.ticket(ticket_id)
            now = self.clock()
            rating = {
                "id": self._next_id(),
                "assignee_id": ticket.assignee_id,
                "group_id": ticket.group_id,
                "requester_id": ticket.requester_id,
                "ticket_id": ticket.id,
                "score": score,
                "comment": comment,
                "created_at": iso(now),
                "updated_at": iso(now),
            }
            self.ratings.append(rating)
            ticket.satisfaction = {"id": rating["id"], "score": score, "comment": comment}
            before = ticket.snapshot()
            self._touch(ticket)
            self._emit(ticket, before)
            return rating

    # ---- agent actions ---------------------------------------------------------------------

    def _agent_update(self, ticket_id: int, data: Json) -> Json:
        return self.update_ticket(ticket_id, data, f"https://{self.subdomain}.zendesk.com")

    def agent_reply(self, ticket_id: int, body: str, public: bool = True) -> Json:
        """An agent comments (``public=False``: internal note)."""
        author = self._default_agent(ticket_id)
        return self._agent_update(
            ticket_id, {"comment": {"body": body, "public": public, "author_id": author}}
        )

    def solve(self, ticket_id: int) -> Json:
        """An agent solves the ticket."""
        return self._agent_update(ticket_id, {"status": "solved"})

    def reopen(self, ticket_id: int) -> Json:
        """The ticket is reopened (status open)."""
        return self._agent_update(ticket_id, {"status": "open"})

    def close(self, ticket_id: int) -> Json:
        """The ticket is closed (no further updates allowed)."""
        return self._agent_update(ticket_id, {"status": "closed"})

    def reassign(
        self, ticket_id: int, group_id: int | None = None, assignee_id: int | None = None
    ) -> Json:
        """Move the ticket to another group and/or agent."""
        data: Json = {}
        if group_id is not None:
            data["group_id"] = group_id
        if assignee_id is not None:
            data["assignee_id"] = assignee_id
        return self._agent_update(ticket_id, data)

    def delete(self, ticket_id: int) -> None:
        """Soft-delete: gone from the API, ``status: deleted`` in the incremental export."""
        with self.lock:
            ticket = self.ticket(ticket_id)
            before = ticket.snapshot()
            ticket.deleted = True
            self._touch(ticket)
            self._emit(ticket, before, deleted=True)

    def _default_agent(self, ticket_id: int) -> int:
        with self.lock:
            ticket = self.ticket(ticket_id)
            if ticket.assignee_id is not None:
                return ticket.assignee_id
            agents = sorted(u.id for u in self.users.values() if u.role == "agent")
            return agents[0] if agents else self.api_user.id

    # ---- webhook events --------------------------------------------------------------------

    def _emit(
        self,
        ticket: Ticket,
        before: Json | None,
        *,
        created: bool = False,
        deleted: bool = False,
        comment: Comment | None = None,
    ) -> None:
        changes = _event_changes(ticket, before, created=created, deleted=deleted, comment=comment)
        sequence = uuid.uuid4().hex.upper()
        for position, (kind, payload) in enumerate(changes, start=1):
            payload["meta"] = {"sequence": {"id": sequence, "position": position}}
            self.webhooks.enqueue(
                {
                    "type": EVENT_TYPE_PREFIX + kind,
                    "account_id": self.account_id,
                    "id": str(uuid.uuid4()),
                    "time": iso(self.clock()),
                    "zendesk_event_version": WEBHOOK_EVENT_VERSION,
                    "subject": f"zen:ticket:{ticket.id}",
                    "detail": self._event_detail(ticket),
                    "event": payload,
                }
            )

    def _event_detail(self, ticket: Ticket) -> Json:
        def opt(value: Any) -> str | None:
            return None if value is None else str(value)

        return {
            "actor_id": str(self.api_user.id),
            "assignee_id": opt(ticket.assignee_id),
            "brand_id": None,
            "created_at": iso(ticket.created_at),
            "description": ticket.description,
            "external_id": opt(ticket.external_id),
            "form_id": None,
            "group_id": opt(ticket.group_id),
            "id": str(ticket.id),
            "is_public": any(c.public for c in ticket.comments),
            "organization_id": None,
            "priority": _enum(ticket.priority),
            "requester_id": str(ticket.requester_id),
            "status": _enum("deleted" if ticket.deleted else ticket.status),
            "subject": ticket.subject,
            "submitter_id": str(ticket.submitter_id),
            "tags": list(ticket.tags),
            "type": _enum(ticket.type),
            "updated_at": iso(ticket.updated_at),
            "via": {"channel": "api"},
        }


def _enum(value: str | None) -> str | None:
    if value is None:
        return None
    return value.upper() if EVENT_ENUM_UPPERCASE else value


def _ref(value: Any) -> Json | None:
    return None if value is None else {"id": str(value)}


def _event_changes(
    ticket: Ticket,
    before: Json | None,
    *,
    created: bool,
    deleted: bool,
    comment: Comment | None,
) -> list[tuple[str, Json]]:
    """The (event kind, event object) pairs a change produces."""
    changes: list[tuple[str, Json]] = []
    if created:
        changes.append(("created", {}))
    if deleted:
        changes.append(("soft_deleted", {}))
    if before is not None and not deleted:
        after = ticket.snapshot()
        if before["status"] != after["status"]:
            current, previous = _enum(after["status"]), _enum(before["status"])
            changes.append(("status_changed", {"current": current, "previous": previous}))
        if before["priority"] != after["priority"]:
            current, previous = _enum(after["priority"]), _enum(before["priority"])
            changes.append(("priority_changed", {"current": current, "previous": previous}))
        if before["group_id"] != after["group_id"]:
            current_g, previous_g = _ref(after["group_id"]), _ref(before["group_id"])
            changes.append(
                ("group_assignment_changed", {"current": current_g, "previous": previous_g})
            )
        if before["assignee_id"] != after["assignee_id"]:
            current_a, previous_a = _ref(after["assignee_id"]), _ref(before["assignee_id"])
            changes.append(
                ("agent_assignment_changed", {"current": current_a, "previous": previous_a})
            )
        if before["tags"] != after["tags"]:
            added = [t for t in after["tags"] if t not in before["tags"]]
            removed = [t for t in before["tags"] if t not in after["tags"]]
            changes.append(("tags_changed", {"tags_added": added, "tags_removed": removed}))
    if comment is not None and not created:
        changes.append(
            (
                "comment_added",
                {
                    "comment": {
                        "id": str(comment.id),
                        "body": comment.body,
                        "is_public": comment.public,
                        "author": {"id": str(comment.author_id), "is_staff": True},
                    }
                },
            )
        )
    return changes


def _minutes(start: datetime, end: datetime | None) -> Json:
    if end is None:
        return {"calendar": None, "business": None}
    minutes = int((end - start).total_seconds() // 60)
    return {"calendar": minutes, "business": minutes if BUSINESS_EQUALS_CALENDAR else None}


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode("ascii")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        prefix, _, value = text.partition(":")
        if prefix != "seq":
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeError):
        raise ZendeskError(
            400, {"error": "InvalidPaginationParameter", "description": "Invalid cursor"}
        ) from None


# ------------------------------------------------------------------------------ HTTP


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _url(request: Request, path: str, params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{_base(request)}{path}" + (f"?{query}" if query else "")


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise ZendeskError(400, {**PER_PAGE_TOO_LARGE, "description": f"{name} invalid"}) from None
    if value < 1 or value > maximum:
        raise ZendeskError(400, {**PER_PAGE_TOO_LARGE, "description": f"{name} > {maximum}"})
    return value


def _paginate(request: Request, key: str, items: list[Json]) -> Json:
    """Cursor pagination when ``page[size]``/``page[after]`` is given, else offset pagination."""
    q = request.query_params
    path = request.url.path
    base_params = {k: v for k, v in q.items() if not k.startswith("page") and k != "per_page"}
    if any(k.startswith("page[") for k in q):
        size = _int_param(request, "page[size]", LIST_MAX_PER_PAGE, LIST_MAX_PER_PAGE)
        start = _decode_cursor(q["page[after]"]) if "page[after]" in q else 0
        chunk = items[start : start + size]
        has_more = start + size < len(items)
        after = _encode_cursor(start + size) if has_more else None
        next_url = _url(request, path, {**base_params, "page[size]": size, "page[after]": after})
        return {
            key: chunk,
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": None},
            "links": {"next": next_url if has_more else None, "prev": None},
        }
    per_page = _int_param(request, "per_page", LIST_MAX_PER_PAGE, LIST_MAX_PER_PAGE)
    page = _int_param(request, "page", 1, 1_000_000)
    chunk = items[(page - 1) * per_page : page * per_page]
    has_next = page * per_page < len(items)

    def link(number: int) -> str:
        return _url(request, path, {**base_params, "page": number, "per_page": per_page})

    return {
        key: chunk,
        "next_page": link(page + 1) if has_next else None,
        "previous_page": link(page - 1) if page > 1 else None,
        "count": len(items),
    }


def _error_response(exc: ZendeskError) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status)


async def _json_body(request: Request) -> tuple[bytes, Any]:
    raw = await request.body()
    try:
        return raw, json.loads(raw or b"null")
    except json.JSONDecodeError:
        raise ZendeskError(400, {"error": "InvalidJSON", "description": "Invalid JSON"}) from None


def _authorized(state: ZendeskState, header: str | None) -> bool:
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeError):
        return False
    return decoded == f"{state.email}/token:{state.token}"


CallNext = Callable[[Request], Awaitable[Response]]


def _install_middleware(app: FastAPI, state: ZendeskState) -> None:
    @app.middleware("http")
    async def auth(request: Request, call_next: CallNext) -> Response:
        if not _authorized(state, request.headers.get("authorization")):
            return JSONResponse(AUTH_FAILURE, status_code=401)
        return await call_next(request)

    @app.middleware("http")
    async def rate_limit(request: Request, call_next: CallNext) -> Response:
        allowed, remaining, retry_after = state.rate_limiter.hit()
        limit_headers = {
            "X-Rate-Limit": str(state.rate_limiter.limit),
            "X-Rate-Limit-Remaining": str(remaining),
        }
        if not allowed:
            response: Response = PlainTextResponse(
                RATE_LIMIT_BODY, status_code=429, headers={"Retry-After": str(retry_after)}
            )
        else:
            response = await call_next(request)
        response.headers.update(limit_headers)
        with state.lock:
            state.stats.requests += 1
            state.stats.rejections += 0 if allowed else 1
            code = response.status_code
            state.stats.by_status[code] = state.stats.by_status.get(code, 0) + 1
        return response

    app.add_middleware(FaultMiddleware, faults=state.faults)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ZendeskError)
    async def zendesk_error(request: Request, exc: ZendeskError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return JSONResponse(NOT_FOUND, status_code=404)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


def _ticket_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.post("/api/v2/tickets.json")
    async def create_ticket(request: Request) -> JSONResponse:
        raw, body = await _json_body(request)
        data = body.get("ticket") if isinstance(body, dict) else None
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key:
            result, lookup = state.idempotent_create(key, raw, data, _base(request))
            headers = {IDEMPOTENCY_LOOKUP_HEADER: lookup}
            return JSONResponse(result, status_code=201, headers=headers)
        return JSONResponse(state.create_ticket(data, _base(request)), status_code=201)

    @app.get("/api/v2/tickets.json")
    async def list_tickets(request: Request) -> Json:
        external_id = request.query_params.get("external_id")
        base = _base(request)
        with state.lock:
            tickets = [t.to_json(base) for t in state.list_tickets(external_id)]
        return _paginate(request, "tickets", tickets)

    @app.get("/api/v2/tickets/{ticket_id}.json")
    async def show_ticket(ticket_id: int, request: Request) -> Json:
        with state.lock:
            return {"ticket": state.ticket(ticket_id).to_json(_base(request))}

    @app.put("/api/v2/tickets/{ticket_id}.json")
    async def update_ticket(ticket_id: int, request: Request) -> Json:
        _, body = await _json_body(request)
        data = body.get("ticket") if isinstance(body, dict) else None
        return state.update_ticket(ticket_id, data, _base(request))

    @app.get("/api/v2/tickets/{ticket_id}/comments.json")
    async def list_comments(ticket_id: int, request: Request) -> Json:
        with state.lock:
            comments = [c.to_json() for c in state.ticket(ticket_id).comments]
        return _paginate(request, "comments", comments)

    @app.get("/api/v2/tickets/{ticket_id}/metrics.json")
    async def ticket_metrics(ticket_id: int, request: Request) -> Json:
        return {"ticket_metric": state.metrics(ticket_id, _base(request))}

    @app.post("/api/v2/tickets/create_many.json")
    async def create_many(request: Request) -> JSONResponse:
        _, body = await _json_body(request)
        items = body.get("tickets") if isinstance(body, dict) else None
        job = state.create_many(items, _base(request))
        return JSONResponse({"job_status": job}, status_code=200)

    @app.get("/api/v2/job_statuses/{job_id}.json")
    async def job_status(job_id: str) -> Json:
        return {"job_status": state.job_status(job_id)}


def _export_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.get("/api/v2/incremental/tickets/cursor.json")
    async def incremental(request: Request) -> Json:
        q = request.query_params
        limit = INCREMENTAL_MAX_PER_PAGE
        per_page = _int_param(request, "per_page", limit, limit)
        start_raw = q.get("start_time")
        try:
            start_time = None if start_raw is None else int(start_raw)
        except ValueError:
            raise ZendeskError(
                422, {**TOO_RECENT_START_TIME, "description": "Invalid start_time"}
            ) from None
        page = state.incremental(start_time, q.get("cursor"), per_page)
        base = _base(request)
        path = request.url.path
        extra = {"per_page": q.get("per_page")}
        after, before = page["after_cursor"], page["before_cursor"]
        with state.lock:
            tickets = [t.to_json(base) for t in page["tickets"]]
        return {
            "tickets": tickets,
            "after_cursor": after,
            "after_url": _url(request, path, {"cursor": after, **extra}),
            "before_cursor": before,
            "before_url": _url(request, path, {"cursor": before, **extra}) if before else None,
            "end_of_stream": page["end_of_stream"],
        }

    @app.get("/api/v2/satisfaction_ratings.json")
    async def satisfaction_ratings(request: Request) -> Json:
        score = request.query_params.get("score")
        base = _base(request)
        with state.lock:
            ratings = [
                {**r, "url": f"{base}/api/v2/satisfaction_ratings/{r['id']}.json"}
                for r in state.ratings
                if score is None or r["score"] == score
            ]
        return _paginate(request, "satisfaction_ratings", ratings)


def _metadata_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.get("/api/v2/ticket_fields.json")
    async def ticket_fields(request: Request) -> Json:
        base = _base(request)
        with state.lock:
            fields = [f.to_json(base) for f in state.ticket_fields.values()]
        return _paginate(request, "ticket_fields", fields)

    @app.get("/api/v2/groups.json")
    async def groups(request: Request) -> Json:
        base = _base(request)
        with state.lock:
            items = [g.to_json(base) for g in sorted(state.groups.values(), key=lambda g: g.id)]
        return _paginate(request, "groups", items)

    @app.get("/api/v2/users.json")
    async def users(request: Request) -> Json:
        roles = request.query_params.getlist("role") + request.query_params.getlist("role[]")
        base = _base(request)
        with state.lock:
            items = [
                u.to_json(base)
                for u in sorted(state.users.values(), key=lambda u: u.id)
                if not roles or u.role in roles
            ]
        return _paginate(request, "users", items)

    @app.get("/api/v2/users/search.json")
    async def search_users(request: Request) -> Json:
        query = (request.query_params.get("query") or "").lower().strip()
        base = _base(request)
        with state.lock:
            items = [
                u.to_json(base)
                for u in sorted(state.users.values(), key=lambda u: u.id)
                if query and (query in u.name.lower() or query == (u.email or "").lower())
            ]
        return _paginate(request, "users", items)

    @app.get("/api/v2/users/{user_id}.json")
    async def show_user(user_id: int, request: Request) -> Json:
        with state.lock:
            user = state.users.get(user_id)
            if user is None:
                raise ZendeskError(404, NOT_FOUND)
            return {"user": user.to_json(_base(request))}

    @app.get("/api/v2/groups/{group_id}.json")
    async def show_group(group_id: int, request: Request) -> Json:
        with state.lock:
            group = state.groups.get(group_id)
            if group is None:
                raise ZendeskError(404, NOT_FOUND)
            return {"group": group.to_json(_base(request))}


def create_app(state: ZendeskState) -> FastAPI:
    """The sandbox's HTTP app: Zendesk routes, auth, rate limit and faults."""
    app = FastAPI(title="Zendesk sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    _install_error_handlers(app)
    _ticket_routes(app, state)
    _export_routes(app, state)
    _metadata_routes(app, state)
    _install_middleware(app, state)
    return app
