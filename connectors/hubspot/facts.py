"""HubSpot facts Baton's mapping relies on, in one place (checked against HubSpot's docs).

Anything marked UNCONFIRMED is an assumption not yet checked against the vendor; correct it
here and nowhere else.
"""

from __future__ import annotations

from typing import Final

PLATFORM: Final = "hubspot"
PRIORITY_PROPERTY: Final = "hs_ticket_priority"
TICKETS_PATH: Final = "/crm/v3/objects/tickets"
NOTES_PATH: Final = "/crm/v3/objects/notes"

# ---- webhooks: verification (events.py) ---------------------------------------------------------
# Confirmed in "Validating requests from HubSpot" (developers.hubspot.com/docs/api/webhooks/
# validating-requests; same text in the legacy-apps and developer-platform "request-validation"
# pages, and the v1/v2 FAQ pages legacydocs.hubspot.com/docs/faq/v1-request-validation and
# .../v2-request-validation). Header names are lower-case: the receiver hands them over that way.
SIGNATURE_V3_HEADER: Final = "x-hubspot-signature-v3"  # base64(HMAC-SHA256(secret, m+uri+body+ts))
TIMESTAMP_HEADER: Final = "x-hubspot-request-timestamp"  # epoch milliseconds
SIGNATURE_HEADER: Final = "x-hubspot-signature"  # v1/v2: hex SHA-256, no HMAC
SIGNATURE_VERSION_HEADER: Final = "x-hubspot-signature-version"  # "v1" | "v2"
SIGNATURE_V1: Final = "v1"  # sha256(secret + body); what webhooks API (CRM object events) send
SIGNATURE_V2: Final = "v2"  # sha256(secret + method + uri + body); workflow webhooks, CRM cards
LEGACY_VERSIONS: Final = (SIGNATURE_V1, SIGNATURE_V2)
# "Reject the request if the timestamp is older than 5 minutes." Baton also refuses a timestamp
# more than 5 minutes ahead of its clock (a decision, not HubSpot's rule: see events.verify_v3).
V3_TOLERANCE_SECONDS: Final = 300
# v3: "In the request URI, decode any of the URL-encoded characters listed in the table below.
# You do not need to decode the question mark that denotes the beginning of the query string."
# The table, verbatim (encoded → decoded):
V3_URI_DECODED: Final = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
MAX_HEADER_CHARS: Final = 256  # Baton's bound: longer signature/timestamp headers are malformed

# ---- webhooks: the body (events.py) ----------------------------------------------------------
# Confirmed in the Webhooks API guide (developers.hubspot.com/docs/api/webhooks, "Webhook
# settings", "Webhook subscriptions", "Webhook payloads", "Retries"):
# - "Each request can contain up to 100 events." / "The batch size can vary, but will be under
#   100 notifications." The body is a JSON array of event objects.
# - eventId: "The ID of the event that triggered this notification. This value is not guaranteed
#   to be unique." Hence events.HubSpotEvent.key (portal, subscription, event, object).
# - "HubSpot does not guarantee that you'll only get a single notification for an event", nor the
#   order: occurredAt ("a millisecond timestamp") orders them.
# - Retries: up to 10 times over the next 24 hours, on connection failure, a response slower
#   than five seconds, or "any HTTP status code (4xx or 5xx)". (Earlier project notes said
#   400/401/403/404/405 are not retried; the guide this was checked against retries every 4xx.)
# - The field table names the type ``eventType``; the payload examples (and every SDK fixture)
#   use ``subscriptionType``: events.read_events accepts either.
MAX_BATCH_EVENTS: Final = 100
RESPONSE_DEADLINE_SECONDS: Final = 5
MAX_DELIVERY_ATTEMPTS: Final = 10
TICKET_CREATION: Final = "ticket.creation"
TICKET_PROPERTY_CHANGE: Final = "ticket.propertyChange"
TICKET_DELETION: Final = "ticket.deletion"
TICKET_MERGE: Final = "ticket.merge"  # payload adds primaryObjectId, mergedObjectIds, newObjectId
TICKET_RESTORE: Final = "ticket.restore"  # "restored from deletion"; no extra payload fields
TICKET_ASSOCIATION_CHANGE: Final = "ticket.associationChange"  # Baton ignores it
TICKET_SUBSCRIPTIONS: Final = (
    TICKET_CREATION,
    TICKET_PROPERTY_CHANGE,
    TICKET_DELETION,
    TICKET_MERGE,
    TICKET_RESTORE,
)
IGNORED_SUBSCRIPTIONS: Final = (TICKET_ASSOCIATION_CHANGE,)

