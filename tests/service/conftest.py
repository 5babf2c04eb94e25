"""Fixtures for the service tests: a fake Zendesk-like webhook source, signing helpers and a
``Harness`` (store + source + app + TestClient + inbox processor).

The fake signs and reads like Zendesk event webhooks — base64(HMAC-SHA256(secret, timestamp +
raw body)) in ``x-zendesk-webhook-signature`` / ``x-zendesk-webhook-signature-timestamp``, a
body ``{"id": <event id>, "time": <ISO time>, "detail": {"id": <ticket>, "status": …}}`` — so
these tests do not depend on the real connector (``test_zendesk_integration.py`` uses that).

Test modules reach the helpers through fixtures (``harness``, ``make_harness``, ``signer``,
``zendesk_event`` …), since ``--import-mode=importlib`` makes conftest modules unimportable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import event as sa_event

from baton.core.disposition import Disposition, Outcome
from baton.core.errors import PayloadError, VerificationError
from baton.core.inbox import InboxProcessor
from baton.core.ports import WebhookEvent, WebhookSource
from baton.core.store import Store
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.webhooks.app import BackgroundJob, create_app
from baton.webhooks.settings import ServiceSettings
from tests.support.builders import handoff_doc as handoff_doc_builder
from tests.support.paths import MAPPINGS

API_KEY = "test-api-key-0123456789abcdef"
SECRET = "zendesk-signing-secret-for-tests"
PUBLIC_URL = "https://baton.example.test"
SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
WINDOW = timedelta(minutes=5)
STATUS_OUTCOMES: dict[str, Outcome] = {
    "new": "open",
    "open": "open",
    "hold": "pending",
    "pending": "pending",
    "solved": "resolved",
    "closed": "resolved",
    "deleted": "deleted",
}


class FakeZendeskSource:
    """A WebhookSource signed and shaped like Zendesk event webhooks, with call counters.

    ``secrets`` may be changed at any time (rotation, A6). ``platform_delay`` is how long each
    platform API method (create_ticket, changes, refresh_catalog) would take: a receiver that
    called one would be that slow (K1); every such call is counted in ``platform_calls``.
    """

    platform = "zendesk"

    def __init__(self, secrets: Sequence[str] = (SECRET,), platform_delay: float = 0.0) -> None:
        self.secrets = list(secrets)
        self.platform_delay = platform_delay
        self.verify_calls = 0
        self.parse_calls = 0
        self.platform_calls = 0
        self.urls: list[str] = []

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        self.verify_calls += 1
        self.urls.append(url)
        signature, timestamp = headers.get(SIGNATURE), headers.get(TIMESTAMP)
        if not signature or not timestamp:
            raise VerificationError("missing signature or timestamp header")
        try:
            when = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            presented = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            raise VerificationError("malformed signature or timestamp header") from None
        if abs(now - when) > WINDOW:
            raise VerificationError("timestamp outside the 5 minute window")
        matched = False
        for secret in self.secrets:
            expected = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
            matched |= hmac.compare_digest(expected.digest(), presented)
        if not matched:
            raise VerificationError("signature does not match")

    def acknowledge(self, received: int, duplicates: int) -> None:
        """Baton's JSON answer."""
        return None

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        self.parse_calls += 1
        try:
            doc = json.loads(body)
            event_id, detail = doc["id"], doc["detail"]
            occurred_at = datetime.fromisoformat(doc["time"])
            status = str(detail["status"]).lower()
            disposition = Disposition(
                handoff_id=detail.get("external_id"),
                platform="zendesk",
                ticket_id=str(detail["id"]),
                outcome=STATUS_OUTCOMES[status],
                raw_status=status,
                occurred_at=occurred_at,
                source="webhook",
                event_id=str(event_id),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PayloadError(f"not a Zendesk event ({type(exc).__name__})") from None
        return [WebhookEvent(str(event_id), occurred_at, disposition)]

    # Platform API methods: never on the webhook path.
    def _platform_call(self) -> None:
        self.platform_calls += 1
        time.sleep(self.platform_delay)

    def create_ticket(self, *_args: Any, **_kwargs: Any) -> None:
        self._platform_call()

    def changes(self, *_args: Any, **_kwargs: Any) -> None:
        self._platform_call()

    def refresh_catalog(self) -> None:
        self._platform_call()


def zendesk_event_body(
    event_id: str,
    *,
    ticket_id: str = "42",
    status: str = "solved",
    at: datetime | None = None,
    external_id: str | None = None,
) -> bytes:
    """A compact Zendesk-like event webhook body."""
    detail: dict[str, Any] = {"id": ticket_id, "status": status.upper()}
    if external_id is not None:
        detail["external_id"] = external_id
    when = (at or datetime.now(UTC)).isoformat()
    doc = {
        "type": "zen:event-type:ticket.status_changed",
        "id": event_id,
        "time": when,
        "detail": detail,
    }
    return json.dumps(doc).encode()


def signed_headers(
    body: bytes, secret: str = SECRET, when: datetime | None = None
) -> dict[str, str]:
    """Zendesk's signature headers for ``body``, signed now (or at ``when``)."""
    timestamp = zendesk_timestamp(when or datetime.now(UTC))
    return {
        "X-Zendesk-Webhook-Signature": zendesk_signature(secret, timestamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


@dataclass
class Harness:
    """An app over a store with the fake source; drive the inbox with ``inbox.drain()``."""

    store: Store
    source: FakeZendeskSource
    settings: ServiceSettings
    app: FastAPI
    client: TestClient
    inbox: InboxProcessor
    auth: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {API_KEY}"})

    def post_event(
        self, body: bytes, *, secret: str = SECRET, headers: Mapping[str, str] | None = None
    ) -> Any:
        """POST ``body`` to /webhooks/zendesk, freshly signed unless ``headers`` are given."""
        sent = dict(signed_headers(body, secret) if headers is None else headers)
        return self.client.post("/webhooks/zendesk", content=body, headers=sent)

    def post_handoff(self, doc: dict[str, Any] | bytes, *, key: str | None = API_KEY) -> Any:
        """POST a handoff with the API key (or none)."""
        content = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.client.post("/v1/handoffs", content=content, headers=headers)


def _settings(**changes: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "api_keys": (SecretStr(API_KEY),),
        "public_url": PUBLIC_URL,
        "mappings_dir": MAPPINGS,
    }
    values.update(changes)
    return ServiceSettings(**values)


@pytest.fixture
def service_settings() -> Callable[..., ServiceSettings]:
    """Build ServiceSettings for tests: one API key, the repository's mappings."""
    return _settings


@pytest.fixture
def make_harness() -> Iterator[Callable[..., Harness]]:
    """Build a Harness over a given store: ``make_harness(store, source=…, settings=…)``."""
    clients: list[TestClient] = []

    def build(
        store: Store,
        *,
        source: FakeZendeskSource | None = None,
        background: Sequence[BackgroundJob] = (),
        **settings_changes: Any,
    ) -> Harness:
        source = source or FakeZendeskSource()
        settings = _settings(**settings_changes)
        sources: dict[str, WebhookSource] = {"zendesk": source}
        app = create_app(store, sources, settings, background=background)
        client = TestClient(app)
        clients.append(client)
        inbox = InboxProcessor(store, sources, retention_days=settings.inbox_retention_days)
        return Harness(store, source, settings, app, client, inbox)

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def harness(make_harness: Callable[..., Harness], sqlite_store: Store) -> Harness:
    """A Harness on SQLite."""
    return make_harness(sqlite_store)


@pytest.fixture
def db_harness(make_harness: Callable[..., Harness], store: Store) -> Harness:
    """A Harness on each backend (SQLite and PostgreSQL)."""
    return make_harness(store)


@dataclass
class Outage:
    """Makes a store's database unreachable: every new connection fails until ``end()``."""

    store: Store
    down: bool = False

    def __post_init__(self) -> None:
        sa_event.listen(self.store.engine, "do_connect", self._connect)

    def _connect(self, dialect: Any, _record: Any, _args: Any, _params: Any) -> None:
        if self.down:
            raise dialect.loaded_dbapi.OperationalError("connection refused (simulated outage)")

    def begin(self) -> None:
        """From now on the database cannot be reached (pooled connections are dropped)."""
        self.down = True
        self.store.engine.dispose()

    def end(self) -> None:
        """The database is back."""
        self.down = False


@pytest.fixture
def outage() -> Callable[[Store], Outage]:
    """``outage(store)``: an :class:`Outage` switch for that store."""
    return Outage


@pytest.fixture
def fake_source() -> type[FakeZendeskSource]:
    """The FakeZendeskSource class (build one with other secrets or a platform delay)."""
    return FakeZendeskSource


@pytest.fixture
def zendesk_event() -> Callable[..., bytes]:
    """``zendesk_event(event_id, ticket_id=, status=, at=, external_id=)`` → body bytes."""
    return zendesk_event_body


@pytest.fixture
def signer() -> Callable[..., dict[str, str]]:
    """``signer(body, secret=SECRET, when=now)`` → Zendesk signature headers."""
    return signed_headers


@pytest.fixture
def handoff_doc() -> Callable[..., dict[str, Any]]:
    """``handoff_doc(id, **changes)`` → a valid handoff document."""
    return handoff_doc_builder


@pytest.fixture
def service_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog capturing everything the service logs, at DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def known() -> Any:
    """The constants tests compare against: API_KEY, SECRET, PUBLIC_URL."""
    return SimpleNamespace(API_KEY=API_KEY, SECRET=SECRET, PUBLIC_URL=PUBLIC_URL)
