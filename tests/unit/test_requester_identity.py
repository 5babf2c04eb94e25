"""Who a ticket's requester is, on every platform's preview.

C7: an unauthenticated customer's claimed identity never silently becomes the requester; the
mapping's ``unverified_requester`` policy (claimed, tag, anonymous) applies on all three
platforms. And a customer without an email still gets a ticket: Baton never sends a Zendesk
``requester`` that Zendesk would refuse (a new requester needs a name and an email), falling
back to the mapping's ``fallback_requester`` or to none at all (the API user).
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from baton.core.handoff import Customer, Handoff, Platform, parse_handoff
from baton.core.mapping import CompiledMapping, Plan, load_mapping, plan_requests
from baton.core.mapping.limits import SizeLimit
from baton.core.mapping.note import identity_warning
from baton.core.mapping.render import IDENTITY_UNVERIFIED_TAG
from baton.core.mapping.spec import FallbackRequester, UnverifiedRequester
from baton.core.plugin import plugin as platform_plugin
from tests.support.paths import FAILED_IDENTITY as EXAMPLE
from tests.support.paths import MAPPINGS, example_files

PLATFORMS: tuple[Platform, ...] = ("zendesk", "salesforce", "hubspot")
POLICIES: tuple[UnverifiedRequester, ...] = ("claimed", "tag", "anonymous")

# A customer who claims to be the help desk's own admin.
ADMIN_NAME, ADMIN_EMAIL = "Help Desk Admin", "admin@baton-sandbox.example"
ADMIN_PHONE = "+1 555 0100"
FALLBACK = FallbackRequester(name="Unidentified customer", email="unidentified@example.com")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@functools.cache
def shipped(platform: Platform) -> CompiledMapping:
    return load_mapping(MAPPINGS, platform)


def mapping(
    platform: Platform, policy: UnverifiedRequester, fallback: FallbackRequester | None = None
) -> CompiledMapping:
    """The shipped mapping with another requester policy and fallback."""
    base = shipped(platform)
    spec = base.spec.model_copy(
        update={"unverified_requester": policy, "fallback_requester": fallback}
    )
    return replace(base, spec=spec)


def handoff_with(customer: Customer) -> Handoff:
    return parse_handoff(EXAMPLE.read_bytes()).model_copy(update={"customer": customer})


def claimant(authenticated: bool) -> Customer:
    return Customer(
        id="cus_claim_1",
        name=ADMIN_NAME,
        email=ADMIN_EMAIL,
        phone=ADMIN_PHONE,
        authenticated=authenticated,
    )


def plan(
    platform: Platform,
    policy: UnverifiedRequester,
    customer: Customer,
    fallback: FallbackRequester | None = None,
) -> Plan:
    return plan_requests(mapping(platform, policy, fallback), handoff_with(customer))


def policy_applies(policy: UnverifiedRequester, authenticated: bool) -> bool:
    return policy != "claimed" and not authenticated


def tags_and_note(platform: Platform, result: Plan) -> tuple[list[str], str]:
    """The ticket's tags and its internal note, wherever the platform keeps them."""
    first = result.requests[0].json
    if platform == "zendesk":
        ticket = first["ticket"]
        return ticket["tags"], ticket["comment"]["html_body"]
    tags_field = str(shipped(platform).tags_field)
    if platform == "salesforce":
        return first[tags_field].split(";"), result.requests[1].json["CommentBody"]
    properties = first["properties"]
    return properties[tags_field].split(";"), result.requests[1].json["properties"]["hs_note_body"]


MARKER_LINE = re.compile(r"\A(?:<p>)?\[Baton handoff [A-Za-z0-9._:-]+\](?:</p>)?\n+")


def after_marker(platform: Platform, note: str) -> str:
    """The note below its O7 marker, which opens it exactly when the note is posted on its own."""
    found = MARKER_LINE.match(note)
    assert (found is not None) == platform_plugin(platform).separate_note
    return note[found.end() :] if found else note


def check_tag_and_warning(
    platform: Platform, result: Plan, policy: UnverifiedRequester, authenticated: bool
) -> None:
    tags, note = tags_and_note(platform, result)
    if policy_applies(policy, authenticated):
        assert IDENTITY_UNVERIFIED_TAG in tags
        warning = identity_warning(
            html=platform_plugin(platform).note_is_html, claimed_is_requester=policy == "tag"
        )
        assert after_marker(platform, note).startswith(warning)
    else:
        assert IDENTITY_UNVERIFIED_TAG not in tags
        assert "identity not verified" not in note.casefold()
    # Whatever the requester became, the claimed details stay where an agent reads them.
    assert ADMIN_EMAIL in note
    assert ADMIN_PHONE in note


