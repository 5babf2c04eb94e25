"""Public replies on HubSpot: the e-mails a rep sent on Baton's tickets, read by the sync.

A rep's reply to the customer from a ticket is an e-mail engagement (object ``emails``)
associated with the ticket (Activities | Email guide): ``hs_email_direction`` ``EMAIL`` ("sent
from the CRM or sent and logged to the CRM with the BCC address"; ``INCOMING_EMAIL`` is the
customer's reply, ``FORWARDED_EMAIL`` one forwarded to the CRM), ``hs_email_text`` its body,
``hs_timestamp`` when it was sent, ``hubspot_owner_id`` "the user listed as the email creator".
Notes (``notes``) are internal and never read here. Per sync page (up to 100 of Baton's tickets
a chunk) that is two batch calls: the v4 associations batch read tickets → emails, then the
emails batch read with those properties (only when some ticket has e-mails).

A reply is an outgoing e-mail (``EMAIL``) with an owner (a person in the portal), a body, and
a send status that is not a failure (:data:`~.facts.EMAIL_NOT_SENT`); its author is the owner's
name from the mapping's catalog when known. HubSpot's webhooks carry no e-mail (see ``facts``):
a reply reaches Baton with the sync run that finds its ticket modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.objects.emails import BatchReadInputSimplePublicObjectId

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.http import HubSpotClient
from baton.connectors.hubspot.values import timestamp
from baton.core.replies import PublicReply


class EmailReplies:
    """Reads the reps' e-mails on a page's tickets (two batch calls per 100 tickets)."""

    def __init__(self, client: HubSpotClient, owners: Mapping[str, str | None]) -> None:
        self._client = client
        self._owners = dict(owners)

    def read(self, ticket_ids: Sequence[str]) -> list[PublicReply]:
        """The public replies on ``ticket_ids``, oldest first."""
        found: list[PublicReply] = []
        step = facts.BATCH_MAX_INPUTS
        for start in range(0, len(ticket_ids), step):
            emails = self._associated(ticket_ids[start : start + step])
            for email in self._emails(sorted(emails)):
                reply = self._reply(email, emails[str(email.id)])
                if reply is not None:
                    found.append(reply)
        return sorted(found, key=lambda r: (r.created_at, r.reply_id))

    def _associated(self, ticket_ids: Sequence[str]) -> dict[str, str]:
        """E-mail id → the ticket it is associated with (the first one seen)."""
        batch = self._client.sdk.crm.associations.v4.batch_api
        found: dict[str, str] = {}
        inputs: list[dict[str, str]] = [{"id": i} for i in ticket_ids]
        while inputs:
            body = BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs)
            answer = self._client.call(
                partial(
                    batch.get_page,
                    facts.TICKETS,
                    facts.EMAILS,
                    batch_input_public_fetch_associations_batch_request=body,
                )
            )
            inputs = []
            for row in answer.results or []:
                ticket = str(getattr(row._from, "id", "") or "")
                for to in row.to or []:
                    found.setdefault(str(to.to_object_id), ticket)
                after = row.paging.next.after if row.paging and row.paging.next else None
                if ticket and after:  # more e-mails on this ticket than one answer holds
                    inputs.append({"id": ticket, "after": str(after)})
        return found

    def _emails(self, email_ids: list[str]) -> list[Any]:
        batch = self._client.sdk.crm.objects.emails.batch_api
        emails: list[Any] = []
        for start in range(0, len(email_ids), facts.BATCH_MAX_INPUTS):
            body = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": i} for i in email_ids[start : start + facts.BATCH_MAX_INPUTS]],
                properties=list(facts.EMAIL_PROPERTIES),
            )
            answer = self._client.call(partial(batch.read, body, archived=False))
            emails += answer.results or []
        return emails

    def _reply(self, email: Any, ticket_id: str) -> PublicReply | None:
        props = email.properties or {}
        owner, body = props.get(facts.OWNER), props.get(facts.EMAIL_TEXT)
        if props.get(facts.EMAIL_DIRECTION) != facts.EMAIL_OUTGOING or not owner:
            return None
        if props.get(facts.EMAIL_STATUS) in facts.EMAIL_NOT_SENT:
            return None
        at: datetime | None = timestamp(props.get(facts.EMAIL_TIMESTAMP)) or timestamp(
            email.created_at
        )
        if not isinstance(body, str) or not body.strip() or at is None or not ticket_id:
            return None
        return PublicReply(
            platform=facts.PLATFORM,
            ticket_id=ticket_id,
            reply_id=str(email.id),
            author=self._owners.get(str(owner)),
            body=body,
            created_at=at,
        )
