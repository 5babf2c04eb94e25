"""connectors.hubspot's bulk create (``baton backfill``) against the local HubSpot sandbox: a
batch upsert and one notes batch per 100 handoffs, the customers' contacts found or created
per batch, a rerun that makes nothing twice, and one refused row among good ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from baton.connectors.hubspot.connector import HubSpotConnector
from baton.core.backfill import BulkItem
from baton.core.errors import FatalError, PlatformError, TargetRefused
from baton.core.handoff import Handoff
from baton.core.mapping.note import carries_note_marker
from baton.core.ports import TicketRef
from tests.contract.helpers import new_handoff
from tests.support.hubspot_portal import Portal, running_portal

UPSERT = "/crm/v3/objects/tickets/batch/upsert"
NOTES = "/crm/v3/objects/notes/batch/create"
NOTE = "/crm/v3/objects/notes"
CONTACT_SEARCH = "/crm/v3/objects/contacts/search"
CONTACT_CREATE = "/crm/v3/objects/contacts/batch/create"
ASSOCIATE = "/crm/v4/associations/tickets/contacts/batch/associate/default"
MAYA = "81000001"


@pytest.fixture
def portal() -> Iterator[Portal]:
    with running_portal(datetime(2026, 11, 27, 12, 0, tzinfo=UTC)) as found:
        yield found


def handoff(email: str | None = "auto", **customer: object) -> Handoff:
    base = new_handoff()
    address = f"bulk-{uuid.uuid4().hex[:10]}@example.com" if email == "auto" else email
    update = {"tier": "standard", "email": address, "phone": None, **customer}
    return base.model_copy(update={"customer": base.customer.model_copy(update=update)})


def create(
    connector: HubSpotConnector, items: Sequence[BulkItem]
) -> list[TicketRef | PlatformError]:
    """As ``baton backfill`` sends them: ``bulk_limit`` items a call."""
    results: list[TicketRef | PlatformError] = []
    for start in range(0, len(items), connector.bulk_limit):
        results += connector.create_tickets(items[start : start + connector.bulk_limit])
    return results


def test_250_handoffs_cost_three_upserts_and_three_note_batches(portal) -> None:
    connector = portal.connector()
    assert connector.bulk_limit == 100
    handoffs = [handoff() for _ in range(250)]
    results = create(connector, [BulkItem(h, True) for h in handoffs])

    calls = portal.posts()
    assert (calls[UPSERT], calls[NOTES]) == (3, 3)
    # the contacts, apart: one search and one batch create per batch, one association batch
    assert (calls[CONTACT_SEARCH], calls[CONTACT_CREATE], calls[ASSOCIATE]) == (3, 3, 3)
    assert sum(calls.values()) == 15
    assert connector.contacts.lookups == 6

    assert all(isinstance(r, TicketRef) and r.created for r in results)
    for item, ref in zip(handoffs, results, strict=True):
        assert isinstance(ref, TicketRef)
        assert portal.tickets(item.id) == [ref.ticket_id]
        [note] = portal.notes(ref.ticket_id)
        assert carries_note_marker(note, item.id)
        [contact] = portal.contacts(ref.ticket_id)
        with portal.state.lock:
            email = portal.state.records["contacts"][contact].properties["email"]
        assert email == item.customer.email
        assert ref.url.endswith(f"/record/0-5/{ref.ticket_id}")


def test_known_customers_cost_no_contact_calls(portal) -> None:
    connector = portal.connector()
    email = "same.customer@example.com"
    create(connector, [BulkItem(handoff(email), True)])
    portal.state.request_log.clear()
    results = create(connector, [BulkItem(handoff(email), True) for _ in range(5)])
    calls = portal.posts()
    assert (calls[CONTACT_SEARCH], calls[CONTACT_CREATE]) == (0, 0)
    assert sum(calls.values()) == 3  # upsert, notes, associations
    contacts = {
        c for r in results if isinstance(r, TicketRef) for c in portal.contacts(r.ticket_id)
    }
    assert len(contacts) == 1


def test_a_rerun_creates_nothing_and_posts_no_second_note(portal) -> None:
    connector = portal.connector()
    items = [BulkItem(handoff(), True) for _ in range(30)]
    first = create(connector, items)
    tickets = len(portal.state.records["tickets"])
    portal.state.request_log.clear()

    again = create(connector, [replace(item, first_attempt=False) for item in items])

    assert len(portal.state.records["tickets"]) == tickets
    assert portal.posts()[NOTES] == 0
    assert portal.posts()[NOTE] == 0
    for before, after in zip(first, again, strict=True):
        assert isinstance(before, TicketRef)
        assert isinstance(after, TicketRef)
        assert (after.ticket_id, after.created) == (before.ticket_id, False)
        assert len(portal.notes(after.ticket_id)) == 1


def test_a_rerun_posts_the_note_a_made_ticket_lacks(portal) -> None:
    connector = portal.connector()
    lonely = handoff(None)
    plan = connector.plan_for(lonely)
    made = portal.state.create("tickets", plan.requests[0].json["properties"], "INTEGRATION")
    [ref] = create(connector, [BulkItem(lonely, False)])
    assert isinstance(ref, TicketRef)
    assert (ref.ticket_id, ref.created) == (made.id, False)
    [note] = portal.notes(made.id)
    assert carries_note_marker(note, lonely.id)


def test_a_first_attempt_over_another_handoffs_note_is_a_conflict(portal) -> None:
    connector = portal.connector()
    original = handoff(None)
    create(connector, [BulkItem(original, True)])
    other = original.model_copy(update={"summary": "Another conversation under the same id."})
    [result] = create(connector, [BulkItem(other, True)])
    assert isinstance(result, PlatformError)
    assert result.code == "CONFLICT"
    [ticket] = portal.tickets(original.id)
    assert len(portal.notes(ticket)) == 1


def test_a_rerun_leaves_an_agents_changes_to_the_ticket_alone(portal) -> None:
    connector = portal.connector()
    item = BulkItem(handoff(None), True)
    [ref] = create(connector, [item])
    assert isinstance(ref, TicketRef)
    portal.state.move_to_stage(ref.ticket_id, "4")  # an agent closes it
    portal.state.assign(ref.ticket_id, "81000002")

    [again] = create(connector, [replace(item, first_attempt=False)])

    assert isinstance(again, TicketRef)
    assert again.ticket_id == ref.ticket_id
    with portal.state.lock:
        props = portal.state.records["tickets"][ref.ticket_id].properties
    assert (props["hs_pipeline_stage"], props["hubspot_owner_id"]) == ("4", "81000002")


def test_a_refused_row_is_an_error_in_its_slot_and_the_others_succeed(portal) -> None:
    # An admin removed the "free" tier option after the catalog was read, and deactivated
    # the owner the VIP rule routes to: the sandbox refuses those two rows (207).
    with portal.state.lock:
        tier = portal.state.properties["tickets"]["baton_customer_tier"]
        options = [o for o in tier.options if o[1] != "free"]
        portal.state.add_property("tickets", replace(tier, options=options))
        portal.state.owners = [o for o in portal.state.owners if o.id != MAYA]
    connector = portal.connector()
    handoffs = [handoff() for _ in range(6)]
    handoffs[2] = handoff(tier="free")
    handoffs[4] = handoff(tier="vip")
    assert (
        connector.plan_for(handoffs[2]).requests[0].json["properties"]["baton_customer_tier"]
        == "free"
    )

    results = create(connector, [BulkItem(h, True) for h in handoffs])

    bad_enum, bad_owner = results[2], results[4]
    assert isinstance(bad_enum, FatalError)
    assert not isinstance(bad_enum, TargetRefused)
    assert (bad_enum.status, bad_enum.code) == (400, "VALIDATION_ERROR")
    assert isinstance(bad_owner, TargetRefused)
    assert bad_owner.fields == ("hubspot_owner_id",)
    for index in (2, 4):
        assert portal.tickets(handoffs[index].id) == []
    good = [r for i, r in enumerate(results) if i not in (2, 4)]
    assert all(isinstance(r, TicketRef) and r.created for r in good)
    for ref in good:
        assert isinstance(ref, TicketRef)
        assert len(portal.notes(ref.ticket_id)) == 1
        assert len(portal.contacts(ref.ticket_id)) == 1
    calls = portal.posts()
    assert (calls[UPSERT], calls[NOTES]) == (1, 1)
