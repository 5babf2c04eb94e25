"""Salesforce Outbound Messages: reading the SOAP ``notifications`` body, the organisation check,
and the SOAP answers (acknowledgement, fault).

Confirmed (developer.salesforce.com, "Understanding the Outbound Messaging WSDL" and
"Understanding Notifications", API guide; help.salesforce.com "Considerations for Outbound
Messages"): the body is a SOAP 1.1 envelope whose Body holds ``notifications`` in
``http://soap.sforce.com/2005/09/outbound`` with ``OrganizationId`` (ent:ID), ``ActionId``
(ent:ID), ``SessionId`` (nillable), ``EnterpriseUrl``, ``PartnerUrl`` and ``Notification``
(maxOccurs 100), each ``Notification`` an ``Id`` (ent:ID) and an ``sObject`` whose children are
in ``urn:sobject.enterprise.soap.sforce.com``; the answer is ``notificationsResponse`` with
``Ack`` (xsd:boolean) in the outbound namespace; undelivered messages are retried with
exponential backoff (at most 2 h apart) until 24 h old, then dropped; delivery can repeat and
reorder, and carries only the latest field values; check the notification ids for repeats.
The 15→18 id conversion (three 5-character chunks, a bit per upper-case letter, least
significant bit first, indexing ``A–Z0–5``) is confirmed by several independent write-ups and
by a worked example (``a0D30000001n7Pi`` → ``a0D30000001n7PiEAI``), not by a Salesforce page.
SOAP 1.1 (W3C Note, §3: "A SOAP message MUST NOT contain a Document Type Declaration", seen
quoted, not read at w3.org) forbids a DTD, so refusing every DTD loses nothing.

UNCONFIRMED:
- whether any HTTP status (or a SOAP fault) makes Salesforce stop retrying early; the docs
  only say a message is retried until it is delivered (acknowledged) or 24 h old, so a
  refusal here is assumed to be retried like any other failure;
- the exact ``sObject`` shape on the wire: ``xsi:type="sf:Case"`` with ``xmlns:sf`` bound to
  the sobject namespace, ``sf:Id`` first, a blank field as ``xsi:nil="true"`` (seen in
  published sample messages, not in the reference);
- whether Salesforce ever sends a 15-character ``OrganizationId`` (the WSDL's ent:ID is 18
  characters): both forms are accepted;
- that SOAP 1.1's HTTP binding wants 500 with a fault (§6.2, from memory): 4xx is used anyway;
- whether Salesforce reads the fault body at all (it is shown, we assume, as the delivery
  failure reason in Setup → Outbound Messages).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

# No stubs in the dev dependencies yet (types-defusedxml would add them).
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from baton.core.errors import PayloadError, VerificationError
from baton.core.ports import WebhookReply

SOAP_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS: Final = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS: Final = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
CASE_TYPE: Final = "Case"
MAX_NOTIFICATIONS: Final = 100
MEDIA_TYPE: Final = "text/xml; charset=utf-8"

ACKNOWLEDGEMENT: Final = (
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack>"
    b"</notificationsResponse>"
    b"</soapenv:Body>"
    b"</soapenv:Envelope>"
)

_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_SUFFIX_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_WRONG_ORGANIZATION = "the Outbound Message's OrganizationId is not a configured one"
_FAULT_REASON = re.compile(r"[A-Za-z0-9 ,.;:()/_'-]{1,200}")


@dataclass(frozen=True)
class CaseNotification:
    """One ``Notification``: its id (the dedupe key), the Case id and the Case's fields.

    ``fields`` maps each child of the ``sObject`` by local name (``Id`` included) to its text;
    an element marked ``xsi:nil="true"`` maps to None, an empty one to ``""``.
    """

    notification_id: str
    case_id: str
    fields: dict[str, str | None]


@dataclass(frozen=True)
class OutboundMessage:
    """A read ``notifications`` body. Nothing in it is authentic until the organisation id
    has been checked (:func:`check_organization`) and the URL's secret path segment matched."""

    organization_id: str
    action_id: str
    session_id: str | None
    enterprise_url: str | None
    partner_url: str | None
    notifications: list[CaseNotification]


# ---------------------------------------------------------------------------------- reading


