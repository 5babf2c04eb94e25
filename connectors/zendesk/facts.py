"""Zendesk facts the connector relies on, in one place (checked against Zendesk's API docs).

Confirmed facts come first (developer.zendesk.com, zenpy 2.0.57's source). The block marked
UNCONFIRMED holds assumptions that could not be checked against Zendesk's reference: correct
them here.
"""

from __future__ import annotations

from typing import Final

from baton.core.disposition import Outcome

PLATFORM: Final = "zendesk"

# ---- settings -------------------------------------------------------------------------------
ENV_SUBDOMAIN: Final = "BATON_ZENDESK_SUBDOMAIN"
ENV_EMAIL: Final = "BATON_ZENDESK_EMAIL"
ENV_TOKEN: Final = "BATON_ZENDESK_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_WEBHOOK_SECRETS: Final = "BATON_ZENDESK_WEBHOOK_SECRETS"
ENV_URL: Final = "BATON_ZENDESK_URL"
ENV_RATE_LIMIT: Final = "BATON_ZENDESK_RATE_LIMIT"
ENV_TIMEOUT: Final = "BATON_ZENDESK_TIMEOUT"
DEFAULT_RATE_LIMIT: Final = 600.0  # requests per minute, under the 700/min plan limit
DEFAULT_TIMEOUT: Final = 30.0  # seconds
# zenpy reads these on every request: process-wide, so one Zendesk URL per process.
ZENPY_FORCE_NETLOC: Final = "ZENPY_FORCE_NETLOC"
ZENPY_FORCE_SCHEME: Final = "ZENPY_FORCE_SCHEME"
# zenpy sleeps on a 429 until this budget (seconds, for the client's lifetime) is spent; 0 makes
# it raise at once, so the worker's backoff and Baton's limiter own every wait.
ZENPY_RATELIMIT_BUDGET: Final = 0

# ---- mapping vocabularies ---------------------------------------------------------------------
PRIORITIES: Final = ("urgent", "high", "normal", "low")
TICKET_TYPES: Final = ("problem", "incident", "question", "task")
STATUSES: Final = ("new", "open", "pending", "hold", "solved", "closed", "deleted")

# ---- API -------------------------------------------------------------------------------------
TICKETS_PATH: Final = "/api/v2/tickets.json"
TARGET_TICKET_FIELDS: Final = ("group_id", "assignee_id")  # where a ticket was routed
IDEMPOTENCY_LOOKUP_HEADER: Final = "x-idempotency-lookup"  # "hit" | "miss"
IDEMPOTENCY_MISMATCH_ERROR: Final = "IdempotentRequestError"
RECORD_INVALID_ERROR: Final = "RecordInvalid"
RETRY_AFTER_HEADER: Final = "retry-after"
# Every answer carries the account's per-minute limit and what is left of it ("Rate limits",
# "Monitoring your request activity"): ``X-Rate-Limit: 700``, ``X-Rate-Limit-Remaining: 699``.
RATE_LIMIT_REMAINING_HEADER: Final = "x-rate-limit-remaining"
AGENT_TICKET_URL: Final = "https://{subdomain}.zendesk.com/agent/tickets/{id}"
API_TICKET_PATH: Final = "/api/v2/tickets/{id}.json"
INCREMENTAL_MIN_AGE_SECONDS: Final = 60  # start_time must be at least a minute in the past
# Cursor-based incremental ticket export. ``include=metric_sets`` sideloads each ticket's metrics
# (the fields of GET /api/v2/tickets/{id}/metrics.json, with ``ticket_id``) as a top-level
# ``metric_sets`` array: Incremental Exports reference ("Exporting tickets", sideloads) and
# Zendesk's answers (support.zendesk.com community 4984355661466 and 4866803571098:
# ``/api/v2/incremental/tickets/cursor.json?start_time=…&include=metric_sets``). The export
# allows 10 requests a minute, so one request per page, never one per ticket.
INCREMENTAL_TICKETS_PATH: Final = "/api/v2/incremental/tickets/cursor.json"
INCLUDE_PARAM: Final = "include"
METRIC_SETS: Final = "metric_sets"
# Incremental Ticket Event Export (Incremental Exports reference): time-based,
# ``GET /api/v2/incremental/ticket_events.json?start_time=…``; ``include=comment_events`` puts each
# comment in the event's ``child_events`` as ``{id, via, type: "Comment", author_id, body,
# html_body, public, attachments, audit_id, created_at, event_type: "Comment"}`` (without it only
# ``comment_present`` / ``comment_public``). Pages: ``end_time`` (the next start_time),
# ``end_of_stream``, ``next_page``, ``count``; events of the last minute are left out. zenpy 2.0.57:
# ``tickets.events(start_time, include)``. Allowed for admins only: the API user must be one.
COMMENT_EVENTS: Final = "comment_events"
COMMENT_EVENT_TYPE: Final = "Comment"
# Ticket metrics: ``replies`` is the number of public replies added by agents (Ticket Metrics
# reference, "replies").
METRIC_PUBLIC_REPLIES: Final = "replies"
# Merging (Tickets reference, "Merge Tickets into Target Ticket"): POST
# /api/v2/tickets/{ticket_id}/merge with ``ids`` closes each source ticket.
STATUS_CLOSED: Final = "closed"
CATALOG_ROLES: Final = ("agent", "admin")
NAME_MAX_CHARS: Final = 256  # Baton's bound on a disposition's group and assignee names
CSAT_VALUES: Final[dict[str, float | None]] = {
    "good": 1.0,
    "bad": 0.0,
    "offered": None,
    "unoffered": None,
}
STATUS_DELETED: Final = "deleted"  # incremental export's status for deleted tickets
SOLVED_STATUSES: Final = frozenset({"solved", "closed"})
UNSOLVED_STATUSES: Final = frozenset({"new", "open", "pending", "hold"})
# Used when no mapping is loaded (catalog-only use) or a status is missing from it.
DEFAULT_STATUSES: Final[dict[str, Outcome]] = {
    "new": "open",
    "open": "open",
    "pending": "pending",
    "hold": "pending",
    "solved": "resolved",
    "closed": "resolved",
    "deleted": "deleted",
}

