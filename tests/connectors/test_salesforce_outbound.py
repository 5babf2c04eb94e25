"""connectors.salesforce.outbound: reading Outbound Messages with a hardened parser (no DTD,
no entity expansion, no external entity), the 15/18-character organisation check (A1), the
byte-exact acknowledgement and the SOAP fault. End to end through the receiver:
tests/service/test_webhook_refusal.py."""

from __future__ import annotations

import contextlib
import tracemalloc
from xml.etree.ElementTree import fromstring

import pytest
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.connectors.salesforce.outbound import (
    ACKNOWLEDGEMENT,
    OutboundMessage,
    acknowledgement,
    case_safe_id,
    check_organization,
    read_outbound_message,
    same_organization,
    soap_fault,
    verify_organization,
)
from baton.core.errors import PayloadError, VerificationError
from tests.support.outbound import outbound_body

ORG = "00D5e000000AbCdEAK"
IDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    min_size=15,
    max_size=15,
)

THREE = [
    ("04l000000000001AAA", "500000000000001AAA", {"Status": "Closed", "OwnerId": None}),
    ("04l000000000002AAA", "500000000000002AAA", {"Status": "New", "Subject": ""}),
    ("04l000000000003AAA", "500000000000003AAA", {"Status": "Working", "Subject": "a < b & c"}),
]

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>&xxe;</soapenv:Body></soapenv:Envelope>"
)
DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.test/x.dtd"><x/>'


# ------------------------------------------------------------------------------------ reading


def test_a_three_notification_message_reads_to_its_ids_and_fields() -> None:
    message = read_outbound_message(outbound_body(ORG, THREE))

    assert isinstance(message, OutboundMessage)
    assert (message.organization_id, message.action_id, message.session_id) == (
        ORG,
        "04k000000000001AAA",
        None,  # xsi:nil
    )
    assert (message.enterprise_url or "").endswith("/services/Soap/c/61.0/00D")
    assert [(n.notification_id, n.case_id) for n in message.notifications] == [
        (nid, case) for nid, case, _ in THREE
    ]
    assert message.notifications[0].fields == {
        "Id": "500000000000001AAA",
        "Status": "Closed",
        "OwnerId": None,  # xsi:nil="true" is None, not ""
    }
    assert message.notifications[1].fields["Subject"] == ""  # empty is not nil
    assert message.notifications[2].fields["Subject"] == "a < b & c"


def test_the_sobject_type_prefix_is_resolved_by_namespace_not_by_spelling() -> None:
    body = outbound_body(ORG, THREE[:1])
    renamed = body.replace(b'xsi:type="sf:Case" xmlns:sf=', b'xsi:type="c:Case" xmlns:c=')
    renamed = renamed.replace(b"<sf:", b"<c:").replace(b"</sf:", b"</c:")
    assert read_outbound_message(renamed).notifications[0].case_id == "500000000000001AAA"
    # "sf" bound to another namespace: the same spelling is not a Case of the sobject schema
    foreign = body.replace(b'xmlns:sf="urn:sobject.enterprise', b'xmlns:sf="urn:sobject.partner')
    with pytest.raises(PayloadError, match="sf:Case"):
        read_outbound_message(foreign)


@pytest.mark.parametrize(
    ("change", "element"),
    [
        ((b'xsi:type="sf:Case"', b'xsi:type="sf:Account"'), "sf:Case"),
        ((b"<sf:Id>500000000000001AAA</sf:Id>", b""), "sf:Id"),
        ((b"<Id>04l000000000001AAA</Id>", b""), "Notification/Id"),
        ((b"<Id>04l000000000001AAA</Id>", b"<Id>04l-not-an-id</Id>"), "Notification/Id"),
        ((b"<OrganizationId>" + ORG.encode() + b"</OrganizationId>", b""), "OrganizationId"),
        ((b"<ActionId>04k000000000001AAA</ActionId>", b""), "ActionId"),
        ((b"http://soap.sforce.com/2005/09/outbound", b"urn:other"), "notifications"),
        (
            (
                b"http://schemas.xmlsoap.org/soap/envelope/",
                b"http://www.w3.org/2003/05/soap-envelope",
            ),
            "Envelope",
        ),
    ],
    ids=[
        "not-a-case",
        "no-case-id",
        "no-notification-id",
        "bad-notification-id",
        "no-org",
        "no-action",
        "namespace",
        "soap-1.2",
    ],
)
def test_a_message_of_another_shape_is_a_payload_error_naming_the_element(
    change: tuple[bytes, bytes], element: str
) -> None:
    body = outbound_body(ORG, THREE[:1]).replace(*change)
    with pytest.raises(PayloadError, match=element) as refused:
        read_outbound_message(body)
    assert ORG not in str(refused.value)
    assert "500000000000001" not in str(refused.value)


def test_more_than_100_notifications_are_refused_and_100_are_read() -> None:
    many = [(f"04l{i:015d}", f"500{i:015d}", {"Status": "New"}) for i in range(101)]
    assert len(read_outbound_message(outbound_body(ORG, many[:100])).notifications) == 100
    with pytest.raises(PayloadError, match="more than 100"):
        read_outbound_message(outbound_body(ORG, many))
    with pytest.raises(PayloadError, match="no Notification"):
        read_outbound_message(outbound_body(ORG, []))