# ---- UNCONFIRMED assumptions: not checked against HubSpot's reference; correct them here -----
NOTE_TO_TICKET_DEFAULT: Final = 228  # read /crm/v4/associations/notes/tickets/labels
NOTE_MAX_CHARS: Final = 65_000  # hs_note_body

# Webhooks (events.py): not stated by HubSpot's pages, decided or assumed here.
# - Lower-case percent-encodings (%3a …) are decoded like the table's upper-case ones (RFC 3986
#   §2.1 makes them equivalent; HubSpot's table lists upper case only).
# - Webhooks-API requests (CRM object events) carry X-HubSpot-Signature-v3 besides the v1
#   signature the guide describes ("requests from HubSpot also include older versions").
# - HubSpot's own clock may run ahead: a v3 timestamp up to V3_TOLERANCE_SECONDS in the future is
#   accepted (the docs only bound the past).
# - Ids (eventId, subscriptionId, portalId, appId, objectId) are JSON integers below 2**63.

# ---- the connector: settings (connectors/hubspot/settings.py) ----------------------------------
ENV_ACCESS_TOKEN: Final = "BATON_HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a variable's name
ENV_PORTAL_ID: Final = "BATON_HUBSPOT_PORTAL_ID"  # the account (hub) id: record links
ENV_CLIENT_SECRETS: Final = "BATON_HUBSPOT_CLIENT_SECRETS"
ENV_LEGACY_SIGNATURES: Final = "BATON_HUBSPOT_LEGACY_SIGNATURES"  # "v1", "v2" or "v1,v2"
ENV_APP_URL: Final = "BATON_HUBSPOT_APP_URL"  # https://app.hubspot.com (EU: app-eu1)
ENV_HOST_OVERRIDE: Final = "BATON_HUBSPOT_HOST_OVERRIDE"  # the sandbox: http://127.0.0.1:PORT
ENV_RATE_LIMIT: Final = "BATON_HUBSPOT_RATE_LIMIT"  # requests per ten seconds
ENV_TIMEOUT: Final = "BATON_HUBSPOT_TIMEOUT"
API_HOST: Final = "https://api.hubapi.com"
DEFAULT_APP_URL: Final = "https://app.hubspot.com"
DEFAULT_RATE_LIMIT: Final = 100.0  # per ten seconds: private apps on Free/Starter (the lowest)
DEFAULT_TIMEOUT: Final = 30.0  # seconds; the SDK sets none
RATE_WINDOW_SECONDS: Final = 10.0
RATE_SAFETY: Final = 0.9  # the client-side bucket's share of the published limit

# ---- the API (checked against the CRM guides: tickets, notes, associations v4, search) -------
# Answers carry X-HubSpot-RateLimit-Max / -Remaining / -Interval-Milliseconds ("API usage
# details"); a 429 body names its policyName (TEN_SECONDLY_ROLLING, DAILY, …).
HEADER_REMAINING: Final = "X-HubSpot-RateLimit-Remaining"
HEADER_INTERVAL: Final = "X-HubSpot-RateLimit-Interval-Milliseconds"
POLICY_DAILY: Final = "DAILY"
BATCH_MAX_INPUTS: Final = 100  # every batch endpoint ("up to 100 records")
SEARCH_MAX_LIMIT: Final = 200  # records per search page
SEARCH_MAX_RESULTS: Final = 10_000  # a query pages through 10,000 results at most; then 400
SYNC_PAGE_LIMIT: Final = 200
# Search reads an index that follows writes with a delay: a run reads tickets modified up to
# HubSpot's own time (the answers' Date header) less this, so that a change indexed late is
# still ahead of the cursor (UNCONFIRMED: the docs say only that the delay is short).
SEARCH_SETTLE_SECONDS: Final = 30
LAST_MODIFIED: Final = "hs_lastmodifieddate"
OBJECT_ID: Final = "hs_object_id"
PIPELINE: Final = "hs_pipeline"
STAGE: Final = "hs_pipeline_stage"
OWNER: Final = "hubspot_owner_id"
CREATED: Final = "createdate"
CLOSED_DATE: Final = "closed_date"
NOTE_BODY: Final = "hs_note_body"
# Replies (replies.py). E-mail engagements (Activities | Email guide, developers.hubspot.com/docs/
# api/crm/email): hs_timestamp (when; epoch ms or UTC), hubspot_owner_id ("the user listed as the
# email creator"), hs_email_direction EMAIL ("sent from the CRM or sent and logged to the CRM with
# the BCC address") / INCOMING_EMAIL ("a reply to a logged outgoing email") / FORWARDED_EMAIL,
# hs_email_text (the body), hs_email_status BOUNCED, FAILED, SCHEDULED, SENDING or SENT.
# Associations v4 batch read (the public OpenAPI spec, CRM/Associations v4):
# POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read, inputs [{id, after?}],
# results [{from: {id}, to: [{toObjectId, associationTypes}], paging?}] ("paging" only when the
# object has more associations than one answer holds: ask again with its ``after``).
TICKETS: Final = "tickets"
EMAILS: Final = "emails"
EMAIL_DIRECTION: Final = "hs_email_direction"
EMAIL_OUTGOING: Final = "EMAIL"
EMAIL_TEXT: Final = "hs_email_text"
EMAIL_TIMESTAMP: Final = "hs_timestamp"
EMAIL_STATUS: Final = "hs_email_status"
EMAIL_NOT_SENT: Final = frozenset({"BOUNCED", "FAILED", "SCHEDULED"})
EMAIL_PROPERTIES: Final = (
    EMAIL_DIRECTION,
    EMAIL_TEXT,
    EMAIL_TIMESTAMP,
    EMAIL_STATUS,
    OWNER,
)
VALIDATION_ERROR: Final = "VALIDATION_ERROR"
CONFLICT: Final = "CONFLICT"
# Association type ids the catalog may lack (the v4 labels endpoint gives them per portal;
# HUBSPOT_DEFINED ids from "Associations v4: association type id values").
TICKET_TO_CONTACT_DEFAULT: Final = 16
OBJECT_TYPE_TICKET: Final = "0-5"

