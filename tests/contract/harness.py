"""What the contract suite needs from each platform, and the harness of each.

The suite in ``test_contract.py`` is written once against :class:`Harness`; ``conftest.py`` runs
it for every platform in ``connectors.base.delivering_platforms()``. A new platform adds a harness
here (start its sandbox seeded from ``mappings/catalogs/<platform>.json``, build its connector
from the environment pointing at it, and the helpers below) and one line in ``HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from fastapi import FastAPI, Request, Response

from baton.connectors.base import Connector, connector_for
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.sandbox.faults import Fault, FaultKind
from baton.sandbox.server import RunningServer, ZendeskSandbox, serve_in_thread
from baton.sandbox.zendesk import (
    INCREMENTAL_MIN_AGE_SECONDS,
    ManualClock,
    WebhookTarget,
    ZendeskState,
    _encode_cursor,
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@dataclass(frozen=True)
class SignatureVector:
    """A published known-answer vector of the platform's webhook signature scheme."""

    secret: str
    headers: dict[str, str]  # lower-case names, as the service passes them
    body: bytes
    url: str
    now: datetime


@dataclass(frozen=True)
class Landed:
    """A ticket reduced to what a mapping decides, comparable across platforms."""

    group: str | None
    priority: str | None
    tags: frozenset[str]
    fields: dict[str, str]
    note_private: bool
    external_id: str | None


@dataclass(frozen=True)
class ReceivedWebhook:
    """One webhook the sandbox delivered: headers (lower-case), raw body, the URL it called."""

    headers: dict[str, str]
    body: bytes
    url: str


class Harness(Protocol):
    """One platform's sandbox, connector and helpers, as the contract suite uses them."""

    platform: str
    connector: Connector
    mapping: CompiledMapping
    known_answer: SignatureVector
    reused_key_conflicts: bool  # same key + another body → IdempotencyConflict (not an update)

    def new_connector(self, **env: str) -> Connector:
        """Another connector on the same sandbox (a second process, a restart)."""
        ...

    def connector_with_bad_credentials(self) -> Connector:
        """A connector whose credentials the sandbox refuses."""
        ...

    def connector_with_secrets(self, secrets: list[str]) -> Connector:
        """A connector verifying webhooks with exactly these signing secrets."""
        ...

    def ticket_count(self, handoff_id: str) -> int:
        """How many live tickets the platform holds for ``handoff_id``."""
        ...

    def landed(self, ticket_id: str) -> Landed:
        """What the platform stored for the ticket."""
        ...

    def expected(self, handoff: Handoff) -> Landed:
        """What the mapping says the ticket should hold."""
        ...

    def inject(self, fault: Fault) -> None:
        """Queue a fault in the sandbox."""
        ...

    def create_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault matching the connector's create request."""
        ...

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault | None:
        """A fault matching the connector's separate note request; None when the note
        travels in the create itself."""
        ...

    def baton_notes(self, ticket_id: str) -> int:
        """How many internal notes from Baton the ticket holds."""
        ...

    def duplicate_ticket(self, handoff_id: str) -> None:
        """Make a second ticket claim ``handoff_id`` behind the connector's back."""
        ...

    def solve(self, ticket_id: str) -> None:
        """An agent resolves the ticket."""
        ...

    def reopen(self, ticket_id: str) -> None:
        """The ticket is reopened."""
        ...

    def reply(self, ticket_id: str) -> None:
        """An agent replies publicly (the first response)."""
        ...

    def now(self) -> datetime:
        """The platform's clock."""
        ...

    def advance(self, seconds: float) -> None:
        """Move the platform's clock."""
        ...

    def settle(self) -> None:
        """Move the clock past the horizon the change feed hides recent changes behind."""
        ...

    def inject_empty_export_page(self, resume_page_size: int) -> None:
        """The next change-feed page is empty but not the last; its link to the next page
        asks for pages of ``resume_page_size`` (visible only if the link is followed)."""
        ...

    def signed_webhook_from_sandbox(self, action: Callable[[], object]) -> list[ReceivedWebhook]:
        """Run ``action`` and return the signed webhooks the sandbox sent for it."""
        ...


HarnessFactory = Callable[[pytest.MonkeyPatch], AbstractContextManager[Harness]]


# ------------------------------------------------------------------------------ Zendesk

ZENDESK_KNOWN_ANSWER = SignatureVector(  # PLATFORMS.md, Zendesk webhooks
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
    known_answer: SignatureVector = ZENDESK_KNOWN_ANSWER
    reused_key_conflicts: bool = True
    _connectors: list[Connector] = field(default_factory=list)
    _receiver: RunningServer | None = None
    _received: list[ReceivedWebhook] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.connector = self.new_connector()

    def new_connector(self, **env: str) -> Connector:
        connector = connector_for("zendesk", self.mapping, {**self.env, **env})
        self._connectors.append(connector)
        return connector

    def connector_with_bad_credentials(self) -> Connector:
        return self.new_connector(BATON_ZENDESK_TOKEN="not-the-sandbox-token")

    def connector_with_secrets(self, secrets: list[str]) -> Connector:
        return self.new_connector(BATON_ZENDESK_WEBHOOK_SECRETS=",".join(secrets))

    def ticket_count(self, handoff_id: str) -> int:
        return len(self.state.list_tickets(handoff_id))

    def landed(self, ticket_id: str) -> Landed:
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
        self.state.faults.add(fault)

    def create_fault(self, kind: FaultKind, **options: Any) -> Fault:
        return Fault(kind=kind, method="POST", path_regex=r"^/api/v2/tickets\.json$", **options)

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault | None:
        return None  # the note is the create's first comment

    def baton_notes(self, ticket_id: str) -> int:
        with self.state.lock:  # the create's first comment is private; nobody else wrote here
            ticket = self.state.ticket(int(ticket_id))
            return sum(1 for comment in ticket.comments if not comment.public)

    def duplicate_ticket(self, handoff_id: str) -> None:
        data = {"subject": "duplicate", "comment": {"body": "dup"}, "external_id": handoff_id}
        self.state.create_ticket(data, self.sandbox.base_url)

    def solve(self, ticket_id: str) -> None:
        self.state.solve(int(ticket_id))

    def reopen(self, ticket_id: str) -> None:
        self.state.reopen(int(ticket_id))

    def reply(self, ticket_id: str) -> None:
        self.state.agent_reply(int(ticket_id), "Looking into it now.")

    def now(self) -> datetime:
        return self.clock()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def settle(self) -> None:
        self.clock.advance(INCREMENTAL_MIN_AGE_SECONDS + 1)

    def inject_empty_export_page(self, resume_page_size: int) -> None:
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
        if self._receiver is None:
            self._receiver = serve_in_thread(_receiver_app(self._received))
            url = f"{self._receiver.base_url}/hook"
            self.state.webhooks.add(WebhookTarget(url, ZENDESK_SECRETS[-1]))
        self._received.clear()
        action()
        assert self.state.webhooks.wait_idle(timeout=10), "the sandbox did not deliver in time"
        return list(self._received)

    def close(self) -> None:
        for connector in self._connectors:
            connector.close()
        if self._receiver is not None:
            self._receiver.stop()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _receiver_app(received: list[ReceivedWebhook]) -> FastAPI:
    """A tiny webhook receiver that keeps what it gets and answers 200."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        received.append(ReceivedWebhook(headers, await request.body(), str(request.url)))
        return Response(status_code=200)

    return app


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


HARNESSES: dict[str, HarnessFactory] = {
    "zendesk": zendesk_harness,
}
