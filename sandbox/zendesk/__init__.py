"""Local emulator of the Zendesk Support API surface Baton uses.

``ZendeskState`` holds the account (tickets, comments, users, groups, ticket fields, metrics,
satisfaction ratings, idempotency records, job statuses), a clock and the webhook dispatcher;
``create_app(state)`` serves it with Zendesk's auth, validation errors, pagination, incremental
export, idempotency keys, rate limit and fault injection, plus the sandbox's own control API
under ``/_sandbox/`` (see docs/sandbox.md). Agent-side actions (reply, solve, reopen, reassign,
rate, delete) are plain methods on the state, and every ticket change emits signed event
webhooks to the configured ``WebhookTarget``s.

Serve it with ``ZendeskSandbox(state)``; point zenpy at it with
``ZENPY_FORCE_NETLOC=127.0.0.1:PORT`` and ``ZENPY_FORCE_SCHEME=http``.

One module per concern: ``facts`` (what Zendesk does, from its documentation), ``model`` (the
records), ``account``, ``tickets`` and ``state`` (the layers of ``ZendeskState``), ``events``
and ``webhooks`` (what a change sends, and the sending), ``ratelimit``, ``pagination``,
``routes`` (the HTTP app), ``control`` (the control API) and ``sandbox`` (serving it).
Like every sandbox it stands in for the vendor and shares no code with ``baton.connectors``.
"""

from __future__ import annotations

from baton.sandbox.clock import Clock, ManualClock, OffsetClock, utcnow
from baton.sandbox.zendesk.errors import ZendeskError
from baton.sandbox.zendesk.facts import (
    DEFAULT_RATE_LIMIT,
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_LOOKUP_HEADER,
    INCREMENTAL_MIN_AGE_SECONDS,
)
from baton.sandbox.zendesk.model import (
    Comment,
    Group,
    Json,
    Metrics,
    Ticket,
    TicketField,
    User,
    iso,
)
from baton.sandbox.zendesk.pagination import decode_cursor, encode_cursor
from baton.sandbox.zendesk.ratelimit import RateLimiter, Stats
from baton.sandbox.zendesk.routes import create_app
from baton.sandbox.zendesk.sandbox import ZendeskSandbox
from baton.sandbox.zendesk.state import ZendeskState
from baton.sandbox.zendesk.webhooks import Delivery, WebhookDispatcher, WebhookTarget

_encode_cursor = encode_cursor  # the name the contract harness imports
_decode_cursor = decode_cursor

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_LOOKUP_HEADER",
    "INCREMENTAL_MIN_AGE_SECONDS",
    "Clock",
    "Comment",
    "Delivery",
    "Group",
    "Json",
    "ManualClock",
    "Metrics",
    "OffsetClock",
    "RateLimiter",
    "Stats",
    "Ticket",
    "TicketField",
    "User",
    "WebhookDispatcher",
    "WebhookTarget",
    "ZendeskError",
    "ZendeskSandbox",
    "ZendeskState",
    "create_app",
    "decode_cursor",
    "encode_cursor",
    "iso",
    "utcnow",
]
