"""The contract harness of HubSpot: its sandbox on a manual clock and the connector on it.

Webhooks are v3-signed JSON batches over the URL HubSpot calls: the suite's service runs on
the public base URL ``PUBLIC_URL``, and ``sign`` signs for it the sandbox's way
(``baton.sandbox.hubspot.signature_v3``). A status event is a ``ticket.propertyChange`` of
``hs_pipeline_stage``. The helpers use the sandbox's own state, never the connector's.

HubSpot's search paging carries no page size (the caller's ``limit`` sets it), so the empty
not-last page of S4 and S1-page is injected as a search answer whose ``paging.next.after`` is
0, and the connector's page limit is set to the size the property asks for.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from baton.connectors.base import connector_for
from baton.connectors.hubspot import facts
from baton.connectors.hubspot.connector import HubSpotConnector
from baton.connectors.hubspot.local import BAD, GOOD, LocalHubSpot
from baton.core.catalog import load_catalog
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.core.mapping.note import carries_note_marker
from baton.core.ports import Connector
from baton.core.store import Store
from baton.core.sync import SyncSummary, run_sync
from baton.sandbox.clock import ManualClock
from baton.sandbox.faults import Fault, FaultKind
from baton.sandbox.hubspot import (
    CSAT_PROPERTY,
    UNIQUE_PROPERTY,
    HubSpotSandbox,
    HubSpotState,
    signature_v3,
)
from tests.contract.harness import (
    PUBLIC_URL,
    Harness,
    Landed,
    ReceivedWebhook,
    SignatureVector,
    StatusEvent,
    WebhookReceiver,
    control,
)
from tests.support.paths import MAPPINGS

PLATFORM = facts.PLATFORM
CREATE_PATH = r"^/crm/v3/objects/tickets$"
NOTE_PATH = r"^/crm/v3/objects/notes$"
SEARCH_PATH = r"^/crm/v3/objects/tickets/search$"
NOTE_READ_PATH = re.compile(r"^/crm/v4/objects/tickets/[^/]+/associations/notes$")
SECRETS = ("contract-hubspot-old-secret", "contract-hubspot-secret")
# A v3 vector computed for this suite with hmac/hashlib/base64 alone (not by the connector or
# the sandbox): base64(HMAC-SHA256(secret, "POST" + URI + body + timestamp)).
HUBSPOT_KNOWN_ANSWER = SignatureVector(
    secret="contract-hubspot-known-answer-secret",
    headers={
        "x-hubspot-signature-v3": "8usOBfORgJC6XfmGrgtBEgMLXXNGGMOstx+K2uKq6vM=",
        "x-hubspot-request-timestamp": "1764244810000",
    },
    body=(
        b'[{"eventId":1001,"subscriptionId":3002,"portalId":62000001,"appId":3100001,'
        b'"occurredAt":1764244800000,"subscriptionType":"ticket.propertyChange",'
        b'"attemptNumber":0,"objectId":101,"changeSource":"CRM_UI",'
        b'"propertyName":"hs_pipeline_stage","propertyValue":"4"}]'
    ),
    url=f"{PUBLIC_URL}/webhooks/hubspot",
    now=datetime(2025, 11, 27, 12, 0, 20, tzinfo=UTC),
)
HUBSPOT_OPT_OUTS: Mapping[str, str] = {
    "B1-reply-webhook": "HubSpot's ticket webhooks report the ticket's own properties, never an "
    "e-mail engagement: a reply reaches Baton with the sync run (B1-reply)",
}
NOT_TICKET_PROPERTIES = {"subject", "content", "hs_ticket_priority", "hs_pipeline"}
NOT_TICKET_PROPERTIES |= {"hs_pipeline_stage", "hubspot_owner_id"}


@dataclass
class HubSpotHarness:
    """The HubSpot sandbox on a manual clock and the HubSpot connector pointed at it."""

    local: LocalHubSpot
    clock: ManualClock
    mapping: CompiledMapping
    env: dict[str, str]
    connector: Connector = field(init=False)
    state: HubSpotState = field(init=False)
    platform: str = PLATFORM
    mappings_dir: Path = MAPPINGS
    known_answer: SignatureVector = HUBSPOT_KNOWN_ANSWER
    signature_header: str = "x-hubspot-signature-v3"
    timestamp_header: str = "x-hubspot-request-timestamp"
    webhook_path: str = "/webhooks/hubspot"
    opt_outs: ClassVar[Mapping[str, str]] = HUBSPOT_OPT_OUTS
    _connectors: list[Connector] = field(default_factory=list)
    _receiver: WebhookReceiver | None = None

    def __post_init__(self) -> None:
        self.state = self.local.state
        self.connector = self.new_connector()

    def new_connector(self, **env: str) -> Connector:
        """Another connector on the same sandbox (a second process, a restart)."""
        connector = connector_for(PLATFORM, self.mapping, {**self.env, **env})
        self._connectors.append(connector)
        return connector

    def connector_with_bad_credentials(self) -> Connector:
        """A connector with a token the sandbox refuses."""
        return self.new_connector(**{facts.ENV_ACCESS_TOKEN: "pat-na1-not-the-sandbox-token"})

    def connector_with_secrets(self, secrets: list[str]) -> Connector:
        """A connector verifying webhooks with exactly these client secrets."""
        return self.new_connector(**{facts.ENV_CLIENT_SECRETS: ",".join(secrets)})

    def _tickets(self, handoff_id: str) -> list[Any]:
        with self.state.lock:
            return [
                t
                for t in self.state.records["tickets"].values()
                if not t.archived
                and t.merged_into is None
                and t.properties.get(UNIQUE_PROPERTY) == handoff_id
            ]

    def ticket_count(self, handoff_id: str) -> int:
        """Live tickets with the handoff id in the unique property."""
        return len(self._tickets(handoff_id))

    def _notes(self, ticket_id: str) -> list[str]:
        with self.state.lock:
            ids = [nid for nid, _ in self.state.associated("tickets", ticket_id, "notes")]
            return [
                str(self.state.records["notes"][nid].properties.get("hs_note_body") or "")
                for nid in ids
                if not self.state.records["notes"][nid].archived
            ]

    def landed(self, ticket_id: str) -> Landed:
        """The sandbox's ticket, reduced: pipeline/stage/owner as the group, the tags property
        split, the other properties Baton wrote; a note is always internal in HubSpot."""
        with self.state.lock:
            ticket = self.state.records["tickets"][ticket_id]
            props = {k: v for k, v in ticket.properties.items() if v is not None}
            written = {
                name
                for name, spec in self.state.properties["tickets"].items()
                if not spec.read_only
            }
        return self._reduced(
            {k: v for k, v in props.items() if k in written}, bool(self._notes(ticket_id))
        )

    def expected(self, handoff: Handoff) -> Landed:
        """The mapping's ticket and note, reduced the same way."""
        ticket, _note = plan_requests(self.mapping, handoff).requests
        props = dict(ticket.json["properties"])
        return self._reduced({k: v for k, v in props.items() if v not in (None, "")}, True)

    def _reduced(self, props: Mapping[str, Any], noted: bool) -> Landed:
        group = "/".join(
            str(props.get(k) or "-")
            for k in ("hs_pipeline", "hs_pipeline_stage", "hubspot_owner_id")
        )
        tags_field = self.mapping.tags_field
        tags = str(props.get(tags_field) or "") if tags_field else ""
        alone = {*NOT_TICKET_PROPERTIES, UNIQUE_PROPERTY, tags_field or ""}
        return Landed(
            group=group,
            priority=props.get("hs_ticket_priority"),
            tags=frozenset(t.lower() for t in re.split(r"[;,\s]+", tags) if t),
            fields={k: str(v) for k, v in props.items() if k not in alone},
            note_private=noted,
            external_id=props.get(UNIQUE_PROPERTY),
        )

    def inject(self, fault: Fault) -> None:
        """Queue a fault in the sandbox."""
        self.state.faults.add(fault)

    def create_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /crm/v3/objects/tickets`` (a first attempt's create)."""
        return Fault(kind=kind, method="POST", path_regex=CREATE_PATH, **options)

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /crm/v3/objects/notes`` (the separate note)."""
        return Fault(kind=kind, method="POST", path_regex=NOTE_PATH, **options)

    def baton_notes(self, ticket_id: str) -> int:
        """Notes on the ticket carrying the marker of its handoff."""
        with self.state.lock:
            handoff_id = str(self.state.records["tickets"][ticket_id].properties[UNIQUE_PROPERTY])
        return sum(carries_note_marker(body, handoff_id) for body in self._notes(ticket_id))

    def note_reads(self) -> int:
        """Reads of a ticket's note associations (``GET /crm/v4/…/associations/notes``)."""
        return sum(
            entry.method == "GET" and NOTE_READ_PATH.match(entry.path) is not None
            for entry in self.state.request_log.entries()
        )

    def duplicate_ticket(self, handoff_id: str) -> None:
        """A second ticket with the same handoff id, made while the property's uniqueness was
        off (as an admin's import could): a search on the id now finds two."""
        with self.state.lock:
            unique = self.state.properties["tickets"][UNIQUE_PROPERTY]
            self.state.add_property("tickets", replace(unique, has_unique_value=False))
            try:
                values = {
                    "subject": "duplicate",
                    "hs_pipeline_stage": "1",
                    UNIQUE_PROPERTY: handoff_id,
                }
                self.state.create("tickets", values, "CRM_UI")
            finally:
                self.state.add_property("tickets", unique)

    def _stage(self, ticket_id: str, *, closed: bool) -> str:
        with self.state.lock:
            ticket = self.state.records["tickets"][ticket_id]
            pipeline = self.state.pipeline(str(ticket.properties.get("hs_pipeline") or "0"))
            assert pipeline is not None
            stages = [s for s in pipeline.stages if s.closed is closed]
            if not closed:  # reopened: back to a stage the mapping calls open, if any
                plain = [
                    s for s in stages if self.mapping.statuses.get(s.label.casefold()) == "open"
                ]
                stages = plain or stages
            return stages[0].id

    def solve(self, ticket_id: str) -> None:
        """The ticket moves to its pipeline's closed stage."""
        self.state.move_to_stage(ticket_id, self._stage(ticket_id, closed=True))

    def reopen(self, ticket_id: str) -> None:
        """The ticket moves back to its pipeline's first stage the mapping calls open."""
        self.state.move_to_stage(ticket_id, self._stage(ticket_id, closed=False))

    def reply(self, ticket_id: str) -> None:
        """An agent's email reply on the ticket (the first response)."""
        self.state.agent_reply(ticket_id, "Looking into it now.")

    def rate(self, ticket_id: str, good: bool) -> None:
        """The CSAT property the mapping reads."""
        self.state.rate(ticket_id, GOOD if good else BAD, CSAT_PROPERTY)

    def public_reply(self, ticket_id: str, text: str) -> None:
        """An e-mail sent to the customer from the ticket by its owner (a rep takes an unowned
        ticket first)."""
        with self.state.lock:
            owner = self.state.records["tickets"][ticket_id].properties.get("hubspot_owner_id")
            first = self.state.owners[0].id
        base = self.local.base_url
        if not owner:
            control(base, f"tickets/{ticket_id}/owner", {"owner": first})
        control(base, f"tickets/{ticket_id}/reply", {"body": text})

    def private_note(self, ticket_id: str, text: str) -> None:
        """A note on the ticket (HubSpot's notes are internal)."""
        control(self.local.base_url, f"tickets/{ticket_id}/note", {"body": text})

    def customer_message(self, ticket_id: str, text: str) -> None:
        """The customer's e-mail reply, logged on the ticket (``INCOMING_EMAIL``)."""
        control(self.local.base_url, f"tickets/{ticket_id}/customer-email", {"body": text})

    def heal_replies(self, store: Store, *, since: datetime, job: str) -> SyncSummary:
        """Past the search horizon, then a sync run: its pages carry the reps' e-mails."""
        self.settle()
        return run_sync(store, self.connector, name=job, since=since)

    def reassign(self, ticket_id: str) -> None:
        """To another pipeline's first stage (HubSpot's teams work pipelines)."""
        with self.state.lock:
            current = self.state.records["tickets"][ticket_id].properties.get("hs_pipeline")
            other = next(p for p in self.state.pipelines if p.id != current)
        self.state.move_to_stage(ticket_id, other.stages[0].id, other.id)

    def delete(self, ticket_id: str) -> None:
        """The ticket is archived (the recycle bin)."""
        self.state.agent_archive(ticket_id)

    def now(self) -> datetime:
        """The sandbox's manual clock."""
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Move the manual clock."""
        self.clock.advance(seconds)

    def settle(self) -> None:
        """Past the connector's search horizon (it reads what was modified up to HubSpot's
        time less ``SEARCH_SETTLE_SECONDS``)."""
        self.clock.advance(facts.SEARCH_SETTLE_SECONDS + 1)

    def inject_empty_export_page(self, resume_page_size: int) -> None:
        """An empty search answer that is not the last (``paging.next.after`` 0), and the
        connector's page limit set to ``resume_page_size``."""
        page = {"total": 0, "results": [], "paging": {"next": {"after": "0"}}}
        self.inject(
            Fault(kind="status", method="POST", path_regex=SEARCH_PATH, status=200, body=page)
        )
        assert isinstance(self.connector, HubSpotConnector)
        self.connector.page_limit = resume_page_size

    def signed_webhook_from_sandbox(self, action: Callable[[], object]) -> list[ReceivedWebhook]:
        """Subscribe a receiver (once), run ``action``, return the batches the sandbox sent."""
        if self._receiver is None:
            self._receiver = WebhookReceiver()
            self.local.agents.subscribe(self._receiver.url, SECRETS[-1])
        self._receiver.received.clear()
        action()
        assert self.state.webhooks.wait_idle(timeout=10), "the sandbox did not deliver in time"
        return list(self._receiver.received)

    def event_id(self, label: str, ticket_id: str) -> str:
        """The key the connector gives a notification (portal:subscription:eventId:object),
        with an event id derived from ``label``."""
        event = int.from_bytes(hashlib.sha256(label.encode()).digest()[:6], "big")
        subscription = self.state.webhooks.subscription_id(facts.TICKET_PROPERTY_CHANGE)
        return f"{self.state.portal_id}:{subscription}:{event}:{ticket_id}"

    def webhook_body(self, events: Sequence[StatusEvent]) -> bytes:
        """A batch of ``hs_pipeline_stage`` changes, each to the ticket pipeline's stage for
        the event's status, as the sandbox's notifications look."""
        wanted = {"open": "open", "pending": "pending", "solved": "resolved"}
        notifications = []
        for event in events:
            portal, subscription, event_number, _ticket = event.event_id.split(":")
            with self.state.lock:
                ticket = self.state.records["tickets"][event.ticket_id]
                pipeline = self.state.pipeline(str(ticket.properties.get("hs_pipeline")))
                assert pipeline is not None
                stage = next(
                    s
                    for s in pipeline.stages
                    if self.mapping.statuses.get(s.label.casefold()) == wanted[event.status]
                )
            notifications.append(
                {
                    "eventId": int(event_number),
                    "subscriptionId": int(subscription),
                    "portalId": int(portal),
                    "appId": self.state.app_id,
                    "occurredAt": int(event.at.timestamp() * 1000),
                    "subscriptionType": facts.TICKET_PROPERTY_CHANGE,
                    "attemptNumber": 0,
                    "objectId": int(event.ticket_id),
                    "changeSource": "CRM_UI",
                    "propertyName": "hs_pipeline_stage",
                    "propertyValue": stage.id,
                }
            )
        return json.dumps(notifications, separators=(",", ":")).encode()

    def sign(self, body: bytes, at: datetime, secret: str | None = None) -> dict[str, str]:
        """The sandbox's v3 signature over ``POST`` + the public URL + body + timestamp."""
        timestamp = str(int(at.timestamp() * 1000))
        uri = f"{PUBLIC_URL}{self.webhook_path}"
        key = SECRETS[-1] if secret is None else secret
        return {
            "Content-Type": "application/json",
            self.signature_header: signature_v3(key, "POST", uri, body, timestamp),
            self.timestamp_header: timestamp,
        }

    def close(self) -> None:
        """Close every connector and the receiver."""
        for connector in self._connectors:
            connector.close()
        if self._receiver is not None:
            self._receiver.stop()


@contextmanager
def hubspot_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The HubSpot sandbox (seeded from the shipped catalog) and a connector built from
    ``LocalHubSpot.env`` with the suite's client secrets."""
    catalog = load_catalog(MAPPINGS / "catalogs" / "hubspot.json")
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5))
    state = HubSpotState.from_catalog(
        catalog, clock=clock, ten_second_limit=10**6, daily_limit=10**9, time_factor=1000.0
    )
    with HubSpotSandbox(state) as sandbox:
        local = LocalHubSpot(sandbox, SECRETS[-1])
        env = {
            **local.env,
            facts.ENV_CLIENT_SECRETS: ",".join(SECRETS),
            facts.ENV_RATE_LIMIT: "100000",
            facts.ENV_TIMEOUT: "5",
        }
        harness = HubSpotHarness(local, clock, load_mapping(MAPPINGS, PLATFORM), env)
        try:
            yield harness
        finally:
            harness.close()
            local.stop()