# Ticket time properties, milliseconds (the default ticket properties "Time to close" and "Time
# to first agent reply"; names UNCONFIRMED against the property reference, see below).
TIME_TO_CLOSE: Final = "time_to_close"
TIME_TO_FIRST_REPLY: Final = "time_to_first_agent_reply"
MERGED_IDS: Final = "hs_merged_object_ids"

# UNCONFIRMED (connector): not checked against HubSpot's reference; correct them here.
# - A ticket's page in the app: {app}/contacts/{portal}/record/0-5/{id}.
# - time_to_close and time_to_first_agent_reply are the default ticket properties' names, in
#   milliseconds; when absent Baton uses closed_date − createdate.
# - Search sorts take one rule (the sandbox refuses two): ties on hs_lastmodifieddate are
#   broken by a filter (modified = T and hs_object_id > last), not by a second sort.
# - A merged-away ticket's id read by GET answers the primary ticket (its id differs).
# - hs_note_body is kept as sent, so a note read back equals the note posted, word for word
#   (how a first attempt's 409 tells the same handoff from another one).
# - A 429's daily policy (DAILY) frees up at midnight UTC (HubSpot may use the account's time
#   zone): Baton waits until then.
# - archived=True (the SDK writes Python's capitalised bool) lists the recycle bin.
# - The private-app scopes Baton needs: tickets, crm.objects.contacts.read/write,
#   crm.schemas.tickets.read (README's set-up).
# - Webhook retries: the guide checked says any 4xx/5xx is retried; older notes said 400, 401,
#   403, 404 and 405 are not. Baton answers 401 (not authentic) and 400 (quarantined) either
#   way; a retried 400 is quarantined again.
# - batch/create answers 201 and echoes each input's objectWriteTraceId on its row; the v4
#   default association in batch takes 100 pairs (the other batch endpoints' limit).
# - Replies (replies.py): logging or sending an e-mail on a ticket updates the ticket's activity
#   properties (its "Last activity date"), hence hs_lastmodifieddate, so the sync's search finds
#   the ticket and reads its e-mails; if not, a reply waits for the ticket's next change.
# - No webhook carries the reply: the Webhooks API's ticket subscriptions report the ticket's own
#   properties; ticket.associationChange is not confirmed to fire for e-mail engagements, and
#   would carry ids only (a read would follow). Conversations inbox messages
#   (/conversations/v3/conversations/threads/{id}/messages, conversation.newMessage) concern chat
#   and inbox threads, not tickets Baton creates through the CRM API: not read. Replies arrive
#   with the next `baton sync` run (the gap: up to one sync interval).
# - An outgoing e-mail with an owner is a rep's (sequences and marketing e-mails are other
#   objects); one with no hs_email_text (HTML only) is not told; a SENDING one is told (it is
#   on its way), a SCHEDULED one is not, and is not seen again unless the ticket changes.
