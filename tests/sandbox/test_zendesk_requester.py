"""The sandbox's requester rules, as Zendesk documents them (Tickets API, "Requesters and
submitters" and "Creating a ticket with a new requester"):

* without ``requester`` or ``requester_id`` the requester is the submitter, the API user;
* a new requester needs a name and an email;
* a user who already has the email is used as is: only the email is needed, nothing is updated.

Refusing a requester without an email is the sandbox's reading of "email being required"
(UNCONFIRMED beyond that, see the facts block of ``sandbox/zendesk.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from baton.sandbox.zendesk import ZendeskError, ZendeskState

BASE = "http://sandbox.test"


def create(state: ZendeskState, **ticket: Any) -> dict[str, Any]:
    data = {"subject": "Help", "comment": {"body": "Some question"}, **ticket}
    created: dict[str, Any] = state.create_ticket(data, BASE)["ticket"]
    return created


def refusal(state: ZendeskState, **ticket: Any) -> list[dict[str, Any]]:
    users = dict(state.users)
    with pytest.raises(ZendeskError) as caught:
        create(state, **ticket)
    assert caught.value.status == 422
    assert caught.value.body["error"] == "RecordInvalid"
    assert state.tickets == {}
    assert state.users == users  # no requester was made either
    details: list[dict[str, Any]] = caught.value.body["details"]["requester"]
    return details


def test_without_a_requester_the_api_user_requests_it() -> None:
    state = ZendeskState()
    ticket = create(state)
    assert ticket["requester_id"] == ticket["submitter_id"] == state.api_user.id


def test_a_new_requester_is_made_from_name_and_email() -> None:
    state = ZendeskState()
    ticket = create(state, requester={"name": "Pablo", "email": "pablito@example.org"})
    user = state.users[ticket["requester_id"]]
    assert (user.name, user.email, user.role) == ("Pablo", "pablito@example.org", "end-user")


def test_a_known_email_needs_no_name_and_updates_nobody() -> None:
    state = ZendeskState()
    agent = state.add_agent(501, "Ada Agent", "ada@example.com")
    ticket = create(state, requester={"email": "ADA@example.com"})
    assert ticket["requester_id"] == agent.id
    create(state, requester={"name": "Someone Else", "email": "ada@example.com"})
    assert state.users[agent.id].name == "Ada Agent"


@pytest.mark.parametrize(
    "requester",
    [
        {"email": "new@example.org"},
        {"name": "", "email": "new@example.org"},
        {"name": "  ", "email": "new@example.org"},
    ],
    ids=["no-name", "empty-name", "blank-name"],
)
def test_a_new_requester_without_a_name_is_refused(requester: dict[str, Any]) -> None:
    [detail] = refusal(ZendeskState(), requester=requester)
    assert "Name" in detail["description"]


@pytest.mark.parametrize(
    "requester",
    [{"name": "Only A Name"}, {"name": "Phone Caller", "phone": "+1 555 0100"}, {}],
    ids=["name-only", "name-and-phone", "empty"],
)
def test_a_requester_without_an_email_is_refused(requester: dict[str, Any]) -> None:
    [detail] = refusal(ZendeskState(), requester=requester)
    assert "Email" in detail["description"]
