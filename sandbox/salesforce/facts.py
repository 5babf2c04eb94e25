"""Salesforce facts the sandbox emulates: limits, headers, error codes and messages, formats.

Each confirmed fact names the Salesforce page it comes from (REST API Developer Guide unless
said otherwise). Whatever could not be confirmed is in the UNCONFIRMED block at the end: correct
it there when the documentation says otherwise, and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta

# ---- identifiers ----------------------------------------------------------------------------
# 15-character case-sensitive ids get a 3-character case-insensitive suffix: split the 15 into
# three chunks of 5, in each chunk set bit i when character i is an uppercase letter, and pick
# the bit pattern's character from A-Z0-5 (CASESAFEID; the algorithm and the known pairs in the
# tests are from public write-ups of it: codegolf.stackexchange.com/questions/69127,
# gammone.com "how to convert salesforce id from 15 to 18 chars").
ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
CASE_PREFIX = "500"  # Case
USER_PREFIX = "005"  # User
QUEUE_PREFIX = "00G"  # Group (queues are Groups with Type = 'Queue')
ORG_PREFIX = "00D"  # Organization
QUERY_LOCATOR_PREFIX = (
    "01g"  # "nextRecordsUrl": "/services/data/v65.0/query/01gRO0000016PIAYA2-500"
)

# ---- REST API -------------------------------------------------------------------------------
LIMIT_INFO_HEADER = (
    "Sforce-Limit-Info"  # "api-usage=18/5000" on every REST response (headers_api_usage)
)
AUTO_ASSIGN_HEADER = "Sforce-Auto-Assign"  # TRUE (default) | FALSE | an AssignmentRule id;
# "TRUE and FALSE are not case-sensitive"; applied on create and update (headers_autoassign)
QUERY_BATCH_MAX = 2000  # "up to 2,000 records can be returned at a time" (resources_query)
COMPOSITE_MAX_SUBREQUESTS = 25  # "up to 25 subrequests in a single call" (composite)
COLLECTION_MAX_RECORDS = 200  # "The list can contain up to 200 objects." (sObject Collections)
DELETED_MAX_DAYS_BACK = 15  # "no more than 15 days previous to the day the call is executed"
# (resources_getdeleted); the answer is {deletedRecords: [{id, deletedDate}],
# earliestDateAvailable, latestDateCovered} (dome_get_deleted).
UPSERT_CREATED_SINCE = 46.0  # "created" is in the upsert answer from API version 46.0 (dome_upsert)
NOT_FOUND = {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
# ^ the answer to an upsert on a field that is not an external id (dome_upsert, "Incorrect
# external ID field"), and to an unknown record or resource.
INVALID_SESSION = {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
# ^ 401 (status codes and error responses; the body as quoted on salesforce.stackexchange
# 212976). Sessions expire after inactivity, 120 minutes by default, each call resetting the
# timer (SOAP API "Error Handling for Session Expiration").
SESSION_TIMEOUT = timedelta(minutes=120)
RESTRICTED_PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
RESTRICTED_PICKLIST_MESSAGE = "{field}: bad value for restricted picklist field: {value}"
MALFORMED_QUERY = "MALFORMED_QUERY"  # "If the SOQL query string is invalid" (resources_query)
COMMENT_MAX_BYTES = 4000  # CaseComment.CommentBody (Object Reference, CaseComment)
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32000
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.{ms}+0000"  # "2013-05-20T20:49:32.000+0000" (examples)

# ---- OAuth 2.0 (help.salesforce.com remoteaccess_oauth_*; simple-salesforce 1.12 login.py) -----
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# JWT claims: iss = the connected app's consumer key, sub = the username, aud = the
# authorization server (https://login.salesforce.com, https://test.salesforce.com, or an
# Experience Cloud site), exp = expiry; signed RS256 with the key of the certificate uploaded to
# the connected app. Errors are {"error", "error_description"} with 400 (RFC 7523 / the help
# page "OAuth 2.0 Authorization Errors"); "audience is invalid" quoted by useparagon.com.
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
AUDIENCE_INVALID = {"error": "invalid_grant", "error_description": "audience is invalid"}
USER_NOT_APPROVED = {
    "error": "invalid_grant",
    "error_description": "user hasn't approved this consumer",
}  # the message simple-salesforce's login.py looks for

# ---- Outbound Messages (SOAP API guide, "Understanding the Outbound Messaging WSDL") ----------
OM_NAMESPACE = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NAMESPACE = "urn:sobject.enterprise.soap.sforce.com"
SOAP_ENV_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
OM_MAX_NOTIFICATIONS = 100  # <element name="Notification" maxOccurs="100" …>
# notifications: OrganizationId, ActionId, SessionId (nillable), EnterpriseUrl, PartnerUrl,
# Notification {Id, sObject}; the listener answers notificationsResponse {Ack: boolean}; only the
# latest field values are sent; a message may arrive more than once; retried up to 24 hours.
OM_RETRY_FOR = timedelta(hours=24)

# ---- CaseHistory (Object Reference, CaseHistory) -------------------------------------------
# Read-only, query()-able: CaseId, Field (restricted picklist: the case field's name, or
# ownerAssignment/ownerAccepted/ownerEscalated/external), OldValue and NewValue (anyType, up to
# 255 characters), DataType, IsDeleted, plus the audit fields CreatedDate and CreatedById (field
# reference). "Two rows are added to this record when foreign key fields change. One row
# contains the foreign key object names that display in the online application ... The other
# row contains the actual foreign key ID that is only returned to and visible from the API."
HISTORY_VALUE_MAX = 255

# ---- UNCONFIRMED assumptions: not checked against Salesforce's docs; correct them here --------
# Upsert of an existing record: 200 with {id, success, errors, created: false} from 46.0 on
# (204 No Content before). The docs found settle 201 for a create and 300 for several matches.
UPSERT_UPDATED_STATUS = 200
UPSERT_UPDATED_STATUS_BEFORE_46 = 204
# 300's body: the matching records' URLs, a JSON array of strings.
# Ids: prefixes of records the docs never show.
CASE_COMMENT_PREFIX = "00a"
OUTBOUND_ACTION_PREFIX = "04k"  # an Outbound Message (workflow action) id
NOTIFICATION_PREFIX = "04l"  # a notification id
# Error codes and messages the sandbox uses that were not confirmed word for word.
INVALID_FIELD = "INVALID_FIELD"  # unknown field in a write, or in a SOQL query
INVALID_FIELD_MESSAGE = "No such column '{field}' on sobject of type {sobject}"
READ_ONLY_FIELD = "INVALID_FIELD_FOR_INSERT_UPDATE"
READ_ONLY_MESSAGE = (
    "Unable to create/update fields: {field}. Please check the security settings of this field"
    " and verify that it is read/write for your profile or permission set."
)
STRING_TOO_LONG = "STRING_TOO_LONG"
STRING_TOO_LONG_MESSAGE = "{label}: data value too large: {value} (max length={limit})"
DUPLICATE_VALUE = "DUPLICATE_VALUE"
DUPLICATE_VALUE_MESSAGE = "duplicate value found: {field} duplicates value on record with id: {id}"
REQUIRED_FIELD_MISSING = "REQUIRED_FIELD_MISSING"
MALFORMED_ID = "MALFORMED_ID"
INVALID_CROSS_REFERENCE_KEY = "INVALID_CROSS_REFERENCE_KEY"
INVALID_TYPE = "INVALID_TYPE"  # SOQL FROM an unknown object
JSON_PARSER_ERROR = "JSON_PARSER_ERROR"
INVALID_QUERY_LOCATOR = "INVALID_QUERY_LOCATOR"
QUERY_LOCATOR_TTL = timedelta(minutes=15)
REQUEST_LIMIT_EXCEEDED = {
    "message": "TotalRequests Limit exceeded.",
    "errorCode": "REQUEST_LIMIT_EXCEEDED",
}
# The daily limit is a rolling 24 hours; the sandbox counts per UTC day of its clock.
# Sforce-Query-Options: batchSize=N, N from 200 to 2000.
QUERY_OPTIONS_HEADER = "Sforce-Query-Options"
QUERY_BATCH_MIN = 200
# Composite: over 25 subrequests; collections: over 200 records.
TOO_MANY_SUBREQUESTS = {
    "message": "Limit Exceeded: Max Subrequests is 25",
    "errorCode": "INVALID_INPUT",
}
TOO_MANY_RECORDS = {
    "message": "Maximum number of records exceeded: 200",
    "errorCode": "EXCEEDED_ID_LIMIT",
}
# allOrNone rollback answers: composite subrequests and collection records not at fault.
PROCESSING_HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction failed.",  # noqa: E501
}
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",  # noqa: E501
    "fields": [],
}
# Collection results carry their errors as {statusCode, message, fields} (not errorCode).
# Deleted records: start older than 15 days, or end before start.
INVALID_REPLICATION_DATE = "INVALID_REPLICATION_DATE"
# Every catalog picklist is restricted (Salesforce restricts a picklist only when configured so).
ALL_PICKLISTS_RESTRICTED = True
# Catalog field types other than picklist/double/boolean become text(255).
CUSTOM_TEXT_LENGTH = 255
# OAuth: the messages for a wrong secret, a bad JWT signature, an expired JWT, a wrong issuer.
INVALID_CLIENT = {"error": "invalid_client", "error_description": "invalid client credentials"}
INVALID_ASSERTION = {"error": "invalid_grant", "error_description": "invalid assertion"}
EXPIRED_ASSERTION = {"error": "invalid_grant", "error_description": "expired authorization code"}
INVALID_CLIENT_ID = {"error": "invalid_client_id", "error_description": "client identifier invalid"}
UNSUPPORTED_GRANT = {
    "error": "unsupported_grant_type",
    "error_description": "grant type not supported",
}
# The token answer's signature: Base64 HMAC-SHA256 of id + issued_at keyed by the client secret;
# issued_at is epoch milliseconds as a string; the id URL is on login.salesforce.com.
IDENTITY_HOST = "https://login.salesforce.com"
# Outbound Messages: null fields are left out of the sObject; SOAPAction is ""; EnterpriseUrl and
# PartnerUrl are the instance's /services/Soap/c|u/<version>/<org id 15>; retries start 15 s
# apart and double up to 2 hours (tddprojects.atlassian.net notes say 30 s, 1 m, 2 m … 2 h).
OM_FIRST_RETRY_SECONDS = 15.0
OM_MAX_RETRY_SECONDS = 2 * 60 * 60.0
OM_SOAP_ACTION = '""'
# A collection upsert whose external id matches several records: that record's error code.
DUPLICATE_EXTERNAL_ID = "DUPLICATE_EXTERNAL_ID"
# ClosedDate is cleared when a case is reopened (IsClosed false).
# CaseHistory rows are written only for fields with Field History Tracking on (Setup, Case
# fields); the sandbox tracks Status and Owner unless told otherwise. A change of OwnerId is
# recorded under Field 'Owner' (two rows: DataType 'EntityId' with the ids, 'Text' with the
# names, one CreatedDate); the creation of a case writes one row with Field 'created' and no
# values; a case's owner set at insert (assignment rules included) writes no 'Owner' row.
# CaseHistory ids start with 017.
HISTORY_TRACKED_FIELDS = ("Status", "Owner")
HISTORY_CREATED = "created"
HISTORY_OWNER = "Owner"
HISTORY_ID_TYPE = "EntityId"
HISTORY_NAME_TYPE = "Text"
CASE_HISTORY_PREFIX = "017"
# User.UserType (Object Reference, User; the list quoted on salesforce.stackexchange.com
# /questions/3889): Standard (internal users), PowerPartner, CSPLitePortal, CustomerSuccess,
# PowerCustomerSuccess, CsnOnly, Guest. Relationship fields in SOQL (SOQL and SOSL Reference,
# "Understanding Relationship Names"): the foreign key's name without "Id", read with a dot, the
# REST answer nesting the parent record with its ``attributes`` (null when the key is null).
STANDARD_USER_TYPE = "Standard"
USER_TYPES = frozenset(
    {
        STANDARD_USER_TYPE,
        "PowerPartner",
        "CSPLitePortal",
        "CustomerSuccess",
        "PowerCustomerSuccess",
        "CsnOnly",
        "Guest",
    }
)
# UNCONFIRMED: the message for a relationship a query cannot follow, and the code for a UserType
# outside the list (the sandbox's users are seeded, not written through the API).
UNKNOWN_RELATIONSHIP_MESSAGE = (
    "Didn't understand relationship '{relation}' in field path. If you are attempting to use a"
    " custom relationship, be sure to append the '__r' after the custom relationship name."
)
INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
# UNCONFIRMED: inserting a CaseComment moves its Case's SystemModstamp (and LastModifiedDate), so
# the case shows in a keyset query on SystemModstamp (cases.py does so).
