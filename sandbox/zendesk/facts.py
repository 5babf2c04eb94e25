"""Zendesk facts the sandbox emulates: enums, error bodies, limits and timings.

Confirmed against developer.zendesk.com / SDK sources unless marked UNCONFIRMED below; correct
those here when the documentation says otherwise.
"""

from __future__ import annotations

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
# Incremental ticket export sideloads (Incremental Exports reference, "Exporting tickets":
# ``include=metric_sets``; Zendesk's answers in support.zendesk.com community posts
# 4984355661466 and 4866803571098 show ``…/incremental/tickets/cursor.json?start_time=…&
# include=metric_sets``): a top-level ``metric_sets`` array of objects with the fields of the
# ticket's ``ticket_metric`` (``GET /api/v2/tickets/{id}/metrics.json``), ``ticket_id`` included.
INCREMENTAL_SIDELOADS = ("metric_sets",)
# Incremental Ticket Event Export (Incremental Exports reference): time-based, ``start_time``
# required, ``include=comment_events`` puts each comment in ``child_events`` (see
# ``ticket_events.py``); pages carry ``end_time``, ``end_of_stream``, ``next_page``, ``count``.
TICKET_EVENT_SIDELOADS = ("comment_events",)
# Merging (Tickets reference, "Merge Tickets into Target Ticket"): ``POST
# /api/v2/tickets/{ticket_id}/merge`` with ``ids`` (required), ``target_comment``,
# ``source_comment``, ``target_comment_is_public``, ``source_comment_is_public``; comments are
# private unless made public; the answer is a ``job_status`` of a background job. Merging
# closes each source ticket.
MERGE_COMMENT_FIELDS = ("target_comment", "source_comment")
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
# Merging: the tag a source ticket gets (seen in real accounts' tag lists, not in the reference);
# the job's type and result shape; the refusal of a closed source or target (the Help Center's
# merging rules say closed tickets cannot be merged; status and body are the sandbox's); the
# comments added when none is given (the wording of the agent UI's defaults); whether an
# export page's after_url repeats ``include`` (the sandbox's links leave it out).
MERGED_TAG = "closed_by_merge"
MERGE_JOB_TYPE = "MergeTickets"
MERGE_CLOSED_TICKET = {"description": "Status: closed tickets cannot be merged"}
MERGE_SOURCE_COMMENT = 'This request was closed and merged into request #{target} "{subject}".'
MERGE_TARGET_COMMENT = 'Request #{source} "{subject}" was closed and merged into this request.'
WEBHOOK_MAX_ATTEMPTS = 5
WEBHOOK_BASE_DELAY_SECONDS = 1.0  # doubled per retry, divided by time_factor