@pytest.mark.parametrize("body", [b"", b"<a>", b"not xml", b"\xff\xfe<\x00a\x00", b"<a></b>"])
def test_malformed_xml_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        read_outbound_message(body)


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (BILLION_LAUGHS, DTDForbidden),
        (EXTERNAL_ENTITY, DTDForbidden),
        (DTD_ONLY, DTDForbidden),
    ],
    ids=["billion-laughs", "external-entity", "dtd-only"],
)
def test_hostile_bodies_are_refused_at_the_dtd_before_any_expansion(
    body: bytes, refusal: type[Exception]
) -> None:
    """The parser refuses the DOCTYPE itself (defusedxml's exception is the cause), so no
    entity is declared, expanded or fetched: the billion laughs would be ~3 GB expanded, and
    the memory allocated while refusing it stays under 1 MiB."""
    tracemalloc.start()
    try:
        with pytest.raises(PayloadError) as refused:
            read_outbound_message(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(refused.value.__cause__, refusal)
    assert peak < 1 << 20
    assert "passwd" not in str(refused.value)
    with pytest.raises(VerificationError):  # and at the authentication step: 401, not stored
        verify_organization(body, [ORG])


def test_the_parser_refuses_entities_and_external_references_even_without_the_dtd_rule() -> None:
    """Belt and braces: the other two defusedxml guards are on too (seen by the test through
    the exception types the library raises when only they apply)."""
    from defusedxml.ElementTree import fromstring as defused

    with pytest.raises(EntitiesForbidden):
        defused(BILLION_LAUGHS, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    with pytest.raises((EntitiesForbidden, ExternalReferenceForbidden)):
        defused(EXTERNAL_ENTITY, forbid_dtd=False, forbid_entities=True, forbid_external=True)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_raise_nothing_but_payload_error(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        read_outbound_message(body)
    with contextlib.suppress(VerificationError):
        verify_organization(body, [ORG])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_field_text_reads_back_as_sent_or_is_a_payload_error(text: str) -> None:
    """Text XML cannot carry (control characters) is a PayloadError; any other reads back
    as sent, line ends normalised as XML requires."""
    body = outbound_body(ORG, [("04l000000000001AAA", "500000000000001AAA", {"Subject": text})])
    try:
        message = read_outbound_message(body)
    except PayloadError:
        return
    assert message.notifications[0].fields["Subject"] == text.replace("\r\n", "\n").replace(
        "\r", "\n"
    )


# ------------------------------------------------------------------------------- organisation


def test_the_documented_15_to_18_example() -> None:
    assert case_safe_id("a0D30000001n7Pi") == "a0D30000001n7PiEAI"
    assert case_safe_id("a0d30000001N7PIeai") == "a0D30000001n7PiEAI"  # 18 chars: case-insensitive
    assert case_safe_id("a0D30000001n7P") is None
    assert case_safe_id("a0D30000001n7Pi!!!") is None
    assert case_safe_id("a0D30000001n71iEAI") is None  # the suffix marks a digit upper-case


@given(IDS)
def test_any_15_character_id_equals_its_18_character_form_either_way_round(short: str) -> None:
    long = case_safe_id(short)
    assert long is not None
    assert long.startswith(short)
    assert same_organization(short, long)
    assert same_organization(long, short)
    assert same_organization(long.lower(), short)  # 18 characters: case-insensitive
    assert same_organization(short, long.upper())


@given(IDS, st.integers(0, 14))
def test_changing_the_case_of_one_character_makes_another_organisation(short: str, at: int) -> None:
    char = short[at]
    if not char.isalpha():
        char = "a"
        short = short[:at] + char + short[at + 1 :]
    changed = short[:at] + char.swapcase() + short[at + 1 :]
    assert not same_organization(changed, short)
    assert not same_organization(changed, case_safe_id(short) or "")
    assert not same_organization(case_safe_id(changed) or "", short)


def test_check_organization_accepts_either_form_and_refuses_another_org_without_naming_it() -> None:
    message = read_outbound_message(outbound_body(ORG, THREE[:1]))
    check_organization(message, [ORG[:15]])
    check_organization(message, ["00D000000000009AAA", ORG])  # any configured one
    with pytest.raises(VerificationError) as refused:
        check_organization(message, ["00D5e000000AbCe"])
    assert ORG not in str(refused.value)
    assert "00D5e" not in str(refused.value)
    with pytest.raises(VerificationError):
        check_organization(message, [])
    with pytest.raises(VerificationError):
        verify_organization(outbound_body("00D5e000000AbCe", THREE[:1]), [ORG])
    verify_organization(outbound_body(ORG[:15], THREE[:1]), [ORG])


# ------------------------------------------------------------------------------------ answers


def test_the_acknowledgement_is_byte_exact() -> None:
    reply = acknowledgement()
    assert reply.body == (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
        b"<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
    )
    assert reply.body == ACKNOWLEDGEMENT
    assert (reply.media_type, reply.status) == ("text/xml; charset=utf-8", 200)


def test_a_soap_fault_is_a_client_fault_with_a_4xx_and_generic_text() -> None:
    reply = soap_fault("not authenticated", 401)
    root = fromstring(reply.body)  # noqa: S314 - our own constant-shaped output
    env = "{http://schemas.xmlsoap.org/soap/envelope/}"
    fault = root.find(f"{env}Body/{env}Fault")
    assert fault is not None
    assert (fault.findtext("faultcode"), fault.findtext("faultstring")) == (
        "soapenv:Client",
        "not authenticated",
    )
    assert (reply.status, reply.media_type) == (401, "text/xml; charset=utf-8")
    leaky = soap_fault("bad <value>&\x00 from input\n", 400)
    assert b"<faultstring>refused</faultstring>" in leaky.body  # not text we vouch for
    with pytest.raises(ValueError, match="4xx"):
        soap_fault("x", 500)
    with pytest.raises(ValueError, match="4xx"):
        soap_fault("x", 200)
