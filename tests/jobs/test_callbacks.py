"""B1: the callback to the agent platform.

Each change of a handoff's state is written to the callback outbox in the transaction that
made it, and POSTed at least once, in order per handoff, with a stable ``webhook-id``; a test
receiver verifies every request with the ``standardwebhooks`` package (an independent
implementation of the scheme). A receiver down for ten minutes of Baton's clock gets every
event once it is back; the delivery worker never waits on it.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from jobs_fakes import T0, FakeCreator, make_disposition, make_worker
from prometheus_client import CollectorRegistry
from standardwebhooks.webhooks import Webhook

from baton.core.callback_sender import CallbackSender, CallbackSettings
from baton.core.callbacks import CallbackSigner, changes, human_holds_conversation
from baton.core.delivery import DeliveryMetrics
from baton.core.store import Store
from baton.sandbox.clock import ManualClock
from baton.sandbox.server import serve_in_thread
from tests.support.builders import make_handoff

SECRET = "whsec_" + base64.b64encode(b"callback-test-secret-0123456789").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"callback-old-secret-9876543210").decode()


@dataclass
class Receiver:
    """An agent platform's endpoint: verifies with standardwebhooks, keeps what it accepted;
    ``down`` answers 503 (after reading), ``duplicate_once`` records then answers 500."""

    verifier: Webhook = field(default_factory=lambda: Webhook(SECRET))
    accepted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: int = 0
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.down:
                return Response(status_code=503)
            try:
                document = self.verifier.verify(body, dict(request.headers))
            except Exception:
                with self.lock:
                    self.refused += 1
                return Response(status_code=401)
            with self.lock:
                self.accepted.append((request.headers["webhook-id"], document))
            return Response(status_code=204)

        return app


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    with serve_in_thread(found.app()) as server:
        yield found, f"{server.base_url}/hook"


def _sender(store: Store, url: str, clock: ManualClock, **options: Any) -> CallbackSender:
    settings = CallbackSettings(url, (SECRET,), timeout=5.0, **options)
    return CallbackSender(store, settings, clock=clock)


def _deliver(store: Store, handoff_id: str, ticket_id: str) -> None:
    store.add_handoff(make_handoff(handoff_id), "zendesk")
    [claim] = store.claim_deliveries("test", limit=1, handoff_ids=[handoff_id])
    store.complete_delivery(claim.delivery_id, "test", ticket_id=ticket_id, ticket_url=None)


def _events(receiver: Receiver, handoff_id: str) -> list[str]:
    return [doc["type"] for _, doc in receiver.accepted if doc["data"]["handoff_id"] == handoff_id]


# ---- which changes are told ----------------------------------------------------------------


def test_a_resolution_tells_resolved_and_returns_the_conversation() -> None:
    before = make_disposition("1", "open", T0, handoff_id="h-1")
    after = make_disposition("1", "resolved", T0 + timedelta(hours=1), handoff_id="h-1")
    assert [e.type for e in changes(before, after)] == [
        "ticket.resolved",
        "conversation.returned",
    ]
    assert changes(after, after) == []  # the same state again tells nothing
    assert changes(None, make_disposition("1", "open", T0)) == []  # no handoff: nothing


def test_an_assignment_a_transfer_and_a_reopen_are_told() -> None:
    before = make_disposition("1", "open", T0, handoff_id="h-1")
    after = before.model_copy(
        update={"assignee": "Maya", "transfer_count": 1, "outcome": "transferred"}
    )
    assert [e.type for e in changes(before, after)] == ["ticket.assigned", "ticket.transferred"]
    reopened = after.model_copy(update={"outcome": "reopened", "reopen_count": 1})
    assert [e.type for e in changes(after, reopened)] == ["ticket.reopened"]


def test_a_person_holds_the_conversation_until_the_ticket_is_over() -> None:
    open_ = make_disposition("1", "open", T0, handoff_id="h-1")
    assert human_holds_conversation(True, None)
    assert human_holds_conversation(True, open_)
    assert not human_holds_conversation(False, None)
    for outcome in ("resolved", "deleted", "merged"):
        assert not human_holds_conversation(True, open_.model_copy(update={"outcome": outcome}))


def test_rotation_signs_with_every_secret_and_either_verifies() -> None:
    headers = CallbackSigner([SECRET, OLD_SECRET]).headers(
        "msg_1", '{"a":1}', datetime.now(T0.tzinfo)
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OLD_SECRET):
        assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}


# ---- the outbox, in the store --------------------------------------------------------------


def test_nothing_is_written_while_callbacks_are_off(store: Store) -> None:
    _deliver(store, "h-off", "1")
    store.add_disposition(make_disposition("1", "resolved", T0, handoff_id="h-off"))
    assert store.callbacks_of("h-off") == []


def test_each_change_is_written_once_in_order_and_a_stale_one_tells_nothing(store: Store) -> None:
    store.callbacks_enabled = True
    _deliver(store, "h-1", "1")
    store.add_disposition(
        make_disposition("1", "resolved", T0 + timedelta(hours=2), handoff_id="h-1")
    )
    store.add_disposition(
        make_disposition("1", "resolved", T0 + timedelta(hours=2), handoff_id="h-1")
    )
    store.add_disposition(make_disposition("1", "open", T0 + timedelta(hours=1), handoff_id="h-1"))
    rows = store.callbacks_of("h-1")
    assert [(r.seq, r.event_type) for r in rows] == [
        (1, "ticket.created"),
        (2, "ticket.resolved"),
        (3, "conversation.returned"),
    ]
    assert len({r.webhook_id for r in rows}) == 3


# ---- delivery to the receiver ---------------------------------------------------------------


def test_every_callback_verifies_under_standardwebhooks(store: Store, receiver: Any) -> None:
    endpoint, url = receiver
    store.callbacks_enabled = True
    _deliver(store, "h-v", "7")
    store.add_disposition(make_disposition("7", "resolved", T0, handoff_id="h-v"))
    sender = _sender(store, url, ManualClock(datetime.now(UTC)))
    try:
        assert sender.drain() == 3
    finally:
        sender.stop()
    assert endpoint.refused == 0
    assert _events(endpoint, "h-v") == [
        "ticket.created",
        "ticket.resolved",
        "conversation.returned",
    ]
    created = endpoint.accepted[0][1]
    assert created["data"]["ticket_id"] == "7"
    assert [v.state for v in store.callbacks_of("h-v")] == ["delivered"] * 3


def test_ten_minutes_down_then_back_every_event_once_in_order(store: Store, receiver: Any) -> None:
    """The receiver answers 503 for ten minutes of Baton's clock; each retry keeps its
    webhook-id, the handoff's later events wait behind its first, and once the receiver is
    back every event arrives, in order, none lost."""
    endpoint, url = receiver
    store.callbacks_enabled = True
    clock = ManualClock(datetime.now(UTC))
    sender = _sender(store, url, clock)
    endpoint.down = True
    try:
        for n in range(3):
            _deliver(store, f"h-d{n}", f"d{n}")
            store.add_disposition(make_disposition(f"d{n}", "resolved", T0, handoff_id=f"h-d{n}"))
        for _ in range(20):  # ten minutes, thirty seconds at a time
            sender.run_once()
            clock.advance(30)
        held = store.list_callbacks()
        assert {v.state for v in held} == {"pending"}
        # Only each handoff's first event was tried while the receiver was down.
        assert {v.event_type for v in held if v.attempts} == {"ticket.created"}
        endpoint.down = False
        clock.advance(600)
        sender.drain()
    finally:
        sender.stop()
    for n in range(3):
        assert _events(endpoint, f"h-d{n}") == [
            "ticket.created",
            "ticket.resolved",
            "conversation.returned",
        ]
    ids = [webhook_id for webhook_id, _ in endpoint.accepted]
    assert len(ids) == len(set(ids)) == 9
    first = store.callbacks_of("h-d0")[0]
    assert first.attempts > 2  # retried under the one webhook-id it still carries
    assert (first.webhook_id, "ticket.created") in [(i, d["type"]) for i, d in endpoint.accepted]


def test_tickets_are_made_while_the_receiver_is_down(store: Store, receiver: Any) -> None:
    """Delivery and callbacks are separate jobs: with every callback failing, the worker
    still makes each ticket, and the callbacks wait in the outbox."""
    endpoint, url = receiver
    endpoint.down = True
    store.callbacks_enabled = True
    worker = make_worker(store, {"zendesk": FakeCreator()}, DeliveryMetrics(CollectorRegistry()))
    sender = _sender(store, url, ManualClock(datetime.now(UTC)))
    try:
        for n in range(5):
            store.add_handoff(make_handoff(f"h-w{n}"), "zendesk")
        sender.run_once()
        worker.drain()
        sender.run_once()
    finally:
        sender.stop()
    assert all(store.ticket_link(f"h-w{n}") is not None for n in range(5))
    assert endpoint.accepted == []
    assert len(store.list_callbacks("pending")) == 5


def test_a_payload_carries_no_transcript_text(store: Store, receiver: Any) -> None:
    endpoint, url = receiver
    store.callbacks_enabled = True
    _deliver(store, "h-t", "9")
    sender = _sender(store, url, ManualClock(datetime.now(UTC)))
    try:
        sender.drain()
    finally:
        sender.stop()
    [(_, document)] = endpoint.accepted
    assert set(document) == {"type", "timestamp", "data"}
    assert "transcript" not in json.dumps(document)


# ---- wiring: the service, the status, the command ---------------------------------------------


def test_the_service_runs_a_sender_and_writes_the_outbox_when_a_url_is_set(
    store: Store, receiver: Any
) -> None:
    from baton.core.errors import ConfigError
    from baton.webhooks.service import build_service
    from tests.service.conftest import FakeZendeskSource, _settings

    _endpoint, url = receiver
    sources: Any = {"zendesk": FakeZendeskSource()}
    env = {"BATON_CALLBACK_URL": url, "BATON_CALLBACK_SECRETS": SECRET}
    service = build_service(_settings(), store, connectors=sources, env=env)
    assert store.callbacks_enabled
    assert any(isinstance(job, CallbackSender) for job in service.jobs)
    with pytest.raises(ConfigError, match="BATON_CALLBACK_SECRETS"):
        build_service(_settings(), store, connectors=sources, env={"BATON_CALLBACK_URL": url})


def test_the_status_says_whether_a_person_holds_the_conversation(store: Store) -> None:
    _deliver(store, "h-s", "5")
    assert store.ticket_link("h-s") is not None
    current = store.current_disposition("h-s")
    assert human_holds_conversation(True, current)
    store.add_disposition(make_disposition("5", "resolved", T0, handoff_id="h-s"))
    assert not human_holds_conversation(True, store.current_disposition("h-s"))


def test_baton_callbacks_lists_and_retries_a_dead_one(tmp_path: Any, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from baton.webhooks.cli import app

    url = f"sqlite:///{tmp_path}/callbacks.db"
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")  # Rich sizes tables from it off a terminal
    store = Store(url)
    store.migrate()
    store.callbacks_enabled = True
    _deliver(store, "h-c", "3")
    now = datetime.now(UTC)
    [claimed] = store.claim_callbacks("t", limit=5, now=now, lease=timedelta(minutes=1))
    store.retry_callback_later(claimed.id, "t", error="HTTP 410", at=datetime.now(UTC), dead=True)
    store.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["callbacks", "--failed"])
    assert listed.exit_code == 0, listed.output
    assert "ticket.created" in listed.output
    assert "HTTP 410" in listed.output
    retried = runner.invoke(app, ["callbacks", "retry", str(claimed.id)])
    assert retried.exit_code == 0, retried.output
    again = runner.invoke(app, ["callbacks", "retry", str(claimed.id)])
    assert again.exit_code == 2
    assert "not a dead callback" in again.output
    assert "no failed callbacks" in runner.invoke(app, ["callbacks", "--failed"]).output
