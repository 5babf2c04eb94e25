"""connectors.hubspot against the local HubSpot sandbox (the SDK speaks urllib3, which
``responses`` cannot see): the two-call first attempt with the customer's contact associated
inline, the contact looked up and created once, the 409 read back, the retry's search, and a
refused target with its backup (the error classification: test_hubspot_errors.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from baton.core.errors import IdempotencyConflict, TargetRefused
from baton.core.mapping.note import carries_note_marker
from baton.sandbox.hubspot import HubSpotState
from tests.contract.helpers import new_handoff
from tests.support.hubspot_portal import (
    BACKUP_LABEL,
    CONTACT_SEARCH,
    CONTACTS,
    MAYA,
    NOTES,
    Portal,
    customer,
    plain,
    running_portal,
)


@pytest.fixture
def portal() -> Iterator[Portal]:
    with running_portal(datetime(2026, 11, 27, 12, 0, tzinfo=UTC)) as found:
        yield found


# ---- the first attempt --------------------------------------------------------------------


def test_a_known_customer_costs_exactly_two_calls_ticket_with_contact_then_note(portal) -> None:
    connector = portal.connector()
    email = "known.customer@example.com"
    first = connector.create_ticket(plain(email))
    portal.state.request_log.clear()
    lookups = connector.contacts.lookups

    handoff = plain(email.upper())  # the cache is case-insensitive
    ref = connector.create_ticket(handoff)

    assert portal.calls() == [("POST", "/crm/v3/objects/tickets"), ("POST", NOTES[1:-1])]
    assert connector.contacts.lookups == lookups
    assert ref.created
    assert ref.ticket_id != first.ticket_id
    [contact] = portal.contacts(first.ticket_id)
    assert portal.contacts(ref.ticket_id) == [contact]
    with portal.state.lock:
        record = portal.state.records["tickets"][ref.ticket_id]
        assert record.properties["baton_handoff_id"] == handoff.id
    [body] = portal.notes(ref.ticket_id)
    assert carries_note_marker(body, handoff.id)
    assert portal.state.associated("notes", *_note_id(portal.state, ref.ticket_id), "tickets")


def _note_id(state: HubSpotState, ticket_id: str) -> tuple[str]:
    [(note_id, types)] = state.associated("tickets", ticket_id, "notes")
    assert types  # a labelled association
    return (note_id,)


def test_an_unknown_email_is_searched_then_created_once(portal) -> None:
    connector = portal.connector()
    email = "new.customer@example.com"
    ref = connector.create_ticket(plain(email))
    assert portal.calls() == [
        ("POST", CONTACT_SEARCH),
        ("POST", CONTACTS),
        ("POST", "/crm/v3/objects/tickets"),
        ("POST", "/crm/v3/objects/notes"),
    ]
    assert connector.contacts.lookups == 2
    [contact] = portal.contacts(ref.ticket_id)
    with portal.state.lock:
        assert portal.state.records["contacts"][contact].properties["email"] == email


def test_an_existing_contact_is_found_by_search_and_not_created_again(portal) -> None:
    existing = portal.state.create("contacts", {"email": "there@example.com"}, "CRM_UI")
    connector = portal.connector()
    ref = connector.create_ticket(plain("There@Example.com"))
    assert [p for _, p in portal.calls()].count(CONTACTS) == 0
    assert portal.contacts(ref.ticket_id) == [existing.id]
    assert connector.contacts.lookups == 1


def test_no_email_no_contact_calls(portal) -> None:
    connector = portal.connector()
    ref = connector.create_ticket(plain(None))
    assert len(portal.calls()) == 2
    assert portal.contacts(ref.ticket_id) == []


def test_an_unauthenticated_customers_email_is_still_used_under_tag(portal) -> None:
    """resolve_identity keeps a claimed email under ``tag`` (only ``anonymous`` drops it)."""
    assert portal.mapping.spec.unverified_requester == "tag"
    connector = portal.connector()
    handoff = plain("claimed@example.com", authenticated=False)
    assert connector.customer_email(handoff) == "claimed@example.com"
    ref = connector.create_ticket(handoff)
    [contact] = portal.contacts(ref.ticket_id)
    with portal.state.lock:
        assert portal.state.records["contacts"][contact].properties["email"] == (
            "claimed@example.com"
        )
        tags = portal.state.records["tickets"][ref.ticket_id].properties["baton_tags"] or ""
    assert "identity_unverified" in tags


def test_anonymous_policy_drops_an_unauthenticated_email(portal) -> None:
    connector = portal.connector()
    spec = connector.spec.model_copy(update={"unverified_requester": "anonymous"})
    connector.spec = spec
    assert connector.customer_email(plain("claimed@example.com", authenticated=False)) is None
    assert connector.customer_email(plain("signed@example.com", authenticated=True)) == (
        "signed@example.com"
    )


# ---- sent again: the 409 read back, the retry's search -------------------------------------


def test_the_same_handoff_sent_again_is_found_through_the_409(portal) -> None:
    connector = portal.connector()
    handoff = plain(None)
    first = connector.create_ticket(handoff)
    again = connector.create_ticket(handoff)
    assert (again.ticket_id, again.created) == (first.ticket_id, False)
    assert len(portal.notes(first.ticket_id)) == 1


def test_another_handoffs_ticket_under_the_same_id_is_a_conflict(portal) -> None:
    connector = portal.connector()
    handoff = plain(None)
    ref = connector.create_ticket(handoff)
    other = handoff.model_copy(update={"summary": "A different conversation entirely."})
    with pytest.raises(IdempotencyConflict):
        connector.create_ticket(other)
    assert len(portal.notes(ref.ticket_id)) == 1


def test_a_retry_finds_the_ticket_reads_its_notes_and_posts_none(portal) -> None:
    connector = portal.connector()
    handoff = plain(None)
    first = connector.create_ticket(handoff)
    portal.state.request_log.clear()
    again = connector.create_ticket(handoff, first_attempt=False)
    assert (again.ticket_id, again.created) == (first.ticket_id, False)
    assert ("POST", "/crm/v3/objects/tickets/search") in portal.calls()
    assert ("POST", "/crm/v3/objects/notes") not in portal.calls()
    assert len(portal.notes(first.ticket_id)) == 1


def test_a_retry_with_no_ticket_upserts_one_and_posts_its_note(portal) -> None:
    connector = portal.connector()
    handoff = plain("retry@example.com")
    ref = connector.create_ticket(handoff, first_attempt=False)
    assert ref.created
    paths = [p for _, p in portal.calls()]
    assert "/crm/v3/objects/tickets/batch/upsert" in paths
    assert paths.count("/crm/v3/objects/notes") == 1
    assert len(portal.contacts(ref.ticket_id)) == 1
    [body] = portal.notes(ref.ticket_id)
    assert carries_note_marker(body, handoff.id)


# ---- a refused target ----------------------------------------------------------------------


def test_a_refused_owner_is_target_refused_with_the_backups_label(portal) -> None:
    with portal.state.lock:
        portal.state.owners = [o for o in portal.state.owners if o.id != MAYA]
    connector = portal.connector()
    vip = customer(new_handoff(), tier="vip", email=None, phone=None)
    assert "owner Maya Okafor" in connector.plan_for(vip).target
    with pytest.raises(TargetRefused) as refused:
        connector.create_ticket(vip)
    assert refused.value.fields == ("hubspot_owner_id",)
    assert refused.value.backup == BACKUP_LABEL
    assert not portal.state.records["tickets"]

    ref = connector.create_ticket(vip, use_backup=True)
    assert ref.backup
    assert ref.target == BACKUP_LABEL
    with portal.state.lock:
        props = portal.state.records["tickets"][ref.ticket_id].properties
    assert props.get("hubspot_owner_id") is None
    assert props["hs_pipeline"] == "0"


def test_a_refused_backup_carries_no_further_backup(portal) -> None:
    with portal.state.lock:
        portal.state.pipelines = [p for p in portal.state.pipelines if p.id != "0"]
    connector = portal.connector()
    with pytest.raises(TargetRefused) as refused:
        connector.create_ticket(plain(None), use_backup=True)
    assert set(refused.value.fields) <= {"hs_pipeline", "hs_pipeline_stage"}
    assert refused.value.fields
    assert refused.value.backup is None


def test_a_refused_route_that_is_the_backup_already_names_no_backup(portal) -> None:
    with portal.state.lock:
        portal.state.pipelines = [p for p in portal.state.pipelines if p.id != "0"]
    connector = portal.connector()
    handoff = plain(None)
    assert connector.plan_for(handoff).target == BACKUP_LABEL
    with pytest.raises(TargetRefused) as refused:
        connector.create_ticket(handoff)
    assert refused.value.backup is None


def test_a_refused_owner_on_the_retrys_upsert_is_target_refused_too(portal) -> None:
    with portal.state.lock:
        portal.state.owners = [o for o in portal.state.owners if o.id != MAYA]
    connector = portal.connector()
    vip = customer(new_handoff(), tier="vip", email=None, phone=None)
    with pytest.raises(TargetRefused) as refused:
        connector.create_ticket(vip, first_attempt=False)
    assert refused.value.fields == ("hubspot_owner_id",)
    assert refused.value.backup == BACKUP_LABEL
