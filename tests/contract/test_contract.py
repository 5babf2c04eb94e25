"""The connector contract, run for every registered connector against its platform's sandbox.

Test names carry the reliability property ids they prove: O1 (at the connector level: the platform
answered, the answer was lost, the retry links to the one ticket), O2, O3, O6, A3, S1, S3, S4.
Webhook properties are in ``test_webhooks.py``, O5/O7/K4 in ``test_delivery_and_sync.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.connectors.base import delivering_platforms
from baton.core.disposition import Disposition
from baton.core.errors import AccessDenied, IdempotencyConflict, RetryableError, VerificationError
from baton.core.handoff import Customer
from tests.contract.harness import Harness
from tests.contract.harnesses import HARNESSES, unknown_opt_outs
from tests.contract.helpers import dispositions, new_handoff


def test_every_registered_connector_has_a_harness() -> None:
    missing = sorted(set(delivering_platforms()) - set(HARNESSES))
    assert not missing, f"registered connectors without a contract harness: {missing}"


def test_every_opt_out_names_a_known_property_and_gives_a_reason() -> None:
    """An opt-out of an id the suite does not know would silently prove nothing."""
    assert unknown_opt_outs() == []
    reasons = [r for registered in HARNESSES.values() for r in registered.opt_outs.values()]
    assert all(len(reason) > 20 for reason in reasons), reasons


# ------------------------------------------------------------------------------ create


@pytest.mark.property("mapping")
def test_create_lands_as_the_mapping_says(harness: Harness) -> None:
    handoff = new_handoff()
    ref = harness.connector.create_ticket(handoff)
    assert ref.platform == harness.platform
    assert ref.created is True
    landed, expected = harness.landed(ref.ticket_id), harness.expected(handoff)
    assert landed.external_id == expected.external_id == handoff.id
    assert landed.group == expected.group
    assert landed.group is not None
    assert landed.priority == expected.priority
    assert expected.tags <= landed.tags
    assert expected.fields.items() <= landed.fields.items()
    assert landed.note_private is expected.note_private is True
    assert harness.ticket_count(handoff.id) == 1


NAMES = st.from_regex(r"[A-Z][a-z]{1,11}( [A-Z][a-z]{1,11}){0,2}", fullmatch=True)
PHONES = st.from_regex(r"\+?[0-9][0-9 ()./-]{2,30}", fullmatch=True)
CUSTOMER_IDS = st.from_regex(r"(cus|usr)_[a-z0-9]{3,12}", fullmatch=True)


@st.composite
def customers_without_email(draw: st.DrawFn) -> Customer:
    """Only a name, only a phone, only an id, or nothing: no email to make a requester from."""
    fields: dict[str, Any] = {"authenticated": draw(st.booleans())}
    shape = draw(st.sampled_from(["name", "phone", "id", "nothing"]))
    if shape == "name":
        fields["name"] = draw(NAMES)
    elif shape == "phone":
        fields["phone"] = draw(PHONES)
    elif shape == "id":
        fields["id"] = draw(CUSTOMER_IDS)
    return Customer.model_validate(fields)


@pytest.mark.property("mapping")
def test_a_customer_without_an_email_still_gets_a_ticket(harness: Harness) -> None:
    """A customer known by name, phone, id or nothing at all becomes one ticket, as the
    mapping says: Baton never sends a requester the platform would refuse."""

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(customer=customers_without_email())
    def check(customer: Customer) -> None:
        handoff = new_handoff().model_copy(update={"customer": customer})
        ref = harness.connector.create_ticket(handoff)
        assert ref.created is True
        assert harness.ticket_count(handoff.id) == 1
        landed, expected = harness.landed(ref.ticket_id), harness.expected(handoff)
        assert landed.external_id == expected.external_id == handoff.id
        assert expected.tags <= landed.tags

    check()


@pytest.mark.property("O2")
def test_o2_an_idempotent_retry_makes_one_ticket_with_the_same_key(harness: Harness) -> None:
    handoff = new_handoff()
    first = harness.connector.create_ticket(handoff)
    again = harness.connector.create_ticket(handoff)
    after_restart = harness.new_connector().create_ticket(handoff)
    assert again.ticket_id == after_restart.ticket_id == first.ticket_id
    assert (first.created, again.created, after_restart.created) == (True, False, False)
    assert harness.ticket_count(handoff.id) == 1


@pytest.mark.property("O1")
def test_o1_answer_lost_after_commit_then_retry_links_to_the_one_ticket(harness: Harness) -> None:
    handoff = new_handoff()
    harness.inject(harness.create_fault("drop_after_commit"))
    with pytest.raises(RetryableError):
        harness.connector.create_ticket(handoff)
    assert harness.ticket_count(handoff.id) == 1  # the platform did create it

    ref = harness.new_connector().create_ticket(handoff, first_attempt=False)

    assert ref.created is False
    assert harness.ticket_count(handoff.id) == 1
    assert harness.landed(ref.ticket_id).external_id == handoff.id


@pytest.mark.property("O1")
def test_o1_retry_when_nothing_reached_the_platform_creates_it(harness: Harness) -> None:
    handoff = new_handoff()
    harness.inject(harness.create_fault("reset"))
    with pytest.raises(RetryableError):
        harness.connector.create_ticket(handoff)
    assert harness.ticket_count(handoff.id) == 0
    ref = harness.connector.create_ticket(handoff, first_attempt=False)
    assert ref.created is True
    assert harness.ticket_count(handoff.id) == 1


@pytest.mark.property("O3")
def test_o3_two_tickets_claiming_one_handoff_are_a_conflict(harness: Harness) -> None:
    handoff = new_handoff()
    harness.connector.create_ticket(handoff)
    harness.duplicate_ticket(handoff.id)
    with pytest.raises(IdempotencyConflict):
        harness.connector.create_ticket(handoff, first_attempt=False)


@pytest.mark.property("O3-key")
def test_o3_a_reused_key_with_another_body_is_a_conflict(harness: Harness) -> None:
    handoff = new_handoff()
    harness.connector.create_ticket(handoff)
    changed = handoff.model_copy(update={"summary": "A different summary under the same id."})
    with pytest.raises(IdempotencyConflict):
        harness.connector.create_ticket(changed)
    assert harness.ticket_count(handoff.id) == 1


# ------------------------------------------------------------------------------ O6


@pytest.mark.property("O6")
def test_o6_rate_limited_create_is_retryable_with_retry_after(harness: Harness) -> None:
    harness.inject(harness.create_fault("rate_limit", retry_after=2))
    with pytest.raises(RetryableError) as info:
        harness.connector.create_ticket(new_handoff())
    assert info.value.status == 429
    assert info.value.retry_after == 2


@pytest.mark.property("O6")
def test_o6_server_error_is_retryable(harness: Harness) -> None:
    harness.inject(harness.create_fault("status", status=500))
    with pytest.raises(RetryableError) as info:
        harness.connector.create_ticket(new_handoff())
    assert info.value.status == 500


@pytest.mark.property("O6")
def test_o6_connection_reset_is_retryable(harness: Harness) -> None:
    harness.inject(harness.create_fault("reset"))
    with pytest.raises(RetryableError):
        harness.connector.create_ticket(new_handoff())


@pytest.mark.property("O6")
def test_o6_bad_credentials_are_access_denied(harness: Harness) -> None:
    handoff = new_handoff()
    with pytest.raises(AccessDenied):
        harness.connector_with_bad_credentials().create_ticket(handoff)
    assert harness.ticket_count(handoff.id) == 0


# ------------------------------------------------------------------------------ webhooks


@pytest.mark.property("A3")
def test_a3_known_answer_vector(harness: Harness) -> None:
    vector = harness.known_answer
    connector = harness.connector_with_secrets([vector.secret])
    connector.verify_webhook(vector.headers, vector.body, url=vector.url, now=vector.now)
    with pytest.raises(VerificationError):
        connector.verify_webhook(vector.headers, vector.body + b" ", url=vector.url, now=vector.now)
    with pytest.raises(VerificationError):
        harness.connector_with_secrets(["another-secret"]).verify_webhook(
            vector.headers, vector.body, url=vector.url, now=vector.now
        )


@pytest.mark.property("A3")
def test_a3_sandbox_webhook_round_trip_gives_the_resolved_disposition(harness: Harness) -> None:
    handoff = new_handoff()
    ref = harness.connector.create_ticket(handoff)
    received = harness.signed_webhook_from_sandbox(lambda: harness.solve(ref.ticket_id))
    assert received, "the sandbox sent no webhook"
    seen: list[Disposition] = []
    for webhook in received:
        harness.connector.verify_webhook(
            webhook.headers, webhook.body, url=webhook.url, now=harness.now()
        )
        seen += [
            e.disposition for e in harness.connector.parse_webhook(webhook.body) if e.disposition
        ]
    mine = [d for d in seen if d.ticket_id == ref.ticket_id]
    assert mine
    # A body naming the handoff (Zendesk's, Salesforce's) links it here; one that names only
    # the ticket (HubSpot's) is linked by the store through the ticket link.
    assert all(d.handoff_id in (handoff.id, None) and d.source == "webhook" for d in mine)
    assert mine[-1].outcome == "resolved"


# ------------------------------------------------------------------------------ sync


@pytest.mark.property("sync")
def test_sync_reports_a_solved_ticket_resolved_with_metrics(harness: Harness) -> None:
    since = harness.now() - timedelta(hours=1)
    handoff = new_handoff()
    ref = harness.connector.create_ticket(handoff)
    harness.advance(120)
    harness.reply(ref.ticket_id)
    harness.advance(600)
    harness.solve(ref.ticket_id)
    harness.settle()

    pages = list(harness.connector.changes(None, since=since))

    assert pages[-1].done
    mine = [d for d in dispositions(pages) if d.handoff_id == handoff.id]
    assert mine, "the run reported nothing for the handoff"
    found = mine[-1]  # a feed of every change reports the ticket once per change
    assert (found.outcome, found.source, found.ticket_id) == ("resolved", "sync", ref.ticket_id)
    assert found.first_response_seconds is not None
    assert 60 <= found.first_response_seconds <= 180
    assert found.resolution_seconds is not None
    assert found.resolution_seconds >= 600


@pytest.mark.property("sync")
def test_sync_reports_a_reopened_ticket_as_webhooks_do(harness: Harness) -> None:
    since = harness.now() - timedelta(hours=1)
    handoff = new_handoff()
    ref = harness.connector.create_ticket(handoff)
    harness.solve(ref.ticket_id)
    harness.advance(60)
    harness.reopen(ref.ticket_id)
    harness.settle()
    pages = list(harness.connector.changes(None, since=since))
    found = [d for d in dispositions(pages) if d.handoff_id == handoff.id][-1]
    assert found.outcome == "reopened"
    assert found.reopen_count == 1


@pytest.mark.property("S1")
def test_s1_rerunning_from_the_saved_cursor_yields_nothing_again(harness: Harness) -> None:
    since = harness.now() - timedelta(hours=1)
    handoffs = [new_handoff(), new_handoff()]
    for handoff in handoffs:
        harness.connector.create_ticket(handoff)
    harness.settle()
    first = list(harness.connector.changes(None, since=since))
    assert sorted(d.handoff_id or "" for d in dispositions(first)) == sorted(h.id for h in handoffs)

    again = list(harness.connector.changes(first[-1].cursor, since=since))

    assert dispositions(again) == []
    assert again[-1].done


@pytest.mark.property("S1-page")
def test_s1_a_run_stopped_after_a_page_resumes_without_repeats(harness: Harness) -> None:
    since = harness.now() - timedelta(hours=1)
    handoffs = [new_handoff() for _ in range(3)]
    for handoff in handoffs:
        harness.connector.create_ticket(handoff)
    harness.settle()
    harness.inject_empty_export_page(resume_page_size=1)

    run = harness.connector.changes(None, since=since)
    stopped = [next(run), next(run)]  # the empty page, then the first ticket; then "killed"
    del run
    resumed = list(harness.connector.changes(stopped[-1].cursor, since=since))

    seen = [d.handoff_id for d in dispositions(stopped + resumed)]
    assert sorted(i or "" for i in seen) == sorted(h.id for h in handoffs)  # each exactly once


@pytest.mark.property("S3")
def test_s3_a_ticket_updated_after_a_run_shows_up_in_the_next_run(harness: Harness) -> None:
    since = harness.now() - timedelta(hours=1)
    solved, untouched = new_handoff(), new_handoff()
    ref = harness.connector.create_ticket(solved)
    harness.connector.create_ticket(untouched)
    harness.settle()
    first = list(harness.connector.changes(None, since=since))

    harness.solve(ref.ticket_id)
    harness.settle()
    second = list(harness.connector.changes(first[-1].cursor, since=since))

    assert [(d.handoff_id, d.outcome) for d in dispositions(second)] == [(solved.id, "resolved")]


@pytest.mark.property("S4")
def test_s4_empty_page_that_is_not_the_end_and_the_next_link_is_followed(
    harness: Harness,
) -> None:
    since = harness.now() - timedelta(hours=1)
    handoffs = [new_handoff() for _ in range(3)]
    for handoff in handoffs:
        harness.connector.create_ticket(handoff)
    harness.settle()
    harness.inject_empty_export_page(resume_page_size=1)

    pages = list(harness.connector.changes(None, since=since))

    assert (pages[0].dispositions, pages[0].examined, pages[0].done) == ([], 0, False)
    # Pages of one ticket each: only the empty page's link asked for that size.
    assert [len(p.dispositions) for p in pages[1:]] == [1, 1, 1]
    assert [p.done for p in pages] == [False, False, False, True]
    assert [d.handoff_id for d in dispositions(pages)] == [h.id for h in handoffs]
