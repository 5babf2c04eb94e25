"""B1 ``ticket.replied`` on Salesforce and HubSpot, end to end through the sync job.

A rep's public reply made in the platform's sandbox (a published CaseComment by an agent; an
e-mail sent from the ticket) reaches a receiver that verifies every callback with the
``standardwebhooks`` package, once, though the sync runs twice; the private note and the
customer's own message made beside it never do. Neither platform's webhooks carry a reply, so
the sync run is the path.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from test_callbacks import Receiver, _events, _sender

from baton.connectors.hubspot import facts as hubspot_facts
from baton.connectors.salesforce.connector import SalesforceConnector
from baton.connectors.salesforce.local import start_local_salesforce
from baton.core.catalog import load_catalog
from baton.core.handoff import Platform
from baton.core.mapping import load_mapping
from baton.core.ports import ChangeFeed
from baton.core.store import Store
from baton.core.sync import run_sync
from baton.sandbox.clock import ManualClock
from tests.support.builders import make_handoff
from tests.support.hubspot_portal import MAYA, running_portal
from tests.support.paths import MAPPINGS, catalog_path

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REPLY = "Your refund went out today."


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    from baton.sandbox.server import serve_in_thread

    found = Receiver()
    with serve_in_thread(found.app()) as server:
        yield found, f"{server.base_url}/hook"


def _link(store: Store, platform: Platform, handoff_id: str, ticket_id: str) -> None:
    store.add_handoff(make_handoff(handoff_id), platform)
    [claim] = store.claim_deliveries("test", limit=1, handoff_ids=[handoff_id])
    store.complete_delivery(claim.delivery_id, "test", ticket_id=ticket_id, ticket_url=None)


def _sync_twice_and_send(
    store: Store, feed: ChangeFeed, name: str, clock: ManualClock, url: str, advance: float
) -> list[int]:
    applied = []
    for _ in range(2):
        clock.advance(advance)
        applied.append(run_sync(store, feed, name=name, since=START - timedelta(hours=1)).applied)
    sender = _sender(store, url, ManualClock(datetime.now(UTC)))  # the outbox's own clock
    try:
        sender.drain()
    finally:
        sender.stop()
    return applied


def _replies(receiver: Receiver, handoff_id: str) -> list[dict[str, Any]]:
    return [
        doc["data"]
        for _, doc in receiver.accepted
        if doc["type"] == "ticket.replied" and doc["data"]["handoff_id"] == handoff_id
    ]


def test_a_salesforce_agents_comment_is_told_once(
    sqlite_store: Store, receiver: tuple[Receiver, str]
) -> None:
    endpoint, url = receiver
    store = sqlite_store
    store.callbacks_enabled = True
    clock = ManualClock(START)
    org = start_local_salesforce(load_catalog(catalog_path("salesforce")), clock=clock)
    try:
        connector = SalesforceConnector.from_env(load_mapping(MAPPINGS, "salesforce"), org.env)
        handoff = make_handoff("h-sf-told")
        ref = connector.create_ticket(handoff)
        _link(store, "salesforce", handoff.id, ref.ticket_id)
        control = f"{org.base_url}/_sandbox"
        httpx.post(
            f"{control}/users", json={"name": "Carla Customer", "user_type": "CSPLitePortal"}
        )
        agent = next(
            u["Name"] for u in org.state.records["User"].values() if u["Id"] != org.state.api_user
        )
        comment = f"{control}/cases/{ref.ticket_id}/comment"
        httpx.post(comment, json={"body": "Internal only", "public": False, "author": agent})
        httpx.post(comment, json={"body": "Any news?", "author": "Carla Customer"})
        httpx.post(comment, json={"body": REPLY, "author": agent})
        applied = _sync_twice_and_send(store, connector, "salesforce", clock, url, 1)
        assert applied[0] >= 1
        assert applied[1] == 0
        connector.close()
    finally:
        org.stop()
    assert endpoint.refused == 0
    assert [(r["body"], r["author"]) for r in _replies(endpoint, handoff.id)] == [(REPLY, agent)]
    assert _events(endpoint, handoff.id).count("ticket.replied") == 1


def test_a_hubspot_reps_email_is_told_once(
    sqlite_store: Store, receiver: tuple[Receiver, str]
) -> None:
    endpoint, url = receiver
    store = sqlite_store
    store.callbacks_enabled = True
    with running_portal(START) as portal:
        connector = portal.connector()
        handoff = make_handoff("h-hs-told")
        ticket = portal.ticket(handoff.id, hubspot_owner_id=MAYA)
        _link(store, "hubspot", handoff.id, ticket)
        control = f"{portal.env['BATON_HUBSPOT_HOST_OVERRIDE']}/_sandbox/tickets/{ticket}"
        httpx.post(f"{control}/note", json={"body": "Internal only"})
        httpx.post(f"{control}/customer-email", json={"body": "Any news?"})
        httpx.post(f"{control}/reply", json={"body": REPLY})
        settle = hubspot_facts.SEARCH_SETTLE_SECONDS + 1
        applied = _sync_twice_and_send(store, connector, "hubspot", portal.clock, url, settle)
    assert applied[0] >= 1
    assert applied[1] == 0
    assert endpoint.refused == 0
    replies = _replies(endpoint, handoff.id)
    assert [(r["body"], r["author"]) for r in replies] == [(REPLY, "Maya Okafor")]
    assert "Internal only" not in str(endpoint.accepted)
    assert "Any news?" not in str(endpoint.accepted)
