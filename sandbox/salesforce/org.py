"""The org behind the Salesforce sandbox: its records, users and queues, how it is seeded from a
catalog, its sessions and API usage, and snapshots for all-or-none rollback."""

from __future__ import annotations

import copy
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from baton.core.catalog import Catalog
from baton.sandbox.clock import Clock, OffsetClock, utcnow
from baton.sandbox.faults import FaultQueue
from baton.sandbox.requestlog import DEFAULT_CAPACITY, RequestLog
from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.errors import SalesforceError, refused
from baton.sandbox.salesforce.ids import IdMaker, key, to18
from baton.sandbox.salesforce.schema import (
    FieldSpec,
    case_fields,
    comment_fields,
    group_fields,
    history_fields,
    user_fields,
)

Json = dict[str, Any]
DEFAULT_EXTERNAL_ID = "Baton_Handoff_Id__c"
DEFAULT_API_VERSION = "61.0"
DEFAULT_DAILY_LIMIT = 100_000


@dataclass
class Session:
    """An access token's session: whose it is and when it was last used."""

    user_id: str
    last_used: datetime


@dataclass
class Cursor:
    """A query's remaining rows, for ``nextRecordsUrl``."""

    rows: list[Json]
    batch: int
    touched: datetime


class Org:
    """An org's records, ids, clock, lock, sessions and API usage; the base of the sandbox."""

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        clock: Clock = utcnow,
        time_factor: float = 1.0,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
        external_id_field: str = DEFAULT_EXTERNAL_ID,
        external_id_unique: bool = True,
        client_id: str = "baton-sandbox-consumer-key",
        client_secret: str = "baton-sandbox-consumer-secret",  # noqa: S107 - a sandbox's
        jwt_public_key: str | None = None,
        instance_url: str = "https://baton-sandbox.my.salesforce.com",
        api_username: str = "baton-integration@baton-sandbox.example",
        assignment_queue: str | None = None,
        request_log_size: int = DEFAULT_CAPACITY,
        tracked_fields: tuple[str, ...] = facts.HISTORY_TRACKED_FIELDS,
    ) -> None:
        self.clock = OffsetClock(clock)
        self.time_factor = time_factor
        self.lock = threading.RLock()
        self.ids = IdMaker()
        self.faults = FaultQueue()
        self.request_log = RequestLog(self.clock, request_log_size)
        self.organization_id = to18(facts.ORG_PREFIX + "5g00000BAT0N")
        self.instance_url = instance_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwt_public_key = jwt_public_key
        self.jwt_audiences = list(facts.JWT_AUDIENCES)
        self.daily_limit = daily_limit
        self.external_id_field = external_id_field
        self.external_id_unique = external_id_unique
        self.case_fields: dict[str, FieldSpec] = case_fields(catalog, external_id_field)
        self.schemas: dict[str, dict[str, FieldSpec]] = {
            "Case": self.case_fields,
            "CaseComment": comment_fields(),
            "CaseHistory": history_fields(),
            "Group": group_fields(),
            "User": user_fields(),
        }
        self.records: dict[str, dict[str, Json]] = {name: {} for name in self.schemas}
        self.deleted: list[tuple[str, str, datetime]] = []  # (object, id, when)
        # Field History Tracking on Case: the fields whose changes write CaseHistory rows
        # ("Status", "Owner"); empty as in an org where nobody turned it on.
        self.tracked_fields = frozenset(tracked_fields)
        self.sessions: dict[str, Session] = {}
        self.cursors: dict[str, Cursor] = {}
        self.usage_day: str | None = None
        self.usage = 0
        self.case_numbers = 0
        self.pending_changes: list[str] = []  # case ids changed by the request under way
        self.api_user = self.add_user(None, "Baton Integration", api_username, api_username)
        self.assignment_owner = (
            None if assignment_queue is None else self.queue_by_name(assignment_queue)
        )

    # ---- seeding ---------------------------------------------------------------------------

    @classmethod
    def from_catalog(cls, catalog: Catalog, **options: Any) -> Self:
        """An org seeded with the catalog's picklists, custom fields, queues and users (ids
        kept as the catalog has them, so a mapping's resolved OwnerIds are the org's)."""
        org = cls(catalog, **{k: v for k, v in options.items() if k != "assignment_queue"})
        for group in catalog.groups:
            org.add_queue(str(group.id), group.name)
        api = org.records["User"].pop(key(org.api_user))  # seeded ids may take its id
        for user in catalog.users:
            org.add_user(str(user.id), user.name, user.email, user.email or user.name)
        org.api_user = org.add_user(None, api["Name"], api["Email"], api["Username"])
        queue = options.get("assignment_queue")
        org.assignment_owner = None if queue is None else org.queue_by_name(queue)
        return org

    def add_queue(self, queue_id: str | None, name: str) -> str:
        """A queue (a Group with Type 'Queue'); returns its id."""
        with self.lock:
            record_id = queue_id or self.ids.new(facts.QUEUE_PREFIX)
            now = self.clock()
            developer = "".join(c if c.isalnum() else "_" for c in name).strip("_")
            self.records["Group"][key(record_id)] = {
                "Id": record_id,
                "Name": name,
                "DeveloperName": developer,
                "Type": "Queue",
                "Email": None,
                "CreatedDate": now,
                "SystemModstamp": now,
            }
            return record_id

    def add_user(
        self,
        user_id: str | None,
        name: str,
        email: str | None,
        username: str,
        user_type: str = facts.STANDARD_USER_TYPE,
    ) -> str:
        """An active user (an internal one unless ``user_type`` says otherwise: a portal
        customer is ``CSPLitePortal``, …); returns its id."""
        if user_type not in facts.USER_TYPES:
            raise refused(
                {"errorCode": facts.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, "message": "UserType"}
            )
        with self.lock:
            record_id = user_id or self.ids.new(facts.USER_PREFIX, self.records["User"])
            now = self.clock()
            self.records["User"][key(record_id)] = {
                "Id": record_id,
                "Name": name,
                "Username": username,
                "Email": email,
                "IsActive": True,
                "UserType": user_type,
                "CreatedDate": now,
                "SystemModstamp": now,
            }
            return record_id

    def queue_by_name(self, name: str) -> str:
        """The id of the queue called ``name`` (any case); KeyError if there is none."""
        with self.lock:
            for queue in self.records["Group"].values():
                if queue["Name"].casefold() == name.casefold() or queue["Id"] == name:
                    return str(queue["Id"])
        raise KeyError(name)

    def user_by_name(self, name: str) -> str:
        """The id of the user with that name, email, username or id; KeyError if none."""
        wanted = name.strip().casefold()
        with self.lock:
            for user in self.records["User"].values():
                known = (user["Name"], user["Email"] or "", user["Username"], user["Id"])
                if wanted in (value.casefold() for value in known):
                    return str(user["Id"])
        raise KeyError(name)

    def record(self, sobject: str, record_id: str) -> Json | None:
        """A live record by 15- or 18-character id (case-sensitive on the first 15)."""
        return self.records[sobject].get(key(record_id))

    # ---- sessions and usage ----------------------------------------------------------------

    def open_session(self, user_id: str) -> str:
        """A new access token for ``user_id``."""
        token = f"{self.organization_id[:15]}!{secrets.token_urlsafe(48)}"
        with self.lock:
            self.sessions[token] = Session(user_id, self.clock())
        return token

    def check_session(self, authorization: str | None) -> str:
        """The user of a ``Bearer`` (or ``OAuth``) token; 401 INVALID_SESSION_ID otherwise."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        with self.lock:
            session = self.sessions.get(token.strip())
            now = self.clock()
            if scheme.lower() not in ("bearer", "oauth") or session is None:
                raise refused(facts.INVALID_SESSION, 401)
            if now - session.last_used > facts.SESSION_TIMEOUT:
                del self.sessions[token.strip()]
                raise refused(facts.INVALID_SESSION, 401)
            session.last_used = now
            return session.user_id

    def expire_sessions(self) -> int:
        """End every session (as a timeout or an admin would); how many there were."""
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
            return count

    def count_request(self) -> tuple[bool, str]:
        """Count an API request against the daily limit: (allowed, Sforce-Limit-Info value)."""
        with self.lock:
            day = self.clock().date().isoformat()
            if day != self.usage_day:
                self.usage_day, self.usage = day, 0
            allowed = self.usage < self.daily_limit
            if allowed:
                self.usage += 1
            return allowed, f"api-usage={self.usage}/{self.daily_limit}"

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` value now."""
        with self.lock:
            return f"api-usage={self.usage}/{self.daily_limit}"

    # ---- all or none -----------------------------------------------------------------------

    def snapshot(self) -> Json:
        """The writable state, to restore when an all-or-none request fails."""
        with self.lock:
            return copy.deepcopy(
                {
                    "records": {n: self.records[n] for n in ("Case", "CaseComment", "CaseHistory")},
                    "deleted": self.deleted,
                    "case_numbers": self.case_numbers,
                    "pending": self.pending_changes,
                }
            )

    def restore(self, snap: Json) -> None:
        """Put back what ``snapshot`` took (ids handed out meanwhile stay used)."""
        with self.lock:
            self.records.update(copy.deepcopy(snap["records"]))
            self.deleted = copy.deepcopy(snap["deleted"])
            self.case_numbers = snap["case_numbers"]
            self.pending_changes = list(snap["pending"])

    def take_changes(self) -> list[str]:
        """The case ids changed since the last call (for the Outbound Messages)."""
        with self.lock:
            changed, self.pending_changes = self.pending_changes, []
            return changed

    def check_external_id_field(self, sobject: str, field_name: str) -> FieldSpec:
        """The spec of an External ID field of ``sobject``; 404 NOT_FOUND if it is not one."""
        spec = self.schemas.get(sobject, {}).get(field_name)
        if spec is None or not spec.external_id:
            raise SalesforceError(404, [dict(facts.NOT_FOUND)])
        return spec
