"""C7 end to end: a handoff through the Zendesk connector into the sandbox, where an
unauthenticated customer claims the email of the help desk's own admin.

``claimed`` makes the admin the requester (today's behaviour, opted into); ``tag`` does too,
but the ticket carries ``identity_unverified`` and the note opens with a warning; ``anonymous``
does not make the admin the requester: the ticket gets the mapping's fallback requester, or
none at all and Zendesk's default (the API user), and the claim stays visible in the note.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from baton.connectors.base import connector_for
from baton.core.handoff import Customer, parse_handoff
from baton.core.mapping import CompiledMapping
from baton.core.mapping.note import identity_warning
from baton.core.mapping.render import IDENTITY_UNVERIFIED_TAG
from baton.core.mapping.spec import FallbackRequester, UnverifiedRequester
from baton.sandbox.zendesk import Ticket, User
from tests.contract.harness_zendesk import ZendeskHarness, zendesk_harness
from tests.support.paths import FAILED_IDENTITY as EXAMPLE

ADMIN_ID, ADMIN_EMAIL = 990_001, "helpdesk.admin@baton-sandbox.example"
FALLBACK = FallbackRequester(name="Unidentified customer", email="unidentified@example.com")


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskHarness]:
    """The contract suite's Zendesk sandbox, with a second admin whose email gets claimed."""
    with zendesk_harness(monkeypatch) as running:
        assert isinstance(running, ZendeskHarness)
        admin = running.state.add_agent(ADMIN_ID, "Helpdesk Admin", ADMIN_EMAIL)
        admin.role = "admin"
        yield running


def deliver(
    zendesk: ZendeskHarness,
    policy: UnverifiedRequester,
    *,
    authenticated: bool,
    fallback: FallbackRequester | None = None,
) -> Ticket:
    """Deliver a handoff claiming the admin's email under ``policy``; the ticket it became."""
    spec = zendesk.mapping.spec.model_copy(
        update={"unverified_requester": policy, "fallback_requester": fallback}
    )
    mapping: CompiledMapping = replace(zendesk.mapping, spec=spec)
    claim = Customer(name="Helpdesk Admin", email=ADMIN_EMAIL, authenticated=authenticated)
    handoff = parse_handoff(EXAMPLE.read_bytes()).model_copy(
        update={"id": f"c7-{uuid.uuid4().hex[:12]}", "customer": claim}
    )
    connector = connector_for("zendesk", mapping, zendesk.env)
    try:
        ref = connector.create_ticket(handoff)
    finally:
        connector.close()
    [ticket] = zendesk.state.list_tickets(handoff.id)
    assert str(ticket.id) == ref.ticket_id
    return ticket


def requester(zendesk: ZendeskHarness, ticket: Ticket) -> User:
    return zendesk.state.users[ticket.requester_id]


@pytest.mark.parametrize("policy", ["claimed", "tag", "anonymous"])
def test_c7_an_authenticated_customer_is_the_requester_under_every_policy(
    zendesk: ZendeskHarness, policy: UnverifiedRequester
) -> None:
    ticket = deliver(zendesk, policy, authenticated=True)
    assert ticket.requester_id == ADMIN_ID
    assert IDENTITY_UNVERIFIED_TAG not in ticket.tags
    assert "Identity not verified" not in ticket.comments[0].html_body


def test_c7_claimed_makes_the_claimed_admin_the_requester(zendesk: ZendeskHarness) -> None:
    ticket = deliver(zendesk, "claimed", authenticated=False)
    assert ticket.requester_id == ADMIN_ID
    assert IDENTITY_UNVERIFIED_TAG not in ticket.tags


def test_c7_tag_keeps_the_claimed_admin_but_tags_and_warns(zendesk: ZendeskHarness) -> None:
    ticket = deliver(zendesk, "tag", authenticated=False)
    assert ticket.requester_id == ADMIN_ID
    assert IDENTITY_UNVERIFIED_TAG in ticket.tags
    note = ticket.comments[0]
    assert note.public is False
    assert note.html_body.startswith(identity_warning(html=True, claimed_is_requester=True))


def test_c7_anonymous_never_makes_the_claimed_admin_the_requester(
    zendesk: ZendeskHarness,
) -> None:
    ticket = deliver(zendesk, "anonymous", authenticated=False)
    assert ticket.requester_id != ADMIN_ID
    assert ticket.requester_id == zendesk.state.api_user.id  # Zendesk's default: the submitter
    assert IDENTITY_UNVERIFIED_TAG in ticket.tags
    note = ticket.comments[0].html_body
    assert note.startswith(identity_warning(html=True, claimed_is_requester=False))
    assert ADMIN_EMAIL in note  # the claim stays visible to the agent


def test_c7_anonymous_with_a_fallback_makes_the_fallback_the_requester(
    zendesk: ZendeskHarness,
) -> None:
    ticket = deliver(zendesk, "anonymous", authenticated=False, fallback=FALLBACK)
    user = requester(zendesk, ticket)
    assert (user.name, user.email, user.role) == (FALLBACK.name, FALLBACK.email, "end-user")
    assert ticket.requester_id != ADMIN_ID
    again = deliver(zendesk, "anonymous", authenticated=False, fallback=FALLBACK)
    assert again.requester_id == ticket.requester_id  # found by email, not made twice
