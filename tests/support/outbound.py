"""A webhook source in the style of Salesforce Outbound Messages, for the webhook seam, built on
the connector's real reading (:mod:`baton.connectors.salesforce.outbound`).

The sender signs nothing. It POSTs a SOAP ``notifications`` envelope (up to 100
``Notification`` elements, each with an ``Id`` and an ``sObject`` of type ``sf:Case``) to a
URL the receiver chose, so the receiver proves the message authentic by a secret last path
segment of that URL and by the ``OrganizationId`` inside; it wants ``<Ack>true</Ack>`` in a
SOAP body back, or it redelivers; a refusal is answered with a SOAP fault.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from baton.connectors.salesforce.outbound import (
    ACKNOWLEDGEMENT,
    OUTBOUND_NS,
    SOBJECT_NS,
    acknowledgement,
    read_outbound_message,
    soap_fault,
    verify_organization,
)
from baton.core.disposition import Disposition
from baton.core.errors import VerificationError
from baton.core.ports import WebhookEvent, WebhookReply

ACK = ACKNOWLEDGEMENT
OCCURRED = datetime.fromisoformat("2026-11-27T12:00:00+00:00")


def case_xml(case_id: str, fields: Mapping[str, str | None]) -> str:
    """One ``sObject`` of type ``sf:Case``: ``sf:Id`` then ``fields`` (None → xsi:nil)."""
    children = "".join(
        f'<sf:{name} xsi:nil="true"/>'
        if value is None
        else f"<sf:{name}>{escape(value)}</sf:{name}>"
        for name, value in fields.items()
    )
    return (
        f'<sObject xsi:type="sf:Case" xmlns:sf="{SOBJECT_NS}">'
        f"<sf:Id>{case_id}</sf:Id>{children}</sObject>"
    )


def outbound_body(
    organization_id: str,
    notifications: Sequence[tuple[str, str, Mapping[str, str | None]]],
    *,
    action_id: str = "04k000000000001AAA",
) -> bytes:
    """A sender's envelope, shaped as Salesforce's samples: ``(notification id, case id,
    fields)`` per notification."""
    items = "".join(
        f"<Notification><Id>{nid}</Id>{case_xml(case, fields)}</Notification>"
        for nid, case, fields in notifications
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="{OUTBOUND_NS}"><OrganizationId>{organization_id}</OrganizationId>'
        f'<ActionId>{action_id}</ActionId><SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/61.0/00D</EnterpriseUrl>"
        "<PartnerUrl>https://example.my.salesforce.com/services/Soap/u/61.0/00D</PartnerUrl>"
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def notifications_body(organization_id: str, notifications: list[tuple[str, str, str]]) -> bytes:
    """A sender's envelope: ``(notification id, case id, status)`` per notification."""
    return outbound_body(
        organization_id, [(nid, case, {"Status": status}) for nid, case, status in notifications]
    )


@dataclass
class OutboundMessageSource:
    """Verifies by secret path and organisation id; answers with the SOAP acknowledgement, and
    refuses with a SOAP fault. A Case's ``LastModifiedDate`` field, when sent, is the event
    time (a stale notification then never rolls a newer disposition back, D4)."""

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
        verify_organization(body, [self.organization_id])

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """One event per Notification (its Id is the event id)."""
        self.parse_calls += 1
        events = []
        for item in read_outbound_message(body).notifications:
            status = (item.fields.get("Status") or "").casefold()
            stamp = item.fields.get("LastModifiedDate")
            occurred = datetime.fromisoformat(stamp) if stamp else OCCURRED
            disposition = Disposition(
                platform=self.platform,
                ticket_id=item.case_id,
                outcome="resolved" if status == "closed" else "open",
                raw_status=status,
                occurred_at=occurred,
                source="webhook",
            )
            events.append(WebhookEvent(item.notification_id, occurred, disposition))
        return events

    def acknowledge(self, received: int, duplicates: int) -> WebhookReply:
        """Salesforce redelivers for 24 h unless it reads ``<Ack>true</Ack>``."""
        return acknowledgement()

    def refusal(self, status: int, reason: str) -> WebhookReply:
        """A SOAP fault; an unauthenticated sender is not told which check failed."""
        return soap_fault("not authenticated" if status == 401 else "unreadable message", status)
