"""A stub webhook source in the style of Salesforce Outbound Messages, for the webhook seam.

The sender signs nothing. It POSTs a SOAP ``notifications`` envelope (up to 100
``Notification`` elements, each with an ``Id``) to a URL the receiver chose, so the receiver
proves the message authentic by a secret last path segment of that URL and by the
``OrganizationId`` inside; and it wants ``<Ack>true</Ack>`` in a SOAP body back, or it
redelivers. The shapes follow Salesforce's outbound messaging WSDL.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeXML
from defusedxml import DefusedXmlException

from baton.core.disposition import Disposition
from baton.core.errors import PayloadError, VerificationError
from baton.core.ports import WebhookEvent, WebhookReply

OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack>"
    b"</notificationsResponse>"
    b"</soapenv:Body>"
    b"</soapenv:Envelope>"
)


def _tag(name: str) -> str:
    return f"{{{OUTBOUND_NS}}}{name}"


def _read(body: bytes) -> Element:
    try:
        root: Element = SafeXML.fromstring(body)
    except (SafeXML.ParseError, DefusedXmlException, ValueError) as exc:
        raise PayloadError(f"not a readable SOAP body ({type(exc).__name__})") from None
    found = root.find(f".//{_tag('notifications')}")
    if found is None:
        raise PayloadError("no notifications element")
    return found


def notifications_body(organization_id: str, notifications: list[tuple[str, str, str]]) -> bytes:
    """A sender's envelope: ``(notification id, case id, status)`` per notification."""
    items = "".join(
        f"<Notification><Id>{nid}</Id><sObject><Id>{case}</Id><Status>{status}</Status>"
        f"</sObject></Notification>"
        for nid, case, status in notifications
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f'<notifications xmlns="{OUTBOUND_NS}"><OrganizationId>{organization_id}</OrganizationId>'
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


@dataclass
class OutboundMessageSource:
    """Verifies by secret path and organisation id; answers with the SOAP acknowledgement."""

    organization_id: str
    path_secrets: tuple[str, ...]
    platform: str = "outbound"
    parse_calls: int = field(default=0)

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """Authentic when the URL's last segment is a configured secret and the organisation
        id inside is ours; VerificationError otherwise (never naming the secret)."""
        given = url.rstrip("/").rsplit("/", 1)[-1].encode()
        matched = False
        for secret in self.path_secrets:
            matched |= hmac.compare_digest(secret.encode(), given)
        if not matched:
            raise VerificationError("the URL does not end in a configured secret")
        try:
            organization = _read(body).findtext(_tag("OrganizationId"))
        except PayloadError as exc:
            raise VerificationError(f"cannot read the organisation id ({exc})") from None
        if organization is None or not hmac.compare_digest(
            organization.encode(), self.organization_id.encode()
        ):
            raise VerificationError("the organisation id is not ours")

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """One event per Notification (its Id is the event id)."""
        self.parse_calls += 1
        events = []
        for item in _read(body).findall(_tag("Notification")):
            event_id = item.findtext(_tag("Id"))
            case = item.find(_tag("sObject"))
            if not event_id or case is None:
                raise PayloadError("a Notification without Id or sObject")
            status = (case.findtext(_tag("Status")) or "").casefold()
            outcome = "resolved" if status == "closed" else "open"
            occurred = datetime.fromisoformat("2026-11-27T12:00:00+00:00")
            disposition = Disposition(
                platform=self.platform,
                ticket_id=case.findtext(_tag("Id")) or "",
                outcome=outcome,
                raw_status=status,
                occurred_at=occurred,
                source="webhook",
            )
            events.append(WebhookEvent(event_id, occurred, disposition))
        return events

    def acknowledge(self, received: int, duplicates: int) -> WebhookReply:
        """Salesforce redelivers for 24 h unless it reads ``<Ack>true</Ack>``."""
        return WebhookReply(ACK, "text/xml; charset=utf-8")
