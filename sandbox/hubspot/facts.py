"""HubSpot facts the sandbox emulates: paths, limits, headers, error bodies, webhook formats.

Each confirmed fact names where it comes from (developers.hubspot.com unless said otherwise;
"SDK" is hubspot-api-client 12's generated code). Whatever could not be confirmed is in the
UNCONFIRMED block at the end: correct it there when the documentation says otherwise, and
nowhere else.
"""

from __future__ import annotations

# ---- authentication (private apps; docs "Private apps", "Error handling") ------------------
# Private-app tokens are sent as ``Authorization: Bearer <token>``; a missing or bad token is a
# 401 (api-reference/error-handling: "401 Unauthorized: Returned when the authentication
# provided is invalid"). Error bodies are {status: "error", message, correlationId, category,
# errors?, context?} (error-handling: "the fields ... should all be treated as optional").
ERROR_STATUS = "error"
INVALID_AUTHENTICATION = "INVALID_AUTHENTICATION"
VALIDATION_ERROR = "VALIDATION_ERROR"
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
CONFLICT = "CONFLICT"
# 207 Multi-Status: "Returned when there are different statuses (e.g., errors and successes)"
# for batch endpoints (error-handling, "Multi-status errors").
MULTI_STATUS = 207

# ---- object types (CRM object type ids, docs "Understanding the CRM": tickets 0-5, contacts
# 0-1, notes 0-46, emails 0-49) ----------------------------------------------------------------
OBJECT_TYPE_IDS = {"contacts": "0-1", "tickets": "0-5", "notes": "0-46", "emails": "0-49"}
# HUBSPOT_DEFINED association type ids (associations v4 "Association type ID values"; the
# shipped catalog agrees on note_to_ticket 228 and ticket_to_contact 16).
HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
ASSOCIATION_TYPES: dict[tuple[str, str], int] = {
    ("contacts", "tickets"): 15,
    ("tickets", "contacts"): 16,
    ("contacts", "notes"): 201,
    ("notes", "contacts"): 202,
    ("tickets", "emails"): 223,
    ("emails", "tickets"): 224,
    ("tickets", "notes"): 227,
    ("notes", "tickets"): 228,
    ("contacts", "emails"): 197,
    ("emails", "contacts"): 198,
}

# ---- batch -----------------------------------------------------------------------------------
# Batch endpoints take up to 100 inputs (the docs' batch pages: "up to 100 records").
BATCH_MAX_INPUTS = 100
# Batch upsert: {inputs: [{id, idProperty, properties, objectWriteTraceId?}]} -> {status:
# "COMPLETE", results: [{id, properties, createdAt, updatedAt, archived, new}], startedAt,
# completedAt} (SDK: BatchInputSimplePublicObjectBatchInputUpsert, SimplePublicUpsertObject
# with "new"); idProperty must be a property with unique values (docs "CRM objects",
# "Upsert records": "a unique identifier property").

# ---- property history (CRM objects API: GET /crm/v3/objects/{object}/{id} and batch/read) ---
# ``propertiesWithHistory``: "A comma separated list of the properties to be returned along with
# their history of previous values. If any of the specified properties are not present on the
# requested object(s), they will be ignored." (SDK, tickets BasicApi.get_by_id; batch/read takes
# it as a body list). The answer's propertiesWithHistory maps each name to a list of
# {value, timestamp, sourceType, sourceId?, sourceLabel?, updatedByUserId?} (SDK:
# ValueWithTimestamp).

# ---- search (docs "CRM search": /crm/v3/objects/{object}/search) ----------------------------
SEARCH_MAX_LIMIT = 200  # "a maximum of 200 records per page" (CRM search, limitations)
SEARCH_MAX_RESULTS = 10_000  # "limited to 10,000 total results for any given query";
# paging past it is a 400 (AWS Glue HubSpot connector notes: "more than 10,000 records will
# result in a 400 error").
SEARCH_DEFAULT_LIMIT = 10
# filter limits since 2024-08-26 (changelog "Expanded filtering capabilities ... in HubSpot's
# Search API"): 5 filterGroups, 10 filters per group, 25 filters in all.
SEARCH_MAX_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 10
SEARCH_MAX_FILTERS = 25
SEARCH_OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)  # the operator table of "CRM search", "Filter search results"
# Properties a ticket search returns by default (CRM search, the objects table): these plus
# createdate, hs_lastmodifieddate and hs_object_id.
TICKET_DEFAULT_PROPERTIES = (
    "content",
    "hs_pipeline",
    "hs_pipeline_stage",
    "hs_ticket_category",
    "hs_ticket_priority",
    "subject",
)
CONTACT_DEFAULT_PROPERTIES = ("email", "firstname", "lastname")
ALWAYS_RETURNED = ("createdate", "hs_lastmodifieddate", "hs_object_id")

