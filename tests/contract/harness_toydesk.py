"""The contract harness of ToyDesk, the toy fourth platform in ``tests/support/toydesk``.

Its sandbox runs on a manual clock; the connector is the plugin's, loaded through
``BATON_PLUGINS`` like any third-party platform. The helpers use the sandbox's own state and
signing (``tests.support.toydesk.webhooks``), never the connector's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from baton.connectors.base import connector_for
from baton.core.catalog import load_catalog
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.core.mapping.note import carries_note_marker
from baton.core.plugin import PLUGINS_ENV
from baton.core.ports import Connector
from baton.core.store import Store
from baton.core.sync import SyncSummary
from baton.sandbox.clock import ManualClock
from baton.sandbox.faults import Fault, FaultKind
from tests.contract.harness import (
    Harness,
    Landed,
    ReceivedWebhook,
    SignatureVector,
    StatusEvent,
    WebhookReceiver,
)
from tests.support.toydesk import facts, mappings_with_toydesk
from tests.support.toydesk.local import LocalToydesk, start_local_toydesk
from tests.support.toydesk.sandbox import ToyState
from tests.support.toydesk.webhooks import batch_body, encode, signed_headers

TOYDESK_PLUGINS = "tests.support.toydesk:plugin"
TOYDESK_KNOWN_ANSWER = SignatureVector(  # computed once by hand from the scheme in webhooks.py
    secret="toydesk-known-answer-secret",
    headers={
        "x-toydesk-timestamp": "1767323045",
        "x-toydesk-signature": "WK74xmCh0j4CwXO/ANVTOR8TBpTorOqKgYW1f5OIcg8=",
    },
    body=b'{"id":"evt_1","type":"solved"}',
    url="https://baton.example/webhooks/toydesk",
    now=datetime(2026, 1, 2, 3, 4, 35, tzinfo=UTC),
)
TOYDESK_OPT_OUTS: Mapping[str, str] = {
    "A6": "ToyDesk's connector takes exactly one signing secret "
    "(BATON_TOYDESK_WEBHOOK_SECRET): there is no rotation to prove",
    "O3-key": "ToyDesk answers a reused Idempotency-Key with the ticket it first made and "
    "ignores the new body (a replay, by design)",
    "S1-page": "ToyDesk's change feed has no next links: an empty page is its end, so a run "
    "cannot be stopped after one",
    "S4": "ToyDesk's change feed has no next links: an empty page is its end",
    "B1-reply": "ToyDesk keeps only a count of a ticket's replies (no comment id, author, "
    "body or public flag) and its connector reads none: there is no reply to tell",
    "B1-reply-webhook": "ToyDesk's webhooks carry status events only, and it has no comment "
    "model to report a reply from",
}


@dataclass
class ToydeskHarness:
    """The ToyDesk sandbox on a manual clock and the ToyDesk connector pointed at it."""

    local: LocalToydesk
    clock: ManualClock
    mapping: CompiledMapping
    mappings_dir: Path
    connector: Connector = field(init=False)
    state: ToyState = field(init=False)
    platform: str = facts.PLATFORM
    known_answer: SignatureVector = TOYDESK_KNOWN_ANSWER
    signature_header: str = facts.SIGNATURE_HEADER
    timestamp_header: str = facts.TIMESTAMP_HEADER
    webhook_path: str = "/webhooks/toydesk"
    opt_outs: ClassVar[Mapping[str, str]] = TOYDESK_OPT_OUTS
    _connectors: list[Connector] = field(default_factory=list)
    _receiver: WebhookReceiver | None = None

    def __post_init__(self) -> None:
        self.state = self.local.state
        self.connector = self.new_connector()

    def new_connector(self, **env: str) -> Connector:
        """Another connector on the same sandbox (a second process, a restart)."""
        connector = connector_for(self.platform, self.mapping, {**self.local.env, **env})
        self._connectors.append(connector)
        return connector

    def connector_with_bad_credentials(self) -> Connector:
        """A connector with a token the sandbox refuses."""
        return self.new_connector(**{facts.ENV_TOKEN: "not-the-sandbox-token"})

    def connector_with_secrets(self, secrets: list[str]) -> Connector:
        """A connector verifying with the one secret given (ToyDesk has no rotation)."""
        [secret] = secrets
        return self.new_connector(**{facts.ENV_WEBHOOK_SECRET: secret})

    def ticket_count(self, handoff_id: str) -> int:
        """Tickets with the handoff as external id."""
        return len(self.state.find(handoff_id))

    def landed(self, ticket_id: str) -> Landed:
        """The sandbox's ticket, reduced (its notes are always internal)."""
        ticket = self.state.show(int(ticket_id))
        return Landed(
            group=ticket["queue_id"],
            priority=ticket["priority"],
            tags=frozenset(ticket["tags"]),
            fields={str(k): str(v) for k, v in ticket["fields"].items() if v is not None},
            note_private=True,
            external_id=ticket["external_id"],
        )

    def expected(self, handoff: Handoff) -> Landed:
        """The mapping's create request, reduced."""
        create, _note = plan_requests(self.mapping, handoff).requests
        ticket = create.json["ticket"]
        return Landed(
            group=None if ticket.get("queue_id") is None else str(ticket["queue_id"]),
            priority=ticket.get("priority"),
            tags=frozenset(str(t) for t in ticket.get("tags", [])),
            fields={str(k): str(v) for k, v in ticket.get("fields", {}).items()},
            note_private=True,
            external_id=ticket.get("external_id"),
        )

    def inject(self, fault: Fault) -> None:
        """Queue a fault in the sandbox."""
        self.state.faults.add(fault)

    def create_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /api/tickets``."""
        return Fault(kind=kind, method="POST", path_regex=r"^/api/tickets$", **options)

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on ``POST /api/tickets/<id>/notes``."""
        return Fault(kind=kind, method="POST", path_regex=r"^/api/tickets/\d+/notes$", **options)

    def baton_notes(self, ticket_id: str) -> int:
        """Notes carrying the marker of the ticket's handoff."""
        ticket = self.state.tickets[int(ticket_id)]
        handoff_id = ticket.external_id or ""
        return sum(carries_note_marker(note, handoff_id) for note in ticket.notes)

    def note_reads(self) -> int:
        """``GET /api/tickets/<id>/notes`` requests."""
        return sum(
            1 for r in self.state.requests if r["method"] == "GET" and r["path"].endswith("/notes")
        )

    def duplicate_ticket(self, handoff_id: str) -> None:
        """A second ticket with the same external id."""
        self.state.duplicate(handoff_id)

    def solve(self, ticket_id: str) -> None:
        """An agent solves the ticket."""
        self.state.solve(int(ticket_id))

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back."""
        self.state.reopen(int(ticket_id))

    def reply(self, ticket_id: str) -> None:
        """A public agent reply."""
        self.state.reply(int(ticket_id), "Looking into it now.")

    def rate(self, ticket_id: str, good: bool) -> None:
        """The customer's rating."""
        self.state.rate(int(ticket_id), good)

    def public_reply(self, ticket_id: str, text: str) -> None:
        """Never used: ToyDesk opts out of ``B1-reply``."""
        raise NotImplementedError(TOYDESK_OPT_OUTS["B1-reply"])

    def private_note(self, ticket_id: str, text: str) -> None:
        """Never used: ToyDesk opts out of ``B1-reply``."""
        raise NotImplementedError(TOYDESK_OPT_OUTS["B1-reply"])

    def customer_message(self, ticket_id: str, text: str) -> None:
        """Never used: ToyDesk opts out of ``B1-reply``."""
        raise NotImplementedError(TOYDESK_OPT_OUTS["B1-reply"])

    def heal_replies(self, store: Store, *, since: datetime, job: str) -> SyncSummary:
        """Never used: ToyDesk opts out of ``B1-reply``."""
        raise NotImplementedError(TOYDESK_OPT_OUTS["B1-reply"])

    def reassign(self, ticket_id: str) -> None:
        """To the first other queue."""
        current = self.state.show(int(ticket_id))["queue_id"]
        other = next(name for q, name in self.state.queues.items() if q != current)
        self.state.reassign(int(ticket_id), other)

    def delete(self, ticket_id: str) -> None:
        """Delete the ticket."""
        self.state.delete(int(ticket_id))

    def now(self) -> datetime:
        """The sandbox's manual clock."""
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Move the manual clock."""
        self.clock.advance(seconds)

    def settle(self) -> None:
        """ToyDesk's change feed hides nothing: a second is enough."""
        self.clock.advance(1)

    def inject_empty_export_page(self, resume_page_size: int) -> None:
        """Never used: ToyDesk opts out of ``S4`` and ``S1-page``."""
        raise NotImplementedError(TOYDESK_OPT_OUTS["S4"])

    def signed_webhook_from_sandbox(self, action: Callable[[], object]) -> list[ReceivedWebhook]:
        """Subscribe a receiver (once), run ``action``, return what the sandbox sent."""
        if self._receiver is None:
            self._receiver = WebhookReceiver()
            self.local.send_webhooks_to(self._receiver.url)
        self._receiver.received.clear()
        action()
        assert self.state.webhooks.wait_idle(10), "the sandbox did not deliver in time"
        return list(self._receiver.received)

    def event_id(self, label: str, ticket_id: str) -> str:
        """Any string is an event id here."""
        return label

    def webhook_body(self, events: Sequence[StatusEvent]) -> bytes:
        """The sandbox's event for each (a batch when there are several)."""
        documents = [self.state.event(int(e.ticket_id), e.event_id, e.status, e.at) for e in events]
        return encode(documents[0]) if len(documents) == 1 else batch_body(documents)

    def sign(self, body: bytes, at: datetime, secret: str | None = None) -> dict[str, str]:
        """The sandbox's signature headers."""
        key = self.local.signing_secret if secret is None else secret
        return {name.lower(): value for name, value in signed_headers(key, body, at).items()}

    def close(self) -> None:
        """Close every connector and the receiver."""
        for connector in self._connectors:
            connector.close()
        if self._receiver is not None:
            self._receiver.stop()


@contextmanager
def toydesk_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The ToyDesk plugin loaded, its sandbox started and a connector built from its env."""
    monkeypatch.setenv(PLUGINS_ENV, TOYDESK_PLUGINS)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5))
    with tempfile.TemporaryDirectory(prefix="toydesk-mappings-") as folder:
        mappings = mappings_with_toydesk(Path(folder))
        catalog = load_catalog(mappings / "catalogs" / "toydesk.json")
        local = start_local_toydesk(catalog, port=0, rate_limit=100_000, clock=clock)
        harness = ToydeskHarness(local, clock, load_mapping(mappings, "toydesk"), mappings)
        try:
            yield harness
        finally:
            harness.close()
            local.stop()