# ------------------------------------------------------------------------------ C7


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "unverified"])
@pytest.mark.parametrize("policy", POLICIES)
def test_c7_zendesk_requester_follows_the_policy(
    policy: UnverifiedRequester, authenticated: bool
) -> None:
    result = plan("zendesk", policy, claimant(authenticated))
    ticket = result.requests[0].json["ticket"]
    if policy == "anonymous" and not authenticated:
        assert "requester" not in ticket  # Zendesk makes the API user the requester
    else:
        assert ticket["requester"] == {"name": ADMIN_NAME, "email": ADMIN_EMAIL}
    check_tag_and_warning("zendesk", result, policy, authenticated)


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "unverified"])
@pytest.mark.parametrize("policy", POLICIES)
def test_c7_salesforce_supplied_fields_follow_the_policy(
    policy: UnverifiedRequester, authenticated: bool
) -> None:
    result = plan("salesforce", policy, claimant(authenticated))
    case = result.requests[0].json
    supplied = {key: value for key, value in case.items() if key.startswith("Supplied")}
    if policy == "anonymous" and not authenticated:
        assert supplied == {}
    else:
        assert supplied == {
            "SuppliedName": ADMIN_NAME,
            "SuppliedEmail": ADMIN_EMAIL,
            "SuppliedPhone": ADMIN_PHONE,
        }
    check_tag_and_warning("salesforce", result, policy, authenticated)


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "unverified"])
@pytest.mark.parametrize("policy", POLICIES)
def test_c7_hubspot_tags_and_note_follow_the_policy(
    policy: UnverifiedRequester, authenticated: bool
) -> None:
    result = plan("hubspot", policy, claimant(authenticated))
    properties = result.requests[0].json["properties"]
    assert ADMIN_EMAIL not in properties.values()  # no requester association on HubSpot
    check_tag_and_warning("hubspot", result, policy, authenticated)


def test_c7_anonymous_sends_the_fallback_requester_instead_of_the_claim() -> None:
    zendesk = plan("zendesk", "anonymous", claimant(False), FALLBACK)
    assert zendesk.requests[0].json["ticket"]["requester"] == {
        "name": FALLBACK.name,
        "email": FALLBACK.email,
    }
    case = plan("salesforce", "anonymous", claimant(False), FALLBACK).requests[0].json
    assert (case["SuppliedName"], case["SuppliedEmail"]) == (FALLBACK.name, FALLBACK.email)
    assert "SuppliedPhone" not in case


@pytest.mark.parametrize("platform", PLATFORMS)
def test_c7_a_name_alone_is_no_claimed_identity(platform: Platform) -> None:
    """The policy is about claimed emails and phones: a bare name is neither tagged nor warned."""
    result = plan(platform, "tag", Customer(name="Sam Sample"))
    tags, note = tags_and_note(platform, result)
    assert IDENTITY_UNVERIFIED_TAG not in tags
    assert "identity not verified" not in note.casefold()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_c7_the_warning_quotes_nothing_from_the_handoff(platform: Platform) -> None:
    """The warning is fixed text: the same for any customer, so no claimed value is in it."""
    planted = Customer(name="4242 4242 4242 4242", email="x@sk-live.example", phone="219-09-9999")
    for policy in ("tag", "anonymous"):
        _, note = tags_and_note(platform, plan(platform, policy, planted))
        warning = identity_warning(
            html=platform_plugin(platform).note_is_html, claimed_is_requester=policy == "tag"
        )
        assert after_marker(platform, note).startswith(warning)
        for value in ("4242", "sk-live", "219-09"):
            assert value not in warning


@settings(max_examples=60, deadline=None)
@given(
    platform=st.sampled_from(PLATFORMS),
    policy=st.sampled_from(["tag", "anonymous"]),
    room=st.integers(min_value=200, max_value=6_000),
    turns=st.integers(min_value=0, max_value=60),
)
def test_c7_the_warned_note_still_fits_the_limit(
    platform: Platform, policy: UnverifiedRequester, room: int, turns: int
) -> None:
    """Room is reserved for the warning: the note with it fits, down to the smallest limit."""
    base = mapping(platform, policy)
    limit = SizeLimit(room, base.note_limit.unit)
    handoff = handoff_with(claimant(False))
    long_turn = {"role": "customer", "text": "Still locked out of my account. " * 30}
    handoff = handoff.model_copy(
        update={
            "summary": "Customer cannot sign in and asks for a person. " * 90,
            "transcript": [handoff.transcript[0].model_copy(update=long_turn)] * turns,
        }
    )
    result = plan_requests(replace(base, note_limit=limit), handoff)
    _, note = tags_and_note(platform, result)
    assert limit.measure(note) <= room
    assert after_marker(platform, note).startswith(
        identity_warning(
            html=platform_plugin(platform).note_is_html, claimed_is_requester=policy == "tag"
        )
    )


