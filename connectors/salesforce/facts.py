"""Salesforce facts Baton's mapping relies on, in one place (checked against Salesforce's docs).

Anything marked UNCONFIRMED is an assumption not yet checked against the vendor; correct it
here and nowhere else.
"""

from __future__ import annotations

from typing import Final

from baton.core.disposition import Outcome

PLATFORM: Final = "salesforce"
PRIORITY_FIELD: Final = "Priority"
STATUS_FIELD: Final = "Status"
SUBJECT_MAX_CHARS: Final = 255
DESCRIPTION_MAX_CHARS: Final = 32_000
COMMENT_MAX_BYTES: Final = 4_000  # CaseComment.CommentBody
SUPPLIED_NAME_MAX_CHARS: Final = 80  # Case.SuppliedName (Object Reference, Case)
SUPPLIED_PHONE_MAX_CHARS: Final = 40  # Case.SuppliedPhone
DEFAULT_API_VERSION: Final = "61.0"

# ---- settings (read by the connector; the sandbox's LocalSalesforce.env produces them) -------
ENV_INSTANCE_URL: Final = "BATON_SALESFORCE_INSTANCE_URL"  # https://acme.my.salesforce.com
ENV_DOMAIN: Final = "BATON_SALESFORCE_DOMAIN"  # login, test, or a My Domain such as acme.my
ENV_CLIENT_ID: Final = "BATON_SALESFORCE_CLIENT_ID"  # the connected app's consumer key
ENV_CLIENT_SECRET: Final = "BATON_SALESFORCE_CLIENT_SECRET"  # noqa: S105 - a variable's name
ENV_USERNAME: Final = "BATON_SALESFORCE_USERNAME"  # JWT bearer's subject (and legacy login)
ENV_PRIVATE_KEY_FILE: Final = "BATON_SALESFORCE_PRIVATE_KEY_FILE"  # JWT bearer's signing key
ENV_PASSWORD: Final = "BATON_SALESFORCE_PASSWORD"  # noqa: S105 - legacy SOAP login, warned
ENV_SECURITY_TOKEN: Final = "BATON_SALESFORCE_SECURITY_TOKEN"  # noqa: S105 - legacy login
ENV_ORGANIZATION_ID: Final = "BATON_SALESFORCE_ORGANIZATION_ID"  # Outbound Messages' org check
ENV_WEBHOOK_PATHS: Final = "BATON_SALESFORCE_WEBHOOK_PATHS"  # secret path segments, comma-sep.
# Sandbox and tests only: every https://*.salesforce.com URL the SDK builds (login, token, the
# instance) goes to this base URL instead (http://127.0.0.1:PORT), through the session's adapter.
ENV_HOST_OVERRIDE: Final = "BATON_SALESFORCE_HOST_OVERRIDE"
ENV_RATE_LIMIT: Final = "BATON_SALESFORCE_RATE_LIMIT"
ENV_TIMEOUT: Final = "BATON_SALESFORCE_TIMEOUT"
DEFAULT_RATE_LIMIT: Final = 600.0  # requests per minute (Baton's own client-side budget)
DEFAULT_TIMEOUT: Final = 30.0  # seconds, on every request (simple-salesforce sets none)
DEFAULT_DOMAIN: Final = "login"

