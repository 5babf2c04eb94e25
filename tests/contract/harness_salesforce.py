"""The contract harness of Salesforce: its sandbox on a manual clock and the connector on it.

Outbound Messages are unsigned SOAP: Salesforce proves them by nothing but the URL it posts to
(Baton's receiver URL ends in a secret path segment) and the ``OrganizationId`` inside. So the
signature properties are opt-outs here, and every webhook the suite posts goes to
``/webhooks/salesforce/<secret>`` (``webhook_path``). The helpers use the sandbox's own state
and envelope (``baton.sandbox.salesforce``), never the connector's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from baton.connectors.base import connector_for
from baton.connectors.salesforce import facts
from baton.connectors.salesforce.local import (
    BAD,
    GOOD,
    LocalSalesforce,
)
from baton.core.catalog import load_catalog
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.core.mapping.note import carries_note_marker
from baton.core.ports import Connector
from baton.core.store import Store
from baton.core.sync import SyncSummary, run_sync
from baton.sandbox.clock import ManualClock
from baton.sandbox.faults import Fault, FaultKind
from baton.sandbox.salesforce import SalesforceSandbox, SalesforceState
from baton.sandbox.salesforce import facts as sandbox_facts
from tests.contract.harness import (
    Harness,
    Landed,
    ReceivedWebhook,
    SignatureVector,
    StatusEvent,
    control,
)
from tests.contract.salesforce_outbound import (
    CONTENT_TYPE,
    AckingReceiver,
    notification_id,
    status_envelope,
)
from tests.support.paths import MAPPINGS

PLATFORM = facts.PLATFORM
COMPOSITE_PATH = r"^/services/data/v\d+\.\d+/composite$"
COMMENT_PATH = r"^/services/data/v\d+\.\d+/sobjects/CaseComment$"
QUERY_PATH = re.compile(r"^/services/data/v\d+\.\d+/query/?$")
NOT_CASE_FIELDS = {"Subject", "Description", "Priority", "OwnerId"}  # compared on their own
UNSIGNED = "Outbound Messages are unsigned SOAP"
REPLACED = (
    "replaced by the secret-path and organisation-id checks (A5 here posts to the secret "
    "path; test_salesforce_connector.py::test_outbound_message_needs_the_secret_path_and_the_org)"
)
SALESFORCE_OPT_OUTS: Mapping[str, str] = {
    "A1": f"{UNSIGNED}: no signature or timestamp header to break; {REPLACED}",
    "A3": f"{UNSIGNED}: no known-answer signature vector; {REPLACED}",
    "A4": f"{UNSIGNED}: no signed timestamp, so no window; {REPLACED}",
    "A6": f"{UNSIGNED}: no signing secret to rotate (the secret path segments rotate); {REPLACED}",
    "O7-note": "a first attempt sends the CaseComment inside the create's one allOrNone "
    "/composite call: no separate note request to lose an answer of",
    "S4": "SOQL answers are empty only when done (nextRecordsUrl only while rows remain) and a "
    "run ends with the deleted/ page: no empty not-last page exists to inject",
    "B1-reply-webhook": "no Outbound Message carries a CaseComment (they are set up on Case): "
    "a reply reaches Baton with the sync run that reads its case (B1-reply)",
    "S1-page": "needs S4's injected empty page of one-row pages; SOQL batches are 200-2,000 "
    "rows, so a few cases are one page (keyset resume is covered by S1 and S3)",
}


@dataclass
class SalesforceHarness:
    """The Salesforce sandbox on a manual clock and the Salesforce connector pointed at it."""

    local: LocalSalesforce
    clock: ManualClock
    mapping: CompiledMapping
    env: dict[str, str]
    connector: Connector = field(init=False)
    state: SalesforceState = field(init=False)
    platform: str = PLATFORM
    mappings_dir: Path = MAPPINGS
    signature_header: str | None = None  # nothing is signed
    timestamp_header: str | None = None
    opt_outs: ClassVar[Mapping[str, str]] = SALESFORCE_OPT_OUTS
    _connectors: list[Connector] = field(default_factory=list)
    _receiver: AckingReceiver | None = None
    _users: dict[str, str] = field(default_factory=dict)  # user type → a user added for it

    def __post_init__(self) -> None:
        self.state = self.local.state
        self.connector = self.new_connector()

    @property
    def known_answer(self) -> SignatureVector:
        """None: Salesforce signs nothing (A3 is an opt-out)."""
        raise NotImplementedError(SALESFORCE_OPT_OUTS["A3"])

    @property
    def webhook_path(self) -> str:
        """Baton's receiver path with the secret segment the Outbound Message is set up with."""
        return f"/webhooks/{PLATFORM}/{self.local.webhook_path}"

    def new_connector(self, **env: str) -> Connector:
        """Another connector on the same sandbox (a second process, a restart)."""
        connector = connector_for(PLATFORM, self.mapping, {**self.env, **env})
        self._connectors.append(connector)
        return connector

    def connector_with_bad_credentials(self) -> Connector:
        """A connector whose client secret the token endpoint refuses."""
        return self.new_connector(**{facts.ENV_CLIENT_SECRET: "not-the-sandbox-secret"})

    def connector_with_secrets(self, secrets: list[str]) -> Connector:
        """Never used: Salesforce opts out of A1, A3, A4 and A6 (nothing is signed)."""
        raise NotImplementedError(SALESFORCE_OPT_OUTS["A6"])

    def _cases(self, handoff_id: str) -> list[dict[str, Any]]:
        name = self.state.external_id_field
        with self.state.lock:
            return [
                dict(c) for c in self.state.records["Case"].values() if c.get(name) == handoff_id
            ]

    def ticket_count(self, handoff_id: str) -> int:
        """Live cases with the handoff in the external-id field."""
        return len(self._cases(handoff_id))

    def _comments(self, case_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            case = self.state.record("Case", case_id)
            assert case is not None, f"no case {case_id}"
            comments = [
                dict(c)
                for c in self.state.records["CaseComment"].values()
                if c["ParentId"] == case["Id"]
            ]
        return sorted(comments, key=lambda c: (c["CreatedDate"], c["Id"]))

    def landed(self, ticket_id: str) -> Landed:
        """The sandbox's case, reduced: OwnerId as the group, the tags field split, the other
        writable fields, the first CaseComment's IsPublished."""
        with self.state.lock:
            case = self.state.record("Case", ticket_id)
            assert case is not None, f"no case {ticket_id}"
            case = dict(case)
            specs = dict(self.state.case_fields)
        comments = self._comments(ticket_id)
        return Landed(
            group=_text(case.get("OwnerId")),
            priority=case.get("Priority"),
            tags=self._tags(case),
            fields={
                name: _value(value)
                for name, value in case.items()
                if value is not None
                and name in specs
                and specs[name].createable
                and name not in self._compared_alone()
            },
            note_private=bool(comments) and comments[0]["IsPublished"] is False,
            external_id=case.get(self.state.external_id_field),
        )

    def expected(self, handoff: Handoff) -> Landed:
        """The mapping's case upsert and CaseComment, reduced."""
        upsert, comment = plan_requests(self.mapping, handoff).requests
        case: dict[str, Any] = dict(upsert.json)
        external_id = upsert.path.rpartition("/")[2]
        return Landed(
            group=_text(case.get("OwnerId")),
            priority=case.get("Priority"),
            tags=self._tags(case),
            fields={
                name: _value(value)
                for name, value in case.items()
                if value is not None and name not in self._compared_alone()
            },
            note_private=comment.json["IsPublished"] is False,
            external_id=external_id if external_id else None,
        )

    def _compared_alone(self) -> set[str]:
        supplied = {"SuppliedName", "SuppliedEmail", "SuppliedPhone"}
        return {
            *NOT_CASE_FIELDS,
            *supplied,
            self.mapping.tags_field or "",
            self.state.external_id_field,
        }

    def _tags(self, case: Mapping[str, Any]) -> frozenset[str]:
        """Salesforce has no tags: the mapping's tags field, split (none without one)."""
        if self.mapping.tags_field is None:
            return frozenset()
        text = str(case.get(self.mapping.tags_field) or "")
        return frozenset(t.lower() for t in re.split(r"[;,\s]+", text) if t)

    def inject(self, fault: Fault) -> None:
        """Queue a fault in the sandbox."""
        self.state.faults.add(fault)

    def create_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /services/data/vXX.X/composite`` (the case upsert and its note)."""
        return Fault(kind=kind, method="POST", path_regex=COMPOSITE_PATH, **options)

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /services/data/vXX.X/sobjects/CaseComment`` (a retry's separate
        note; a first attempt sends the note in the composite, so O7-note is an opt-out)."""
        return Fault(kind=kind, method="POST", path_regex=COMMENT_PATH, **options)

    def baton_notes(self, ticket_id: str) -> int:
        """CaseComments carrying the marker of the case's handoff."""
        with self.state.lock:
            case = self.state.record("Case", ticket_id)
            assert case is not None, f"no case {ticket_id}"
            handoff_id = str(case.get(self.state.external_id_field) or "")
        bodies = [str(c.get("CommentBody") or "") for c in self._comments(ticket_id)]
        return sum(carries_note_marker(body, handoff_id) for body in bodies)

    def note_reads(self) -> int:
        """SOQL reads of CaseComment (``GET …/query?q=… FROM CaseComment …``)."""
        reads = 0
        for entry in self.state.request_log.entries():
            if entry.method != "GET" or not QUERY_PATH.match(entry.path):
                continue
            query = " ".join(parse_qs(entry.query).get("q", []))
            reads += re.search(r"\bFROM\s+CaseComment\b", query, re.IGNORECASE) is not None
        return reads

    def duplicate_ticket(self, handoff_id: str) -> None:
        """A second case with the same external id, inserted behind the API (as an admin's
        data load with the field's uniqueness off would): the upsert now matches two → 300."""
        with self.state.lock:
            unique = self.state.external_id_unique
            self.state.external_id_unique = False
            try:
                values = {"Subject": "duplicate", self.state.external_id_field: handoff_id}
                self.state.create_case(values, assign=False)
            finally:
                self.state.external_id_unique = unique
            self.state.commit()

    def solve(self, ticket_id: str) -> None:
        """An agent closes the case."""
        self.state.set_status(ticket_id, "Closed")

    def reopen(self, ticket_id: str) -> None:
        """The case is open again."""
        self.state.reopen(ticket_id)

    def reply(self, ticket_id: str) -> None:
        """A public CaseComment by the case's owner."""
        self.state.comment(ticket_id, "Looking into it now.", public=True)

    def _user(self, user_type: str) -> str:
        """The id of a user of ``user_type`` the control API added (once per type)."""
        if user_type not in self._users:
            body = {"name": f"Contract {user_type} User", "user_type": user_type}
            self._users[user_type] = control(self.local.base_url, "users", body)["id"]
        return self._users[user_type]

    def _comment(self, ticket_id: str, text: str, public: bool, user_type: str) -> None:
        body = {"body": text, "public": public, "author": self._user(user_type)}
        control(self.local.base_url, f"cases/{ticket_id}/comment", body)

    def public_reply(self, ticket_id: str, text: str) -> None:
        """A published CaseComment by an internal (``Standard``) user."""
        self._comment(ticket_id, text, True, sandbox_facts.STANDARD_USER_TYPE)

    def private_note(self, ticket_id: str, text: str) -> None:
        """An unpublished CaseComment by an internal user."""
        self._comment(ticket_id, text, False, sandbox_facts.STANDARD_USER_TYPE)

    def customer_message(self, ticket_id: str, text: str) -> None:
        """A published CaseComment by a portal customer (``CSPLitePortal``)."""
        self._comment(ticket_id, text, True, "CSPLitePortal")

    def heal_replies(self, store: Store, *, since: datetime, job: str) -> SyncSummary:
        """A sync run: its pages carry the cases' published CaseComments."""
        self.settle()
        return run_sync(store, self.connector, name=job, since=since)

    def rate(self, ticket_id: str, good: bool) -> None:
        """The CSAT custom field (Salesforce has no standard one)."""
        csat = self.connector_csat_field()
        self.state.rate(ticket_id, GOOD if good else BAD, csat)

    def connector_csat_field(self) -> str:
        """The mapping's CSAT field."""
        spec = self.mapping.spec
        csat = getattr(spec, "csat_field", None)
        assert isinstance(csat, str), "the Salesforce mapping names no csat_field"
        return csat

    def reassign(self, ticket_id: str) -> None:
        """To the first other queue."""
        with self.state.lock:
            case = self.state.record("Case", ticket_id)
            assert case is not None, f"no case {ticket_id}"
            current = str(case["OwnerId"])[:15]
            other = next(
                str(g["Id"])
                for g in self.state.records["Group"].values()
                if str(g["Id"])[:15] != current
            )
        self.state.transfer(ticket_id, other)

    def delete(self, ticket_id: str) -> None:
        """Delete the case (``sobjects/Case/deleted`` shows it)."""
        self.state.delete(ticket_id)

    def now(self) -> datetime:
        """The sandbox's manual clock."""
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Move the manual clock."""
        self.clock.advance(seconds)

    def settle(self) -> None:
        """SOQL hides no recent change: a second is enough."""
        self.clock.advance(1)

    def inject_empty_export_page(self, resume_page_size: int) -> None:
        """Never used: Salesforce opts out of ``S4`` and ``S1-page``."""
        raise NotImplementedError(SALESFORCE_OPT_OUTS["S4"])

    def signed_webhook_from_sandbox(self, action: Callable[[], object]) -> list[ReceivedWebhook]:
        """Subscribe a receiver (once, through the control API, under the secret path), run
        ``action``, return the Outbound Messages the sandbox sent (they are not signed)."""
        if self._receiver is None:
            self._receiver = AckingReceiver()
            self.local.send_webhooks_to(self._receiver.url)
        self._receiver.received.clear()
        action()
        assert self.state.outbound.wait_idle(timeout=10), "the sandbox did not deliver in time"
        return list(self._receiver.received)

    def event_id(self, label: str, ticket_id: str) -> str:
        """A Notification Id (an 18-character Salesforce id) standing for ``label``."""
        return notification_id(label)

    def webhook_body(self, events: Sequence[StatusEvent]) -> bytes:
        """One SOAP ``notifications`` envelope built the sandbox's way (Salesforce batches up
        to 100), each Notification the sandbox's case with the event's Status and time."""
        return status_envelope(self.state, self.mapping, events)

    def sign(self, body: bytes, at: datetime, secret: str | None = None) -> dict[str, str]:
        """No signature: only the headers the sandbox's Outbound Messages carry."""
        if secret is not None:
            raise NotImplementedError(SALESFORCE_OPT_OUTS["A6"])
        return {"Content-Type": CONTENT_TYPE, "SOAPAction": sandbox_facts.OM_SOAP_ACTION}

    def close(self) -> None:
        """Close every connector and the receiver."""
        for connector in self._connectors:
            connector.close()
        if self._receiver is not None:
            self._receiver.stop()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _value(value: Any) -> str:
    return (
        str(float(value))
        if isinstance(value, int | float) and not isinstance(value, bool)
        else str(value)
    )


@contextmanager
def salesforce_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The Salesforce sandbox (seeded from the shipped catalog) and a connector built from
    ``LocalSalesforce.env``."""
    catalog = load_catalog(MAPPINGS / "catalogs" / "salesforce.json")
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5))
    state = SalesforceState.from_catalog(
        catalog, clock=clock, time_factor=1000.0, daily_limit=10**9
    )
    with SalesforceSandbox(state) as sandbox:
        local = LocalSalesforce(sandbox, secrets.token_urlsafe(24))
        env = {
            **local.env,
            facts.ENV_RATE_LIMIT: "60000",
            facts.ENV_TIMEOUT: "5",
        }
        harness = SalesforceHarness(local, clock, load_mapping(MAPPINGS, PLATFORM), env)
        try:
            yield harness
        finally:
            harness.close()
            local.stop()
