"""B1 ``ticket.replied``: a person's public reply reaches the agent platform, once.

The store records a reply under its unique ``(platform, ticket_id, reply_id)`` and writes its
callback in the same transaction, so a reply seen by a webhook and again by the healing sync is
told once (on SQLite and PostgreSQL); its text is redacted first. End to end, a public reply
made by a sandbox agent reaches a verifying receiver as ``ticket.replied`` through the
sandbox's webhook delivery to the service, and, with the webhook lost, through the sync of the
ticket events export; a private note never does.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_callbacks import SECRET, Receiver

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.events import EventReader
from baton.connectors.zendesk.http import ZendeskSettings
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.mapping import load_mapping
from baton.core.replies import MAX_BODY_CHARS, PublicReply
from baton.core.store import Store
from baton.core.store_replies import reply_document
from baton.core.sync import sync_replies
from baton.core.tables import CallbackRow
from baton.sandbox.clock import ManualClock
from baton.sandbox.server import serve_in_thread
from baton.sandbox.zendesk import WebhookTarget, ZendeskSandbox, ZendeskState
from baton.webhooks.intake import load_redactor
from tests.support.builders import make_handoff
from tests.support.paths import MAPPINGS, catalog_path

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
EMAIL_RULE = """version: 1
rules:
  - name: email
    pattern: '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}'
    label: email
"""
ZENDESK_SECRET = "replies-webhook-secret"


def _deliver(store: Store, handoff_id: str, ticket_id: str) -> None:
    store.add_handoff(make_handoff(handoff_id), "zendesk")
    [claim] = store.claim_deliveries("test", limit=1, handoff_ids=[handoff_id])
    store.complete_delivery(claim.delivery_id, "test", ticket_id=ticket_id, ticket_url=None)


def _reply(ticket_id: str, reply_id: str, body: str = "Your refund is on its way.") -> PublicReply:
    return PublicReply(
        platform="zendesk",
        ticket_id=ticket_id,
        reply_id=reply_id,
        author="Maya",
        body=body,
        created_at=T0 + timedelta(minutes=int(reply_id)),
    )


# ---- the store ----------------------------------------------------------------------------------


def test_a_reply_recorded_twice_is_told_once(store: Store) -> None:
    store.callbacks_enabled = True
    _deliver(store, "h-r1", "11")
    assert store.add_reply(_reply("11", "1"))  # the webhook
    assert not store.add_reply(_reply("11", "1"))  # the healing sync, later
    rows = store.callbacks_of("h-r1")
    assert [r.event_type for r in rows] == ["ticket.created", "ticket.replied"]
    assert [r.reply_id for r in store.replies_of("h-r1")] == ["1"]


def test_a_reply_on_a_ticket_baton_did_not_make_is_not_recorded(store: Store) -> None:
    store.callbacks_enabled = True
    assert not store.add_reply(_reply("999", "1"))
    assert store.table_counts()["replies"] == 0
    assert store.list_callbacks() == []


def _mappings_with_email_rule(tmp_path: Path) -> Path:
    """The repository's mapping folder with a redaction rule for e-mail addresses."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    (folder / "redaction.yaml").write_text(EMAIL_RULE)
    return folder


def test_the_reply_is_redacted_and_fitted_before_it_is_stored_or_sent(
    store: Store, tmp_path: Path
) -> None:
    store.callbacks_enabled = True
    store.reply_redactor = load_redactor(_mappings_with_email_rule(tmp_path))
    _deliver(store, "h-red", "12")
    body = "Write to maya.lopez@example.com, card 4111 1111 1111 1111. " + "x" * MAX_BODY_CHARS
    store.add_reply(_reply("12", "3", body))
    [_, replied] = store.callbacks_of("h-red")
    payload = next(p for p in _payloads(store) if p["type"] == "ticket.replied")
    assert payload["data"]["body"].startswith("Write to [email], card [card ••••1111]. xxx")
    assert len(payload["data"]["body"]) == MAX_BODY_CHARS
    assert replied.event_type == "ticket.replied"
    latest = reply_document(store.latest_reply("h-red"))
    assert latest is not None
    assert latest["body"] == payload["data"]["body"]
    assert set(latest) == {"reply_id", "author", "body", "at"}


def _payloads(store: Store) -> list[dict[str, Any]]:
    with store.reading() as session:
        return [json.loads(row.payload) for row in session.scalars(select(CallbackRow))]


_EXAMPLES = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    arrivals=st.lists(
        st.tuples(st.sampled_from(["webhook", "sync"]), st.integers(min_value=1, max_value=4)),
        min_size=1,
        max_size=16,
    )
)
def test_any_arrival_order_tells_each_reply_exactly_once_in_order(
    store: Store, arrivals: list[tuple[str, int]]
) -> None:
    """Webhooks and sync pages in any order, with duplicates: each reply that arrived is told
    exactly once, after ticket.created, the handoff's callbacks numbered without gaps."""
    store.callbacks_enabled = True
    n = next(_EXAMPLES)  # the store outlives each example: a handoff and ticket of its own
    handoff_id, ticket_id = f"h-any-{n}", str(1000 + n)
    _deliver(store, handoff_id, ticket_id)
    for source, n in arrivals:
        reply = _reply(ticket_id, str(n))
        if source == "webhook":
            store.add_reply(reply)
        else:
            with store.session() as session:  # as a sync page applies it, with its cursor
                store.add_reply(reply, session=session)
    rows = store.callbacks_of(handoff_id)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].event_type == "ticket.created"
    told = [r for r in rows[1:] if r.event_type == "ticket.replied"]
    arrived = list(dict.fromkeys(n for _, n in arrivals))  # first arrival order, once each
    assert len(told) == len(rows) - 1 == len(arrived)
    assert [r.reply_id for r in store.replies_of(handoff_id)] == [str(n) for n in sorted(arrived)]


