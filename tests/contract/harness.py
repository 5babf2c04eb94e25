"""What the contract suite needs from each platform: the :class:`Harness` protocol.

The suite (``test_*.py`` here) is written once against :class:`Harness`; ``conftest.py`` runs
it for every platform in ``connectors.base.delivering_platforms()`` plus the test plugins'
(ToyDesk). A new platform adds a harness module (start its sandbox seeded from its catalog,
build its connector from the environment pointing at it, and the helpers below), declares
what it cannot prove in ``opt_outs`` (property id → reason) and adds one line to
``harnesses.HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping
from baton.core.ports import Connector
from baton.core.store import Store
from baton.core.sync import SyncSummary
from baton.sandbox.control import CONTROL_PREFIX
from baton.sandbox.faults import Fault, FaultKind
from baton.sandbox.server import RunningServer, serve_in_thread

PUBLIC_URL = "https://baton.example"
"""The public base URL the suite's service is configured with (signatures over the URL use it)."""


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


@dataclass(frozen=True)
class StatusEvent:
    """A ticket reaching ``status`` (open, pending or solved) at ``at``, as one webhook event."""

    event_id: str
    ticket_id: str
    status: str
    at: datetime


class Harness(Protocol):
    """One platform's sandbox, connector and helpers, as the contract suite uses them."""

    platform: str
    connector: Connector
    mapping: CompiledMapping
    mappings_dir: Path  # a mappings folder holding this platform's mapping and catalog
    known_answer: SignatureVector

    @property
    def signature_header(self) -> str | None:
        """Where the signature travels (lower-case); None when the platform signs nothing."""
        ...

    @property
    def timestamp_header(self) -> str | None:
        """Where the signed timestamp travels (lower-case); None when nothing is signed."""
        ...

    @property
    def webhook_path(self) -> str:
        """The path of Baton's receiver the platform posts to: ``/webhooks/<platform>``, or
        ``/webhooks/<platform>/<secret>`` for a sender that proves itself by a secret URL."""
        ...

    @property
    def opt_outs(self) -> Mapping[str, str]:
        """Property id → why this platform cannot prove it (skipped, and printed)."""
        ...

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

    def note_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault matching the connector's separate note request (opt out of ``O7-note``
        when the note travels in the create)."""
        ...

    def baton_notes(self, ticket_id: str) -> int:
        """How many internal notes from Baton the ticket holds."""
        ...

    def note_reads(self) -> int:
        """How many times the connector has read a ticket's notes so far."""
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

    def rate(self, ticket_id: str, good: bool) -> None:
        """The customer rates the ticket good or bad."""
        ...

    def public_reply(self, ticket_id: str, text: str) -> None:
        """A person working the ticket replies to the customer publicly with ``text``."""
        ...

    def private_note(self, ticket_id: str, text: str) -> None:
        """A person working the ticket writes an internal note ``text``."""
        ...

    def customer_message(self, ticket_id: str, text: str) -> None:
        """The customer writes ``text`` on the ticket."""
        ...

    def heal_replies(self, store: Store, *, since: datetime, job: str) -> SyncSummary:
        """The platform's healing path for replies, run once under the job name ``job`` (its
        cursor): past the feed's horizon, then Zendesk's reply feed (``sync_replies``), or
        ``run_sync`` where the change feed's pages carry the replies."""
        ...

    def reassign(self, ticket_id: str) -> None:
        """An agent moves the ticket to another group (queue)."""
        ...

    def delete(self, ticket_id: str) -> None:
        """The ticket is deleted."""
        ...

    def now(self) -> datetime:
        """The platform's clock (the service under test checks webhook timestamps by it)."""
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

    def event_id(self, label: str, ticket_id: str) -> str:
        """The platform's form of the id of a webhook event about ``ticket_id`` standing for
        ``label`` (the same label and ticket always give the same id; ``label`` itself where
        the platform takes any string; HubSpot's names the ticket too)."""
        ...

    def webhook_body(self, events: Sequence[StatusEvent]) -> bytes:
        """The body the platform sends for ``events``: one event, or several as a batch
        (opt out of ``D5`` when the platform never batches)."""
        ...

    def sign(self, body: bytes, at: datetime, secret: str | None = None) -> dict[str, str]:
        """The platform's signature headers for ``body`` signed at ``at``, made the sandbox's
        way (never by the connector); ``secret`` defaults to the connector's current one."""
        ...


HarnessFactory = Callable[[pytest.MonkeyPatch], AbstractContextManager[Harness]]


def signed_webhook(
    harness: Harness,
    event_id: str,
    ticket_id: str,
    status: str,
    at: datetime,
    *,
    secret: str | None = None,
    signed_at: datetime | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and body of one status event, signed at ``signed_at`` (default: now)."""
    event = StatusEvent(harness.event_id(event_id, ticket_id), ticket_id, status, at)
    body = harness.webhook_body([event])
    return harness.sign(body, signed_at or harness.now(), secret), body


def control(base_url: str, route: str, body: Mapping[str, Any] | None = None) -> Any:
    """``POST`` ``body`` to a sandbox's control API (``/_sandbox/<route>``); its JSON answer."""
    response = httpx.post(f"{base_url}{CONTROL_PREFIX}/{route}", json=body, timeout=10)
    assert response.is_success, f"{route}: {response.status_code} {response.text}"
    return response.json()


class WebhookReceiver:
    """A tiny server that keeps the webhooks it gets and answers 200."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self._server: RunningServer | None = None

    @property
    def url(self) -> str:
        """The URL to subscribe (started on first use)."""
        if self._server is None:
            self._server = serve_in_thread(self._app())
        return f"{self._server.base_url}/hook"

    def _app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body = await request.body()
            self.received.append(ReceivedWebhook(headers, body, str(request.url)))
            return Response(status_code=200)

        return app

    def stop(self) -> None:
        """Stop the server, if it was started."""
        if self._server is not None:
            self._server.stop()
