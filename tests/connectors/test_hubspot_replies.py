"""HubSpot public replies: a rep's e-mail on Baton's ticket, made through the sandbox's control
API, is a PublicReply on the sync page; a note and the customer's e-mail are not; the cost is
two batch calls per page of Baton tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from baton.connectors.hubspot import facts
from baton.core.ports import ChangePage
from tests.support.hubspot_portal import MAYA, Portal, running_portal

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def portal() -> Iterator[Portal]:
    with running_portal(START) as found:
        yield found


def _act(portal: Portal, ticket_id: str, action: str, body: str) -> None:
    base = portal.env["BATON_HUBSPOT_HOST_OVERRIDE"]
    answer = httpx.post(f"{base}/_sandbox/tickets/{ticket_id}/{action}", json={"body": body})
    assert answer.status_code == 200, answer.text


def _run(portal: Portal, cursor: str | None = None) -> list[ChangePage]:
    portal.clock.advance(facts.SEARCH_SETTLE_SECONDS + 1)
    connector = portal.connector()
    return list(connector.changes(cursor, since=START - timedelta(seconds=1)))


def test_only_a_reps_email_is_a_public_reply(portal: Portal) -> None:
    ticket = portal.ticket(hubspot_owner_id=MAYA)
    first = _run(portal)
    portal.clock.advance(5)
    _act(portal, ticket, "note", "Internal: refund approved by finance")
    _act(portal, ticket, "customer-email", "Any news on my refund?")
    _act(portal, ticket, "reply", "Your refund went out today.")
    portal.state.request_log.clear()

    pages = _run(portal, first[-1].cursor)

    replies = [r for page in pages for r in page.replies]
    assert [(r.ticket_id, r.body) for r in replies] == [(ticket, "Your refund went out today.")]
    [reply] = replies
    assert reply.author == "Maya Okafor"
    assert reply.platform == "hubspot"
    posts = portal.posts()
    assert posts["/crm/v4/associations/tickets/emails/batch/read"] == 1
    assert posts["/crm/v3/objects/emails/batch/read"] == 1


def test_tickets_that_are_not_batons_cost_no_reply_reads(portal: Portal) -> None:
    theirs = portal.ticket(handoff_id=None, hubspot_owner_id=MAYA)
    _act(portal, theirs, "reply", "Hello from an agent's own ticket")
    portal.state.request_log.clear()
    pages = _run(portal)
    assert [r for page in pages for r in page.replies] == []
    assert portal.posts()["/crm/v4/associations/tickets/emails/batch/read"] == 0


def test_emails_beyond_one_association_page_are_followed(portal: Portal, monkeypatch) -> None:
    import baton.sandbox.hubspot.facts as sandbox_facts

    monkeypatch.setattr(sandbox_facts, "ASSOCIATIONS_PAGE_SIZE", 2)
    ticket = portal.ticket(hubspot_owner_id=MAYA)
    for n in range(5):
        portal.clock.advance(1)
        _act(portal, ticket, "reply", f"reply {n}")
    pages = _run(portal)
    bodies = [r.body for page in pages for r in page.replies]
    assert bodies == [f"reply {n}" for n in range(5)]