# ---- confirmed: Salesforce REST API Developer Guide, simple-salesforce 1.12.10's source -------
# simple-salesforce builds every login URL as https://{domain}.salesforce.com/... (login.py:
# SOAP ``/services/Soap/u/{v}``, OAuth ``/services/oauth2/token``) and the JWT ``aud`` as
# ``https://{domain}.salesforce.com``; the instance URLs as ``https://{instance}``.
SALESFORCE_HOST_SUFFIX: Final = ".salesforce.com"
# Client credentials: simple-salesforce only takes it with a My Domain (``domain`` not in
# login/test); Salesforce's token URL for it is https://<MyDomain>.my.salesforce.com.
GENERIC_LOGIN_DOMAINS: Final = frozenset({"login", "test"})
# Composite (resources_composite_composite_post): ≤ 25 subrequests, one API call toward the
# limits, ``@{referenceId.field}`` references, ``allOrNone: true`` rolls every subrequest back;
# the top level answers 200 and each subrequest carries its own ``httpStatusCode`` and body.
# Subrequest ``httpHeaders`` may hold any header but Accept, Authorization and Content-Type.
COMPOSITE_PATH: Final = "/services/data/v{version}/composite"
COMPOSITE_MAX_SUBREQUESTS: Final = 25
# Upsert on an External ID (dome_upsert): no match → created (201, ``created: true``); one
# match → updated (200, ``created: false``); several → 300 and nothing written.
MULTIPLE_MATCHES_STATUS: Final = 300
# Assignment Rule header (headers_autoassign): default TRUE runs the active assignment rules,
# which may overwrite the OwnerId Baton set; FALSE (case-insensitive) does not.
AUTO_ASSIGN_HEADER: Final = "Sforce-Auto-Assign"
# Status codes and error responses (errorcodes): errors are a JSON array of
# ``{message, errorCode, fields}``; 401 = session expired or invalid (INVALID_SESSION_ID);
# 403 = refused (permissions), also the API request limit (REQUEST_LIMIT_EXCEEDED).
INVALID_SESSION_ID: Final = "INVALID_SESSION_ID"
REQUEST_LIMIT_EXCEEDED: Final = "REQUEST_LIMIT_EXCEEDED"
LIMIT_INFO_HEADER: Final = "Sforce-Limit-Info"  # "api-usage=18/5000"
# sObject Get Deleted (resources_getdeleted): ``/sobjects/Case/deleted/?start=&end=`` answers
# ``{deletedRecords: [{id, deletedDate}], earliestDateAvailable, latestDateCovered}`` for no
# more than 15 days before the day of the call.
DELETED_MAX_DAYS: Final = 15
# The org's datetimes come as ``2024-01-02T03:04:05.000+0000``; SOQL datetime literals are
# unquoted ``2024-01-02T03:04:05Z``.
CASE_COMMENT: Final = "CaseComment"
LIGHTNING_CASE_URL: Final = "{instance}/lightning/r/Case/{id}/view"
# Case fields a disposition reads (SOQL and Outbound Messages give the same names).
CASE_ID: Final = "Id"
CASE_STATUS: Final = "Status"
CASE_OWNER: Final = "OwnerId"
CASE_IS_CLOSED: Final = "IsClosed"
CASE_CLOSED_DATE: Final = "ClosedDate"
CASE_CREATED_DATE: Final = "CreatedDate"
CASE_MODSTAMP: Final = "SystemModstamp"
CASE_LAST_MODIFIED: Final = "LastModifiedDate"
QUEUE_ID_PREFIX: Final = "00G"  # Group (queue) ids; users are 005…
USER_ID_PREFIX: Final = "005"
SYNC_PAGE_LIMIT: Final = 2_000  # rows per keyset query (one query batch holds ≤ 2,000)
# Used when no mapping is loaded or a status is missing from its ``dispositions:`` table; a
# status neither knows becomes ``resolved`` when the case IsClosed, else ``open``.
DEFAULT_STATUSES: Final[dict[str, Outcome]] = {
    "New": "open",
    "Working": "open",
    "Escalated": "open",
    "Closed": "resolved",
}

# CaseComment (Object Reference): ParentId, IsPublished, CommentBody, CreatedDate, CreatedById.
# IsPublished: "visible to customers in the Self-Service portal"; "In the Salesforce user
# interface, comments are generally entered by Users working on a Case" (Object Reference,
# CaseComment, Usage). A child-to-parent relationship is read with the dot operator in SELECT
# and WHERE, the relationship name being the foreign key's without "Id" (SOQL and SOSL
# Reference, "Understanding Relationship Names": CreatedById → CreatedBy); REST answers it as
# a nested record ``{"attributes": {...}, "Name": ...}`` (null when the reference is).
# User.UserType (Object Reference, User; quoted on salesforce.stackexchange.com/questions/3889):
# "Standard" is an internal user (Salesforce, Salesforce Platform licences); PowerPartner,
# CSPLitePortal, CustomerSuccess, PowerCustomerSuccess are partner and customer portal users,
# CsnOnly Chatter Free, Guest a site's guest user. So a reply by "a person working the case" is
# a published comment whose CreatedBy.UserType is Standard.
COMMENT_ID: Final = "Id"
COMMENT_PARENT: Final = "ParentId"
COMMENT_BODY: Final = "CommentBody"
COMMENT_CREATED_BY: Final = "CreatedBy"
COMMENT_AUTHOR_NAME: Final = "CreatedBy.Name"
COMMENT_AUTHOR_TYPE: Final = "CreatedBy.UserType"
COMMENT_AUTHOR_USERNAME: Final = "CreatedBy.Username"
STAFF_USER_TYPE: Final = "Standard"
# CaseHistory (Object Reference): read-only, query()-able; CaseId, Field (the case field's name
# or a special value), OldValue/NewValue (anyType, ≤ 255 characters), CreatedDate. "Two rows are
# added to this record when foreign key fields change": one with the names, one with the ids.
HISTORY_STATUS: Final = "Status"

