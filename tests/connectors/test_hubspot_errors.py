"""connectors.hubspot's one error classification across hubspot-api-client's API families
(each raises its own ApiException), against faults injected in the local HubSpot sandbox: 429
with its delay and the limiter paused, 5xx, resets and timeouts retryable, a revoked token
denied, and the contact look-up's race with another worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.core.errors import AccessDenied, RetryableError
from baton.sandbox.faults import Fault
from tests.support.hubspot_portal import (
    CONTACT_SEARCH,
    CONTACTS,
    NOTES,
    SEARCH,
    TICKETS,
    Portal,
    plain,
    running_portal,
)


@pytest.fixture
def portal() -> Iterator[Portal]:
    with running_portal(datetime(2026, 11, 27, 12, 0, tzinfo=UTC)) as found:
        yield found


# ---- one classification across the SDK's families ------------------------------------------


def test_429_on_the_create_is_retryable_with_its_delay_and_pauses_the_limiter(portal) -> None:
    connector = portal.connector()
    portal.state.faults.add(
        Fault(kind="rate_limit", method="POST", path_regex=TICKETS, retry_after=7)
    )
    with pytest.raises(RetryableError) as limited:
        connector.create_ticket(plain(None))
    assert (limited.value.status, limited.value.retry_after) == (429, 7.0)
    assert 5 < connector.client.limiter.paused_remaining() <= 7
    assert not portal.state.records["tickets"]


def test_429_on_a_search_another_sdk_family_is_retryable_too(portal) -> None:
    connector = portal.connector()
    body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}
    portal.state.faults.add(
        Fault(kind="rate_limit", method="POST", path_regex=SEARCH, retry_after=3, body=body)
    )
    with pytest.raises(RetryableError) as limited:
        connector.find_ticket("contract-abc")
    assert (limited.value.status, limited.value.retry_after) == (429, 3.0)
    assert connector.client.limiter.paused_remaining() > 0


def test_a_daily_429_without_retry_after_waits_until_utc_midnight(portal) -> None:
    connector = portal.connector()
    body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY"}
    portal.state.faults.add(
        Fault(kind="status", status=429, method="POST", path_regex=SEARCH, body=body)
    )
    with pytest.raises(RetryableError) as limited:
        connector.find_ticket("contract-abc")
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert limited.value.retry_after == pytest.approx((midnight - now).total_seconds(), abs=5)


def test_a_429_without_retry_after_or_policy_waits_one_second(portal) -> None:
    connector = portal.connector()
    portal.state.faults.add(Fault(kind="status", status=429, method="POST", path_regex=TICKETS))
    with pytest.raises(RetryableError) as limited:
        connector.create_ticket(plain(None))
    assert limited.value.retry_after == 1.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(portal, status: int) -> None:
    connector = portal.connector()
    portal.state.faults.add(Fault(kind="status", status=status, method="POST", path_regex=TICKETS))
    with pytest.raises(RetryableError) as failed:
        connector.create_ticket(plain(None))
    assert failed.value.status == status


def test_a_reset_connection_is_retryable(portal) -> None:
    connector = portal.connector()
    portal.state.faults.add(Fault(kind="reset", method="POST", path_regex=TICKETS))
    with pytest.raises(RetryableError):
        connector.create_ticket(plain(None))


def test_a_timeout_is_retryable(portal) -> None:
    connector = portal.connector(BATON_HUBSPOT_TIMEOUT="0.3")
    portal.state.faults.add(Fault(kind="latency", seconds=1.0, method="POST", path_regex=TICKETS))
    with pytest.raises(RetryableError):
        connector.create_ticket(plain(None))


def test_a_revoked_token_is_access_denied_in_every_family(portal) -> None:
    connector = portal.connector()
    ref = connector.create_ticket(plain("someone@example.com"))
    contact = portal.contacts(ref.ticket_id)[0]
    portal.state.revoke_tokens()
    fresh = portal.connector()  # nothing cached: the contact is searched first
    checks = {
        "tickets": lambda: connector.create_ticket(plain(None)),
        "search": lambda: connector.find_ticket("contract-abc"),
        "contacts": lambda: fresh.create_ticket(plain("other@example.com")),
        "associations": lambda: connector.note_bodies(ref.ticket_id),
        "association create": lambda: connector.associate_contact(ref.ticket_id, contact),
    }
    for family, call in checks.items():
        with pytest.raises(AccessDenied) as denied:
            call()
        assert denied.value.status == 401, family


def test_a_refused_note_is_access_denied_and_the_retry_posts_it_once(portal) -> None:
    connector = portal.connector()
    portal.state.faults.add(Fault(kind="status", status=403, method="POST", path_regex=NOTES))
    handoff = plain(None)
    with pytest.raises(AccessDenied):
        connector.create_ticket(handoff)
    [ticket_id] = list(portal.state.records["tickets"])
    assert portal.notes(ticket_id) == []
    ref = connector.create_ticket(handoff, first_attempt=False)
    assert (ref.ticket_id, ref.created) == (ticket_id, False)
    assert len(portal.notes(ticket_id)) == 1


def test_while_paused_longer_than_the_timeout_no_request_is_sent(portal) -> None:
    connector = portal.connector()
    portal.state.faults.add(
        Fault(kind="rate_limit", method="POST", path_regex=TICKETS, retry_after=30)
    )
    with pytest.raises(RetryableError):
        connector.create_ticket(plain(None))
    portal.state.request_log.clear()
    with pytest.raises(RetryableError) as paused:
        connector.create_ticket(plain(None))
    assert paused.value.code == "RateLimited"
    assert 25 < (paused.value.retry_after or 0) <= 30
    assert portal.calls() == []


def test_a_contact_created_meanwhile_is_read_after_the_409(portal) -> None:
    """Search lags behind another worker's create: the create's 409 leads to a second search."""
    existing = portal.state.create("contacts", {"email": "raced@example.com"}, "INTEGRATION")
    empty = {"total": 0, "results": []}
    portal.state.faults.add(
        Fault(kind="status", status=200, method="POST", path_regex="contacts/search$", body=empty)
    )
    connector = portal.connector()
    ref = connector.create_ticket(plain("raced@example.com"))
    assert portal.contacts(ref.ticket_id) == [existing.id]
    assert [p for _, p in portal.calls()][:3] == [CONTACT_SEARCH, CONTACTS, CONTACT_SEARCH]
    assert len(portal.state.records["contacts"]) == 1