class _ScopedBuilder(TreeBuilder):
    """A TreeBuilder that remembers the namespace declarations made on each element, so that a
    QName in an attribute value (``xsi:type="sf:Case"``) can be resolved."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[str, str] = {}
        self.declared: dict[Element, dict[str, str]] = {}

    def start_ns(self, prefix: str, uri: str) -> None:
        self._pending[prefix] = uri

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = super().start(tag, attrs)
        if self._pending:
            self.declared[element] = self._pending
            self._pending = {}
        return element


def _parse(body: bytes) -> tuple[Element, _ScopedBuilder]:
    builder = _ScopedBuilder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(bytes(body))
        root: Element = parser.close()
    except DefusedXmlException as exc:
        # A DTD, an entity declaration or an external reference: refused at its declaration,
        # before anything is expanded or fetched. The cause is kept for tests and tracebacks.
        raise PayloadError(f"Outbound Message refused: {type(exc).__name__}") from exc
    except (ParseError, ValueError, LookupError, UnicodeError, RecursionError):
        raise PayloadError("Outbound Message is not well-formed XML") from None
    return root, builder


def read_outbound_message(body: bytes) -> OutboundMessage:
    """Read an Outbound Message body, with no DTD, entity or external reference allowed.

    PayloadError (naming the element, never quoting a value) for anything but a SOAP 1.1
    envelope holding one ``notifications`` with 1 to 100 ``Notification`` elements, each with
    an ``Id`` and an ``sObject`` of type ``sf:Case`` that has an ``sf:Id``. Whatever the
    bytes, nothing but PayloadError leaves this function. Reading proves nothing: see
    :func:`verify_organization` for the body's part of the authentication.
    """
    try:
        return _read(body)
    except PayloadError:
        raise
    except Exception as exc:  # odd input must read as "unreadable", never as a crash
        raise PayloadError(f"Outbound Message unreadable ({type(exc).__name__})") from None


def _read(body: bytes) -> OutboundMessage:
    root, builder = _parse(body)
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise PayloadError("Outbound Message: the root is not a SOAP 1.1 Envelope")
    envelope_body = _one(root, SOAP_NS, "Body", "soapenv:Body")
    notifications = _one(envelope_body, OUTBOUND_NS, "notifications", "notifications")
    items = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items:
        raise PayloadError("Outbound Message: no Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise PayloadError(f"Outbound Message: more than {MAX_NOTIFICATIONS} Notification")
    scope = _scope(builder, root, envelope_body, notifications)
    return OutboundMessage(
        organization_id=_required_text(notifications, "OrganizationId"),
        action_id=_required_text(notifications, "ActionId"),
        session_id=_optional_text(notifications, "SessionId"),
        enterprise_url=_optional_text(notifications, "EnterpriseUrl"),
        partner_url=_optional_text(notifications, "PartnerUrl"),
        notifications=[_notification(item, builder, scope) for item in items],
    )


def _notification(
    item: Element, builder: _ScopedBuilder, scope: dict[str, str]
) -> CaseNotification:
    notification_id = _required_text(item, "Id", "Notification/Id")
    if not _ID.fullmatch(notification_id):
        raise PayloadError("Outbound Message: Notification/Id is not a Salesforce id")
    sobject = _one(item, OUTBOUND_NS, "sObject", "Notification/sObject")
    scope = _scope(builder, item, sobject, outer=scope)
    if _type_of(sobject, scope) != (SOBJECT_NS, CASE_TYPE):
        raise PayloadError("Outbound Message: Notification/sObject is not of type sf:Case")
    fields: dict[str, str | None] = {}
    for child in sobject:
        namespace, _, name = str(child.tag).partition("}")
        if namespace != f"{{{SOBJECT_NS}" or not name:
            continue  # not a Case field (another namespace, a comment)
        if name in fields:
            raise PayloadError("Outbound Message: a field repeated in Notification/sObject")
        nil = (child.get(f"{{{XSI_NS}}}nil") or "").strip() in ("true", "1")
        fields[name] = None if nil else (child.text or "")
    case_id = fields.get("Id")
    if case_id is None or not _ID.fullmatch(case_id):
        raise PayloadError("Outbound Message: Notification/sObject/sf:Id missing or not an id")
    return CaseNotification(notification_id=notification_id, case_id=case_id, fields=fields)


def _scope(
    builder: _ScopedBuilder, *path: Element, outer: dict[str, str] | None = None
) -> dict[str, str]:
    """The prefix → namespace bindings in force on the last of ``path`` (outermost first)."""
    scope = dict(outer or {})
    for element in path:
        scope.update(builder.declared.get(element, {}))
    return scope


def _type_of(sobject: Element, scope: dict[str, str]) -> tuple[str, str] | None:
    value = (sobject.get(f"{{{XSI_NS}}}type") or "").strip()
    prefix, colon, local = value.rpartition(":")
    namespace = scope.get(prefix if colon else "")
    return None if namespace is None else (namespace, local)


def _one(parent: Element, namespace: str, name: str, label: str) -> Element:
    found = parent.findall(f"{{{namespace}}}{name}")
    if len(found) != 1:
        raise PayloadError(f"Outbound Message: expected one {label}, found {len(found)}")
    return found[0]


def _required_text(parent: Element, name: str, label: str | None = None) -> str:
    text = _optional_text(parent, name, label)
    if not text:
        raise PayloadError(f"Outbound Message: {label or name} missing or empty")
    return text


def _optional_text(parent: Element, name: str, label: str | None = None) -> str | None:
    found = parent.findall(f"{{{OUTBOUND_NS}}}{name}")
    if len(found) > 1:
        raise PayloadError(f"Outbound Message: {label or name} repeated")
    if not found or (found[0].get(f"{{{XSI_NS}}}nil") or "").strip() in ("true", "1"):
        return None
    return (found[0].text or "").strip()


# ---------------------------------------------------------------------------- organisation


def case_safe_id(salesforce_id: str) -> str | None:
    """The canonical 18-character form of a 15- or 18-character Salesforce id; None when it
    is not one.

    A 15-character id is case-sensitive: its suffix encodes the case of each of its letters
    (three chunks of five, a bit per upper-case letter, least significant first, as an index
    into ``A–Z0–5``). An 18-character id is case-insensitive: its suffix decides the case of
    the first fifteen, so ``00d…eaa`` and ``00D…EAA`` are the same id.
    """
    if not isinstance(salesforce_id, str) or not _ID.fullmatch(salesforce_id):
        return None
    if len(salesforce_id) == 15:
        return salesforce_id + _suffix(salesforce_id)
    head, suffix = salesforce_id[:15], salesforce_id[15:].upper()
    chars = []
    for chunk, code in enumerate(suffix):
        bits = _SUFFIX_CHARS.index(code)
        for offset, char in enumerate(head[chunk * 5 : chunk * 5 + 5]):
            upper = bool(bits >> offset & 1)
            if upper and not char.isalpha():
                return None  # the suffix marks a digit upper-case: not an id
            chars.append(char.upper() if upper else char.lower())
    return "".join(chars) + suffix


def _suffix(head: str) -> str:
    codes = []
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, c in enumerate(head[start : start + 5]) if "A" <= c <= "Z")
        codes.append(_SUFFIX_CHARS[bits])
    return "".join(codes)


def same_organization(given: str, expected: str) -> bool:
    """Whether two organisation ids, each in its 15- or 18-character form, are the same org.

    False when either is not a Salesforce id at all. Compared in constant time.
    """
    left, right = case_safe_id(given), case_safe_id(expected)
    if left is None or right is None:
        return False
    return hmac.compare_digest(left.encode("ascii"), right.encode("ascii"))


def check_organization(message: OutboundMessage, expected: Iterable[str]) -> None:
    """VerificationError unless the message comes from one of the ``expected`` organisations
    (the message says which one in general terms only, never the ids)."""
    matched = False
    for organization in expected:
        matched |= same_organization(message.organization_id, organization)
    if not matched:
        raise VerificationError(_WRONG_ORGANIZATION)


def verify_organization(body: bytes, organizations: Iterable[str]) -> None:
    """VerificationError unless ``body`` is a well-formed envelope whose ``OrganizationId`` is
    one of ``organizations``: the body half of an Outbound Message's authentication (the
    other half is the URL's secret path segment, which the connector checks).

    Only what the check needs is read (the envelope, ``notifications``, ``OrganizationId``),
    with the same hardened parser. A body that cannot be read that far — not XML, a DTD,
    entities, an external reference — is not proven authentic, so it is VerificationError
    (401, nothing stored, not even in quarantine: an anonymous sender must not fill the
    quarantine, and a hostile body is nobody's payload). A message that passes but is
    malformed further in (a Notification without an Id) is an authentic, unreadable payload:
    :func:`read_outbound_message` then raises PayloadError and the receiver quarantines it
    (RELIABILITY A7). Whatever the bytes, nothing but VerificationError leaves this function.
    """
    try:
        root, _ = _parse(body)
        if root.tag != f"{{{SOAP_NS}}}Envelope":
            raise PayloadError("not an envelope")
        envelope_body = _one(root, SOAP_NS, "Body", "soapenv:Body")
        notifications = _one(envelope_body, OUTBOUND_NS, "notifications", "notifications")
        organization = _required_text(notifications, "OrganizationId")
    except Exception as exc:
        raise VerificationError(f"not a readable Outbound Message ({type(exc).__name__})") from None
    matched = False
    for expected in organizations:
        matched |= same_organization(organization, expected)
    if not matched:
        raise VerificationError(_WRONG_ORGANIZATION)


# ---------------------------------------------------------------------------------- answers


def acknowledgement() -> WebhookReply:
    """The exact SOAP answer after which Salesforce stops redelivering (200, text/xml)."""
    return WebhookReply(ACKNOWLEDGEMENT, MEDIA_TYPE, 200)


def soap_fault(reason: str, status: int) -> WebhookReply:
    """A SOAP 1.1 Fault (``soapenv:Client``) for a refused message, with a 4xx ``status``.

    SOAP 1.1's HTTP binding (§6.2; UNCONFIRMED here) answers a fault with 500; Baton never
    answers 500 (A5), and Salesforce retries any answer that is not the acknowledgement alike
    (UNCONFIRMED that any status stops it), so the receiver's own status is kept: 401 when
    the message is not proven authentic, 400 when it is authentic but unreadable. ``reason``
    must be generic text (no input value); anything else is replaced, and it is escaped all
    the same. On a 401, pass a fixed text ("not authenticated"): which check failed (secret path or
    organisation) is for Baton's log, not for an unauthenticated sender.
    """
    if not 400 <= status <= 499:
        raise ValueError("a SOAP fault from Baton carries a 4xx status")
    text = reason if _FAULT_REASON.fullmatch(reason) else "refused"
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>soapenv:Client</faultcode><faultstring>{escaped}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()
    return WebhookReply(body, MEDIA_TYPE, status)