# ---- rate limits (docs "API usage details"; 429 body quoted from them on community.hubspot.com
# thread 511719; headers from the changelog "Rate limit information headers will be included
# in HTTP responses", 2018-11-06) -------------------------------------------------------------
TEN_SECOND_WINDOW_MS = 10_000
TEN_SECOND_LIMIT = 100  # private apps, Free/Starter (190 Professional/Enterprise)
DAILY_LIMIT = 250_000  # Free/Starter (500,000 Professional/Enterprise; 1,000,000 add-on)
RATE_LIMIT_ERROR_TYPE = "RATE_LIMIT"
POLICY_TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
POLICY_DAILY = "DAILY"
TEN_SECONDLY_MESSAGE = "You have reached your ten_secondly_rolling limit."
DAILY_MESSAGE = "You have reached your daily limit."
HEADER_MAX = "X-HubSpot-RateLimit-Max"
HEADER_REMAINING = "X-HubSpot-RateLimit-Remaining"
HEADER_INTERVAL = "X-HubSpot-RateLimit-Interval-Milliseconds"
HEADER_DAILY = "X-HubSpot-RateLimit-Daily"
HEADER_DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"

# ---- webhooks (docs "Webhooks API", "Validating requests"; changelog "Introducing version 3 of
# webhook signatures") -------------------------------------------------------------------------
# A POST of a JSON array of events {eventId, subscriptionId, portalId, appId, occurredAt (ms),
# subscriptionType, attemptNumber, objectId, changeSource, propertyName, propertyValue}, up to
# 100 events a request.
WEBHOOK_MAX_BATCH = 100
SIGNATURE_V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"  # epoch milliseconds
# v3: base64(HMAC-SHA256(key = the app's client secret, message = utf-8 of method + URI + body +
# timestamp)); receivers reject timestamps older than 5 minutes.
# v1 (still sent for CRM object subscriptions): X-HubSpot-Signature = hex(SHA-256(client secret
# + body)) with X-HubSpot-Signature-Version: v1.
SIGNATURE_V1_HEADER = "X-HubSpot-Signature"
SIGNATURE_VERSION_HEADER = "X-HubSpot-Signature-Version"
# Retried up to 10 times over 24 hours (Webhooks API guide, "Retries"). Stopping on 400, 401,
# 403, 404 and 405 is UNCONFIRMED and disputed: the guide checked for connectors/hubspot/facts.py
# says "any HTTP status code (4xx or 5xx)" is retried. Settle it before the connector relies on it.
WEBHOOK_MAX_ATTEMPTS = 10
WEBHOOK_NO_RETRY_STATUSES = frozenset({400, 401, 403, 404, 405})
TICKET_EVENTS = (
    "ticket.creation",
    "ticket.propertyChange",
    "ticket.deletion",
    "ticket.merge",
    "ticket.restore",
)
# Ticket creates "should include ... subject (the ticket's name), hs_pipeline_stage (the
# ticket's status) and if you have multiple pipelines, hs_pipeline. If a pipeline isn't
# specified, the default pipeline will be used." (CRM tickets guide); the default pipeline's id
# is "0" (the shipped catalog; docs examples use hs_pipeline "0", hs_pipeline_stage "1").
TICKET_REQUIRED = ("subject", "hs_pipeline_stage")
DEFAULT_PIPELINE = "0"
TICKET_STATES = ("OPEN", "CLOSED")  # a ticket stage's metadata.ticketState (Pipelines API)

# ---- UNCONFIRMED assumptions: not checked against HubSpot's docs; correct them here ---------
# 401 message for a missing or unknown token (the missing-credentials text is widely quoted).
AUTH_MISSING_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you"
    " can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