# ------------------------------------------------------------------------------ no email


@pytest.mark.parametrize("fallback", [None, FALLBACK], ids=["no-fallback", "fallback"])
def test_zendesk_never_sends_a_requester_without_an_email(
    fallback: FallbackRequester | None,
) -> None:
    """A name alone would be refused (a new requester needs name and email)."""
    result = plan("zendesk", "tag", Customer(id="cus_9", name="Only A Name"), fallback)
    ticket = result.requests[0].json["ticket"]
    if fallback is None:
        assert "requester" not in ticket
    else:
        assert ticket["requester"] == {"name": fallback.name, "email": fallback.email}
    note = ticket["comment"]["html_body"]
    assert "Only A Name" in note
    assert "cus_9" in note


def test_zendesk_names_a_requester_who_gave_only_an_email() -> None:
    result = plan("zendesk", "claimed", Customer(email="solo@example.com"))
    assert result.requests[0].json["ticket"]["requester"] == {
        "name": "solo@example.com",
        "email": "solo@example.com",
    }


def test_salesforce_keeps_a_name_and_phone_without_an_email() -> None:
    customer = Customer(name="Phone Caller", phone="+44 20 7946 0000", authenticated=True)
    case = plan("salesforce", "tag", customer, FALLBACK).requests[0].json
    supplied = {key: value for key, value in case.items() if key.startswith("Supplied")}
    assert supplied == {"SuppliedName": "Phone Caller", "SuppliedPhone": "+44 20 7946 0000"}


WORDS = r"[A-Z][a-z]{1,11}( [A-Z][a-z]{1,11}){0,2}"
NAMES = st.from_regex(WORDS, fullmatch=True) | st.sampled_from(
    ["Lucía Fernández", "Seán O'Brien", "José & María", "   "]
)
EMAILS = st.from_regex(r"[a-z][a-z0-9.]{0,15}@[a-z]{2,10}\.(com|es|example)", fullmatch=True)
PHONES = st.from_regex(r"\+?[0-9][0-9 ()./-]{2,30}", fullmatch=True)
IDS = st.from_regex(r"(cus|usr)_[a-z0-9]{3,12}", fullmatch=True)


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    """Any mix of the customer's identity fields, each present or not."""
    fields: dict[str, Any] = {"authenticated": draw(st.booleans())}
    for key, values in (("name", NAMES), ("email", EMAILS), ("phone", PHONES), ("id", IDS)):
        if draw(st.booleans()):
            fields[key] = draw(values)
    return Customer.model_validate(fields)


@settings(max_examples=150, deadline=None)
@given(
    customer=customers(),
    policy=st.sampled_from(POLICIES),
    fallback=st.sampled_from([None, FALLBACK]),
)
def test_a_zendesk_requester_is_always_one_zendesk_accepts(
    customer: Customer, policy: UnverifiedRequester, fallback: FallbackRequester | None
) -> None:
    """Over any customer, policy and fallback: either no ``requester`` (the API user) or a
    non-blank name with a well-formed email; never the claim the policy sets aside; and the
    customer's phone and id are in the note, for the agent to find them by."""
    result = plan("zendesk", policy, customer, fallback)
    ticket = result.requests[0].json["ticket"]
    requester = ticket.get("requester")
    if requester is not None:
        assert set(requester) == {"name", "email"}
        assert requester["name"].strip()
        assert EMAIL.fullmatch(requester["email"])
    claims = bool(customer.email or customer.phone)
    set_aside = policy == "anonymous" and claims and not customer.authenticated
    if set_aside:
        assert requester is None or requester["email"] == FALLBACK.email
    elif customer.email:
        assert requester is not None
        assert requester["email"] == customer.email
    else:
        assert requester is None or requester == {"name": FALLBACK.name, "email": FALLBACK.email}
    note = ticket["comment"]["html_body"]
    for value in (customer.phone, customer.id, customer.email):
        if value:
            assert str(escape(value)) in note
    if customer.name and customer.name.strip():
        assert str(escape(customer.name)) in note


def test_the_shipped_examples_keep_their_requesters() -> None:
    """Every shipped example names its customer by email, so each keeps its requester."""
    for example in example_files():
        handoff = parse_handoff(example.read_bytes())
        ticket = plan_requests(shipped("zendesk"), handoff).requests[0].json["ticket"]
        assert ticket["requester"]["email"] == handoff.customer.email, example.name
        assert (IDENTITY_UNVERIFIED_TAG in ticket["tags"]) is not handoff.customer.authenticated