# ---- UNCONFIRMED assumptions: not checked against Salesforce's reference; correct them here --
# INACTIVE_OWNER_OR_USER is the code for an inactive user as owner (seen in Salesforce help
# articles, e.g. knowledge article 000205862, not in the REST reference). A deleted or unknown
# queue/user in OwnerId is assumed to come as INVALID_CROSS_REFERENCE_KEY or
# FIELD_INTEGRITY_EXCEPTION naming only ``OwnerId`` in ``fields``.
INACTIVE_OWNER: Final = "INACTIVE_OWNER_OR_USER"
OWNER_REFUSED_CODES: Final = frozenset({"INVALID_CROSS_REFERENCE_KEY", "FIELD_INTEGRITY_EXCEPTION"})
# With allOrNone, the subrequests that did not fail answer PROCESSING_HALTED (not the cause).
PROCESSING_HALTED: Final = "PROCESSING_HALTED"
# REQUEST_LIMIT_EXCEEDED is a rolling 24-hour allowance (or a concurrency limit): Salesforce
# sends no Retry-After; Baton waits this long before the next try.
REQUEST_LIMIT_RETRY_AFTER: Final = 900.0
# A warning is logged once when Sforce-Limit-Info shows this share of the daily allowance used.
API_USAGE_WARNING: Final = 0.9
# SystemModstamp values carry whole seconds in practice (".000"); fractional seconds are kept
# in SOQL literals when present.
# The deleted/ resource ignores seconds and needs end > start; Baton asks from the last
# window's end (at most 15 days back, less a minute) to now.
# sObject Collections (REST guide, "sObject Collections"): up to 200 records a call, create
# (POST /composite/sobjects) and upsert on an external id (PATCH /composite/sobjects/<type>/
# <field>), per-record results ``{id, success, errors: [{statusCode, message, fields}],
# created}`` with ``allOrNone`` false.
COLLECTION_MAX_RECORDS: Final = 200
# An insert whose Unique (External ID) field value another record holds (REST guide, "Status
# Codes and Error Responses"; the sandbox's UNCONFIRMED list has the exact message).
DUPLICATE_VALUE: Final = "DUPLICATE_VALUE"
# CaseHistory: an OwnerId change is recorded under Field 'Owner' (the API name without "Id");
# rows exist only for fields with Field History Tracking on; an org without it (or a user who
# may not read it) answers the query INVALID_TYPE (or INVALID_FIELD). Rows at the case's own
# CreatedDate (assignment at insert) are not transfers.
HISTORY_OWNER: Final = "Owner"
HISTORY_REFUSED_CODES: Final = frozenset({"INVALID_TYPE", "INVALID_FIELD"})
# Ids per CaseComment/CaseHistory query: a GET query's URL stays well under the REST API's URI
# length limit (16,384 bytes, from community answers) at 200 quoted ids.
ACTIVITY_IDS_PER_QUERY: Final = 200
# A published CaseComment counts toward ``public_replies`` and first response whoever wrote it
# (Baton's note is always private); only staff's become a ``ticket.replied`` (below).
# Replies (replies.py): UNCONFIRMED
# - Inserting a CaseComment updates its Case's SystemModstamp (the sandbox does so), so the
#   sync's keyset query over Case brings the case, and its new comment, in the next run. If an
#   org does not, a reply waits for the next change of its case.
# - No webhook for a reply: Outbound Messages are workflow/flow actions on one object (Baton's
#   is on Case). Whether a record-triggered flow on CaseComment can send an Outbound Message
#   defined on CaseComment was not confirmed; Baton does not ask for one. Replies arrive with
#   the next `baton sync` run (the gap: up to one sync interval).
# - The Automated Process user and integration users with a Salesforce Integration licence are
#   assumed not to be "Standard"; an integration running as a Standard user that publishes
#   comments would be told as a person's reply (Baton's own user is left out by its username
#   when the settings name it: JWT bearer and password logins; not with client credentials).
# - Customers replying by e-mail (Email-to-Case) write EmailMessage rows, not CaseComments: not
#   read, so not told; FeedItem posts (Case Feed) are not read either.