# ---- webhooks --------------------------------------------------------------------------------
SIGNATURE_HEADER: Final = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER: Final = "x-zendesk-webhook-signature-timestamp"
TICKET_EVENT_PREFIX: Final = "zen:event-type:ticket."
STATUS_CHANGED: Final = "status_changed"
GROUP_CHANGED: Final = "group_assignment_changed"
COMMENT_ADDED: Final = "comment_added"  # Webhooks reference, "Ticket events": Comment created
MAX_HEADER_CHARS: Final = 256  # Baton's bound: longer signature/timestamp headers are malformed
# A cursor Baton makes when the export has returned none yet: resume from this unix time.
START_TIME_CURSOR_PREFIX: Final = "start_time:"

# ---- UNCONFIRMED assumptions: not checked against Zendesk's reference; correct them here ------
# A ticket closed by a merge carries this tag. Not in the Tickets reference: it is seen in real
# Zendesk accounts' tag lists and views (e.g. ``-tags:closed_by_merge`` filters, tag counts of
# exported tickets). A closed ticket with it is reported ``merged``.
MERGED_TAG: Final = "closed_by_merge"
# Whether the export's ``after_url`` repeats ``include``: not stated. Baton adds
# ``include=metric_sets`` to every page it follows.
# System ticket fields (kept out of catalogs): ``removable: false`` marks them; these types too.
SYSTEM_FIELD_TYPES: Final = frozenset(
    {
        "subject",
        "description",
        "status",
        "custom_status",
        "tickettype",
        "priority",
        "group",
        "assignee",
        "brand",
        "ticket_form",
    }
)
# Ticket event types that mean the ticket is gone (the sandbox emits soft_deleted).
DELETED_EVENTS: Final = frozenset({"soft_deleted", "permanently_deleted"})
NOTE_MAX_CHARS: Final = 65_000  # the internal note (a comment's html_body)
# A create's routing target refused: a 422 RecordInvalid whose ``details`` keys are all among
# these. Zendesk keys an assignee problem ``assignee`` (a real answer quoted in
# facetoe/zenpy#628: ``{"assignee": [{"description": "Assignee: is invalid", "error":
# "InvalidValue"}, {"description": "Assignee: is not a member of the group"}]}``); the key of a
# deleted or unknown group (``group`` by the same pattern) is not documented, and the sandbox
# answers ``group_id`` / ``assignee_id``: every spelling counts.
TARGET_DETAIL_KEYS: Final = frozenset({"group", "group_id", "assignee", "assignee_id"})
# A refused create (4xx) leaves its Idempotency-Key unused, so the backup target's create may
# send the same key with another body; were the refusal remembered, Zendesk would answer
# IdempotentRequestError (an IdempotencyConflict: dead-lettered, never a second ticket).
# Comment webhooks (``zen:event-type:ticket.comment_added``): ``event.comment`` is ``{id, body,
# is_public, author: {id, is_staff, name}}`` — the reference lists the event; the comment's fields
# are taken from published examples of its payload, not from the reference's own text.
# A comment's id in that webhook equals the id of its ``Comment`` child event in the ticket
# events export (as in Ticket Audits, where the Comment event's id is the comment's): assumed,
# so that a reply seen both ways is told once.
# Comments made by business rules (triggers, automations) come ``via`` these channels (Via object
# reference lists ``rule``; ``system`` is assumed): never a person's reply.
AUTOMATED_VIA_CHANNELS: Final = frozenset({"rule", "system"})
# Trigger webhooks: {{ticket.status}} renders a title-cased status ("Solved"); compared casefolded.
# {{ticket.updated_at_with_timestamp}} renders ISO-8601 to the minute ("2013-12-12T05:35Z").