AUTH_INVALID_MESSAGE = "The OAuth token used to make this call expired or is not valid."
TOKEN_PREFIX = "pat-na1-"  # noqa: S105 - private-app tokens as seen in the UI; any string works in HubSpot
# Enumeration values outside the options: 400 VALIDATION_ERROR whose message wraps a JSON list
# of {isValid: false, message, error: "INVALID_OPTION", name}.
INVALID_OPTION = "INVALID_OPTION"
INVALID_OPTION_MESSAGE = "{value} was not one of the allowed options: [{options}]"
PROPERTY_DOESNT_EXIST = "PROPERTY_DOESNT_EXIST"
PROPERTY_DOESNT_EXIST_MESSAGE = 'Property "{name}" does not exist'
READ_ONLY_VALUE = "READ_ONLY_VALUE"
INVALID_INTEGER = "INVALID_INTEGER"
PROPERTY_VALUES_MESSAGE = "Property values were not valid: {errors}"
# A create without subject or hs_pipeline_stage is refused (400 VALIDATION_ERROR,
# REQUIRED_PROPERTY): the docs only say a create "should include" them (see above).
# A second record with the same unique value: 409 CONFLICT.
DUPLICATE_UNIQUE_MESSAGE = "A {object} with {name}={value} already exists. Existing ID: {id}"
CONTACT_EXISTS_MESSAGE = "Contact already exists. Existing ID: {id}"
NOT_FOUND_MESSAGE = "resource not found"
# Search: more than one sort rule is refused; paging past 10,000 and limit > 200 are 400s with
# these messages; sort ties (and no sort) go by hs_object_id ascending; string EQ/NEQ/IN are
# case-insensitive; datetime filter values are epoch ms or ISO-8601.
SEARCH_MAX_SORTS = 1
SEARCH_LIMIT_MESSAGE = "limit must be at most 200"
SEARCH_PAST_CAP_MESSAGE = (
    "There was a problem with the request. Paging beyond 10000 results is not supported."
)
SEARCH_SORTS_MESSAGE = "Only one sort is allowed"
# The CRM search API's own limit (5 requests per second per token; the changelog says four).
SEARCH_PER_SECOND = 5
# Rate-limit headers are sent on every answer (the changelog says every API-key request); a
# refused (429) request is not counted; the daily limit resets at midnight UTC of the sandbox
# clock (HubSpot: the account's time zone).
# Webhooks: changeSource of an API change is "INTEGRATION", of an agent's change "CRM_UI"; retry
# delays double from 60 s up to 24 h in all; a request times out after 5 s; a retry resends
# the same events with attemptNumber + 1; the merge event names primaryObjectId,
# mergedObjectIds, newObjectId and numberOfPropertiesMoved.
CHANGE_SOURCE_API = "INTEGRATION"
CHANGE_SOURCE_UI = "CRM_UI"
WEBHOOK_FIRST_RETRY_SECONDS = 60.0
WEBHOOK_TIMEOUT_SECONDS = 5.0
# Merge: the merged ticket's id answers GET with the primary ticket; the primary lists the
# merged ids in hs_merged_object_ids (";"-separated).
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
# Date-time properties are answered as ISO-8601 with milliseconds and Z.
# attemptNumber starts at 0 on the first delivery.
# Batch upsert answers 207 (not 400) when some rows fail validation, and when all do; a
# duplicate id within one batch is a 400 for the whole request.
# v4 PUT of a labelled association answers 201 {fromObjectTypeId, fromObjectId,
# toObjectTypeId, toObjectId, labels}; the "default" PUT answers a batch response
# {status, results: [{from: {id}, to: {id}, associationSpec}]}; an association type that does
# not join the two object types is a 400 VALIDATION_ERROR.
# DELETE of an already archived or unknown record answers 204 (idempotent).
# Creating a record emits ticket.creation plus a ticket.propertyChange for each subscribed
# property given a value.
# Search: a free-text "query" matches any property value containing it (case-insensitive).
# Property history lists a property's values newest first; a cleared value is ""; sourceType
# is "API" for a change through the REST API (webhook changeSource INTEGRATION) and "CRM_UI"
# for an agent's change in the UI, the computed ticket times taking the source of the write
# that caused them; sourceId is null. A property the object type defines but that was never
# set has an empty history.
HISTORY_SOURCE_TYPES = {CHANGE_SOURCE_API: "API", CHANGE_SOURCE_UI: "CRM_UI"}
# The default ticket properties 'Time to close' and 'Time to first agent reply'; names and
# units not confirmed (here: read-only, durations in milliseconds as number strings, the date
# as a datetime). time_to_close = closed_date - createdate, set on entering a closed stage and
# cleared on re-opening; the first-reply pair is set by the first agent reply, then kept.
TIME_TO_CLOSE = "time_to_close"
FIRST_AGENT_REPLY_DATE = "first_agent_reply_date"
TIME_TO_FIRST_AGENT_REPLY = "time_to_first_agent_reply"
# Batch create (POST /crm/v3/objects/{object}/batch/create) answers 201 when every input was
# made and 207 when some were refused; each input's objectWriteTraceId is echoed on its row
# and, for a refused input, in its error's context.
# v4 "associate records (default) in batch" (POST /crm/v4/associations/{from}/{to}/batch/
# associate/default, {inputs: [{from: {id}, to: {id}}]}) takes at most 100 pairs here, like the
# other batch endpoints, and answers 200 (207 with the pairs whose records do not exist).
# v4 associations batch read (association_reads.py): at most 1,000 inputs; up to 500
# associations per input in one answer; toObjectId written as a number (the spec types it as a
# string; HubSpot's examples show numbers); an unknown from-id is an error row (207).
ASSOCIATION_BATCH_MAX_INPUTS = 1_000
ASSOCIATIONS_PAGE_SIZE = 500
# E-mails and notes on a ticket (state.py): logging one sets the ticket's "Last activity date"
# (the default property notes_last_updated), which moves hs_lastmodifieddate, so a search on it
# finds the ticket. A customer's reply is an INCOMING_EMAIL with no owner (the Activities |
# Email guide: "the email was a reply to a logged outgoing email").
LAST_ACTIVITY_DATE = "notes_last_updated"
EMAIL_OUTGOING = "EMAIL"
EMAIL_INCOMING = "INCOMING_EMAIL"
