"""The contract harness of Zendesk: its sandbox on a manual clock and the connector on it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from baton.connectors.base import connector_for
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.core.ports import Connector, ReplyFeed
from baton.core.store import Store
from baton.core.sync import SyncSummary, sync_replies
from baton.sandbox.faults import Fault, FaultKind
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.sandbox.zendesk import (
    INCREMENTAL_MIN_AGE_SECONDS,
    ManualClock,
    WebhookTarget,
    ZendeskState,
    _encode_cursor,
)
from baton.sandbox.zendesk.events import event_detail
from baton.sandbox.zendesk.facts import EVENT_TYPE_PREFIX, WEBHOOK_EVENT_VERSION
from baton.sandbox.zendesk.model import iso
from tests.contract.harness import (
    Harness,
    Landed,
    ReceivedWebhook,
    SignatureVector,
    StatusEvent,
    WebhookReceiver,
    control,
)
from tests.support.paths import MAPPINGS

ZENDESK_KNOWN_ANSWER = SignatureVector(  # Zendesk's webhook verification docs
    secret="dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
    headers={
        "x-zendesk-webhook-signature": "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=",
        "x-zendesk-webhook-signature-timestamp": "2021-03-25T05:09:27Z",
    },
    body=b'{"event":"ticket.updated","id":123}',
    url="https://baton.example/webhooks/zendesk",
    now=datetime(2021, 3, 25, 5, 9, 57, tzinfo=UTC),
)
ZENDESK_SECRETS = ("contract-old-secret", "contract-webhook-secret")
EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
COMMENTS_PATH = re.compile(r"^/api/v2/tickets/\d+/comments(\.json)?$")
ZENDESK_OPT_OUTS: Mapping[str, str] = {
    "O7-note": "the note travels in the create (its first comment): no separate request to "
    "lose an answer of",
    "D5": "Zendesk sends one event per webhook: there is no batch to fail part of",
}


@dataclass
class ZendeskHarness:
    """The Zendesk sandbox on a manual clock and the Zendesk connector pointed at it."""

    state: ZendeskState
    sandbox: ZendeskSandbox
    clock: ManualClock
    mapping: CompiledMapping
    env: dict[str, str]
    connector: Connector = field(init=False)
    platform: str = "zendesk"
    mappings_dir: Path = MAPPINGS
    known_answer: SignatureVector = ZENDESK_KNOWN_ANSWER
    signature_header: str = "x-zendesk-webhook-signature"
    timestamp_header: str = "x-zendesk-webhook-signature-timestamp"
    webhook_path: str = "/webhooks/zendesk"
    opt_outs: ClassVar[Mapping[str, str]] = ZENDESK_OPT_OUTS
    _connectors: list[Connector] = field(default_factory=list)
    _receiver: WebhookReceiver | None = None

    def __post_init__(self) -> None:
        self.connector = self.new_connector()

    def new_connector(self, **env: str) -> Connector:
        """Another connector on the same sandbox (a second process, a restart)."""
        connector = connector_for("zendesk", self.mapping, {**self.env, **env})
        self._connectors.append(connector)
        return connector

    def connector_with_bad_credentials(self) -> Connector:
        """A connector with a token the sandbox refuses."""
        return self.new_connector(BATON_ZENDESK_TOKEN="not-the-sandbox-token")

    def connector_with_secrets(self, secrets: list[str]) -> Connector:
        """A connector verifying webhooks with exactly these signing secrets."""
        return self.new_connector(BATON_ZENDESK_WEBHOOK_SECRETS=",".join(secrets))

    def ticket_count(self, handoff_id: str) -> int:
        """Live tickets with the handoff as external id."""
        return len(self.state.list_tickets(handoff_id))

    def landed(self, ticket_id: str) -> Landed:
        """The sandbox's ticket, reduced."""
        with self.state.lock:
            ticket = self.state.ticket(int(ticket_id))
            return Landed(
                group=_text(ticket.group_id),
                priority=ticket.priority,
                tags=frozenset(ticket.tags),
                fields={str(k): str(v) for k, v in ticket.custom_fields.items() if v is not None},
                note_private=not ticket.comments[0].public,
                external_id=ticket.external_id,
            )

    def expected(self, handoff: Handoff) -> Landed:
        """The mapping's create request, reduced."""
        [create] = plan_requests(self.mapping, handoff).requests
        ticket = create.json["ticket"]
        return Landed(
            group=_text(ticket.get("group_id")),
            priority=ticket.get("priority"),
            tags=frozenset(str(t).lower() for t in ticket.get("tags", [])),
            fields={str(f["id"]): str(f["value"]) for f in ticket.get("custom_fields", [])},
            note_private=ticket["comment"]["public"] is False,
            external_id=ticket.get("external_id"),
        )

    def inject(self, fault: Fault) -> None:
        """Queue a fault in the sandbox."""
        self.state.faults.add(fault)

    def create_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /api/v2/tickets.json``."""
        return Fault(kind=kind, method="POST", path_regex=r"^/api/v2/tickets\.json$", **options)

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """Never used: Zendesk opts out of ``O7-note``."""
        raise NotImplementedError(ZENDESK_OPT_OUTS["O7-note"])

    def baton_notes(self, ticket_id: str) -> int:
        """Private comments (the create's first comment; nobody else wrote here)."""
        with self.state.lock:
            ticket = self.state.ticket(int(ticket_id))
            return sum(1 for comment in ticket.comments if not comment.public)

    def note_reads(self) -> int:
        """Reads of a ticket's comments."""
        entries = self.state.request_log.entries()
        return sum(1 for e in entries if e.method == "GET" and COMMENTS_PATH.match(e.path))

    def duplicate_ticket(self, handoff_id: str) -> None:
        """A second ticket with the same external id."""
        data = {"subject": "duplicate", "comment": {"body": "dup"}, "external_id": handoff_id}
        self.state.create_ticket(data, self.sandbox.base_url)

    def solve(self, ticket_id: str) -> None:
        """An agent solves the ticket."""
        self.state.solve(int(ticket_id))

    def reopen(self, ticket_id: str) -> None:
        """The ticket is reopened."""
        self.state.reopen(int(ticket_id))

    def reply(self, ticket_id: str) -> None:
        """A public agent reply."""
        self.state.agent_reply(int(ticket_id), "Looking into it now.")

    def rate(self, ticket_id: str, good: bool) -> None:
        """A CSAT rating."""
        self.state.rate(int(ticket_id), "good" if good else "bad")

    def public_reply(self, ticket_id: str, text: str) -> None:
        """A public comment by the ticket's agent (the control API's ``reply``)."""
        control(self.sandbox.base_url, f"tickets/{ticket_id}/reply", {"body": text})

    def private_note(self, ticket_id: str, text: str) -> None:
        """An internal comment by the ticket's agent."""
        body = {"body": text, "public": False}
        control(self.sandbox.base_url, f"tickets/{ticket_id}/reply", body)

    def customer_message(self, ticket_id: str, text: str) -> None:
        """A public comment by the requester (a ticket update with ``comment.author_id``, as
        the Tickets API takes it: the control API has no route for the customer)."""
        with self.state.lock:
            requester = self.state.ticket(int(ticket_id)).requester_id
        comment = {"body": text, "public": True, "author_id": requester}
        self.state.update_ticket(int(ticket_id), {"comment": comment}, self.sandbox.base_url)

    def heal_replies(self, store: Store, *, since: datetime, job: str) -> SyncSummary:
        """Past the export's horizon, then the ticket events export (``sync_replies``)."""
        self.settle()
        assert isinstance(self.connector, ReplyFeed)
        return sync_replies(store, self.connector, name=job, since=since)

    def reassign(self, ticket_id: str) -> None:
        """To the first other group."""
        with self.state.lock:
            current = self.state.ticket(int(ticket_id)).group_id
            other = next(g for g in self.state.groups if g != current)
        self.state.reassign(int(ticket_id), group_id=other)

    def delete(self, ticket_id: str) -> None:
        """A soft delete."""
        self.state.delete(int(ticket_id))

    def now(self) -> datetime:
        """The sandbox's manual clock."""
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Move the manual clock."""
        self.clock.advance(seconds)

    def settle(self) -> None:
        """Past the incremental export's minimum age."""
        self.clock.advance(INCREMENTAL_MIN_AGE_SECONDS + 1)

    def inject_empty_export_page(self, resume_page_size: int) -> None:
        """An empty, not-last export page linking to pages of ``resume_page_size``."""
        start = _encode_cursor(0)  # the sandbox's cursor for "before the first change"
        next_url = (
            f"{self.sandbox.base_url}{EXPORT_PATH}?cursor={start}&per_page={resume_page_size}"
        )
        page: dict[str, Any] = {
            "tickets": [],
            "after_cursor": start,
            "after_url": next_url,
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": False,
        }
        self.inject(
            Fault(kind="status", method="GET", path_regex=f"^{EXPORT_PATH}$", status=200, body=page)
        )

    def signed_webhook_from_sandbox(self, action: Callable[[], object]) -> list[ReceivedWebhook]:
        """Subscribe a receiver (once), run ``action``, return what the sandbox sent."""
        if self._receiver is None:
            self._receiver = WebhookReceiver()
            self.state.webhooks.add(WebhookTarget(self._receiver.url, ZENDESK_SECRETS[-1]))
        self._receiver.received.clear()
        action()
        assert self.state.webhooks.wait_idle(timeout=10), "the sandbox did not deliver in time"
        return list(self._receiver.received)

    def event_id(self, label: str, ticket_id: str) -> str:
        """Any string is an event id here."""
        return label

    def webhook_body(self, events: Sequence[StatusEvent]) -> bytes:
        """A ``ticket.status_changed`` event webhook built from the sandbox's own ticket."""
        if len(events) != 1:
            raise NotImplementedError(ZENDESK_OPT_OUTS["D5"])
        [event] = events
        with self.state.lock:
            ticket = self.state.ticket(int(event.ticket_id))
            detail = event_detail(ticket, ticket.submitter_id)
        status = event.status.upper()
        detail.update(status=status, updated_at=iso(event.at))
        document = {
            "type": EVENT_TYPE_PREFIX + "status_changed",
            "account_id": self.state.account_id,
            "id": event.event_id,
            "time": iso(event.at),
            "zendesk_event_version": WEBHOOK_EVENT_VERSION,
            "subject": f"zen:ticket:{event.ticket_id}",
            "detail": detail,
            "event": {"current": status, "previous": "NEW"},
        }
        return json.dumps(document, separators=(",", ":")).encode()

    def sign(self, body: bytes, at: datetime, secret: str | None = None) -> dict[str, str]:
        """``baton.sandbox.signing``'s Zendesk signature."""
        timestamp = zendesk_timestamp(at)
        key = ZENDESK_SECRETS[-1] if secret is None else secret
        return {
            "Content-Type": "application/json",
            self.signature_header: zendesk_signature(key, timestamp, body),
            self.timestamp_header: timestamp,
        }

    def close(self) -> None:
        """Close every connector and the receiver."""
        for connector in self._connectors:
            connector.close()
        if self._receiver is not None:
            self._receiver.stop()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@contextmanager
def zendesk_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The Zendesk sandbox (seeded from the shipped catalog) and a connector built from env."""
    catalog = load_catalog(MAPPINGS / "catalogs" / "zendesk.json")
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=5))
    state = ZendeskState.from_catalog(catalog, clock=clock, time_factor=1000.0)
    # The connector sets zenpy's process-wide overrides; put the previous values back after.
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "unset")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "unset")
    with ZendeskSandbox(state) as sandbox:
        env = {
            **sandbox_settings(sandbox),
            "BATON_ZENDESK_WEBHOOK_SECRETS": ",".join(ZENDESK_SECRETS),
            "BATON_ZENDESK_RATE_LIMIT": "60000",
            "BATON_ZENDESK_TIMEOUT": "5",
        }
        harness = ZendeskHarness(state, sandbox, clock, load_mapping(MAPPINGS, "zendesk"), env)
        try:
            yield harness
        finally:
            harness.close()