# ---- the Zendesk webhook body -------------------------------------------------------------------


def _comment_event(public: bool, staff: bool, author_id: str = "501") -> bytes:
    return json.dumps(
        {
            "type": "zen:event-type:ticket.comment_added",
            "id": "ev-1",
            "time": "2026-11-27T09:05:00Z",
            "subject": "zen:ticket:7",
            "detail": {"id": "7", "status": "OPEN", "requester_id": "900"},
            "event": {
                "comment": {
                    "id": "555",
                    "body": "Hello!",
                    "is_public": public,
                    "author": {"id": author_id, "is_staff": staff, "name": "Maya"},
                }
            },
        }
    ).encode()


def test_only_a_public_comment_by_staff_is_a_reply() -> None:
    reader = EventReader({}, lambda _: None)
    [event] = reader.parse(_comment_event(public=True, staff=True))
    assert [(r.ticket_id, r.reply_id, r.author) for r in event.replies] == [("7", "555", "Maya")]
    for body in (
        _comment_event(public=False, staff=True),  # a private note
        _comment_event(public=True, staff=False),  # the customer
        _comment_event(public=True, staff=True, author_id="900"),  # the requester
    ):
        assert reader.parse(body)[0].replies == ()
    unreadable = json.loads(_comment_event(public=True, staff=True))
    unreadable["event"] = {"comment": {"body": "no id"}}
    [event] = reader.parse(json.dumps(unreadable).encode())
    assert event.replies == ()  # no reply told; the status change still read, sync heals it
    assert event.disposition is not None


# ---- end to end: the sandbox, the service, a verifying receiver --------------------------------


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ZendeskState, ZendeskSandbox]]:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "placeholder")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "placeholder")
    clock = ManualClock(datetime.now(UTC))
    state = ZendeskState.from_catalog(load_catalog(catalog_path("zendesk")), clock=clock)
    with ZendeskSandbox(state) as sandbox:
        yield state, sandbox
    state.webhooks.stop()


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_public_reply_reaches_the_receiver_and_a_private_note_does_not(
    desk: tuple[ZendeskState, ZendeskSandbox], sqlite_store: Store, tmp_path: Path
) -> None:
    from baton.webhooks.service import build_service
    from tests.service.conftest import API_KEY, _settings

    state, sandbox = desk
    store = sqlite_store
    env = {**sandbox_settings(sandbox), "BATON_ZENDESK_WEBHOOK_SECRETS": ZENDESK_SECRET}
    connector = ZendeskConnector(
        ZendeskSettings.from_env(env), load_mapping(MAPPINGS, "zendesk"), clock=state.clock
    )
    receiver = Receiver()
    with serve_in_thread(receiver.app()) as hook:
        callback_env = {"BATON_CALLBACK_URL": f"{hook.base_url}/hook"}
        callback_env["BATON_CALLBACK_SECRETS"] = SECRET
        service = build_service(
            _settings(mappings_dir=_mappings_with_email_rule(tmp_path)),
            store,
            connectors={"zendesk": connector},
            env=callback_env,
        )
        with serve_in_thread(service.app, lifespan="on") as baton:
            state.webhooks.add(WebhookTarget(f"{baton.base_url}/webhooks/zendesk", ZENDESK_SECRET))
            handoff = make_handoff("h-e2e-reply")
            store.add_handoff(handoff, "zendesk")
            ref = connector.create_ticket(handoff)
            [claim] = store.claim_deliveries("t", limit=1, handoff_ids=[handoff.id])
            store.complete_delivery(
                claim.delivery_id, "t", ticket_id=ref.ticket_id, ticket_url=None
            )
            control = f"{sandbox.base_url}/_sandbox/tickets/{ref.ticket_id}/reply"
            # Through the webhook: the sandbox delivers comment_added to the service.
            httpx.post(control, json={"body": "A private note: refund approved", "public": False})
            httpx.post(control, json={"body": "Hi! Mail me at ops@example.com", "public": True})
            _wait(lambda: "ticket.replied" in _types(receiver))
            # The webhook is lost: the ticket events export heals the next reply.
            state.webhooks.targets.clear()
            httpx.post(control, json={"body": "Done: the refund went out.", "public": True})
            state.clock.advance(120)  # past the export's one-minute horizon
            summary = sync_replies(
                store, connector, name="zendesk", since=state.clock() - timedelta(hours=1)
            )
            assert summary.applied == 1  # the webhook's reply was a duplicate
            _wait(lambda: _types(receiver).count("ticket.replied") == 2)
            again = sync_replies(store, connector, name="zendesk", since=T0)
            assert again.applied == 0
            status = httpx.get(
                f"{baton.base_url}/v1/handoffs/{handoff.id}",
                headers={"Authorization": f"Bearer {API_KEY}"},
            ).json()
    replies = [d["data"] for _, d in receiver.accepted if d["type"] == "ticket.replied"]
    assert [r["body"] for r in replies] == [
        "Hi! Mail me at [email]",
        "Done: the refund went out.",
    ]
    assert all(r["author"] for r in replies)
    assert receiver.refused == 0
    assert "private note" not in str(receiver.accepted)
    assert status["latest_reply"]["body"] == "Done: the refund went out."
    assert set(status["latest_reply"]) == {"reply_id", "author", "body", "at"}


def _types(receiver: Receiver) -> list[str]:
    return [d["type"] for _, d in receiver.accepted]
