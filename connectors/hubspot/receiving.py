"""HubSpot webhooks as Baton reads them: verification settings, events, and the re-read.

A notification carries one property's new value and when it changed, not the whole ticket:

- a ``hs_pipeline_stage`` change is a disposition straight from the body: the stage through
  the mapping's table, at the event's ``occurredAt`` (so a stale event stays in its place);
- a change of the owner, the pipeline or the CSAT property, and a ``ticket.restore``, name the
  ticket to read again after the ack (K1: no platform call before it) — the newest such event
  per ticket in a batch only, since one read gives the ticket's whole state and history;
- ``ticket.deletion`` is ``deleted``; ``ticket.merge`` is ``merged`` for each merged-away
  ticket, and the primary is read again;
- ``ticket.creation`` and other properties say nothing Baton follows (Baton made the ticket,
  or it is not Baton's).

The store links each disposition to the handoff its ticket was made for; an event about a
ticket no handoff is linked to is counted as ``unlinked`` there (a ticket Baton did not make).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from baton.connectors.hubspot import events, facts
from baton.connectors.hubspot.events import HubSpotEvent
from baton.connectors.hubspot.http import HubSpotClient
from baton.connectors.hubspot.settings import HubSpotSettings
from baton.connectors.hubspot.values import HISTORY_PROPERTIES, TicketReading, ticket_disposition
from baton.core.disposition import Disposition, Outcome
from baton.core.errors import FatalError
from baton.core.ports import WebhookEvent

TicketUrl = Callable[[str], str | None]
_REREAD_PROPERTIES = (facts.OWNER, facts.PIPELINE)


class WebhookReader:
    """Verifies and reads HubSpot webhook requests for one connection."""

    def __init__(
        self,
        settings: HubSpotSettings,
        client: HubSpotClient,
        reading: TicketReading,
        ticket_url: TicketUrl,
    ) -> None:
        self.settings = settings
        self.client = client
        self.reading = reading
        self.ticket_url = ticket_url

    def verify(self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime) -> None:
        """VerificationError unless a configured client secret signed the request."""
        events.verify_request(
            headers,
            body,
            method="POST",
            url=url,
            secrets=self.settings.client_secrets,
            now=now,
            legacy=self.settings.legacy_signatures,
        )

    def events(self, body: bytes) -> list[WebhookEvent]:
        """One WebhookEvent per notification, keyed by its identity (see events.HubSpotEvent)."""
        notifications = events.read_events(body)
        newest: dict[int, HubSpotEvent] = {}
        for item in notifications:
            if self._rereads(item):
                kept = newest.get(item.object_id)
                if kept is None or item.occurred_at_ms >= kept.occurred_at_ms:
                    newest[item.object_id] = item
        reread = {id(item) for item in newest.values()}
        found: list[WebhookEvent] = []
        for item in notifications:
            found.append(
                WebhookEvent(
                    event_id=item.key,
                    occurred_at=item.occurred_at,
                    disposition=self._disposition(item),
                    reread=str(item.object_id) if id(item) in reread else None,
                )
            )
            found += self._merged(item)
        return found

    def _rereads(self, item: HubSpotEvent) -> bool:
        if item.subscription_type == facts.TICKET_RESTORE:
            return True
        if item.subscription_type != facts.TICKET_PROPERTY_CHANGE:
            return False
        watched = (*_REREAD_PROPERTIES, self.reading.csat_property)
        return item.property_name in watched

    def _disposition(self, item: HubSpotEvent) -> Disposition | None:
        ticket_id = str(item.object_id)
        outcome: Outcome
        status: str | None = None
        if item.subscription_type == facts.TICKET_DELETION:
            outcome = "deleted"
        elif (
            item.subscription_type == facts.TICKET_PROPERTY_CHANGE
            and item.property_name == facts.STAGE
            and item.property_value
        ):
            outcome, status = self.reading.outcome(item.property_value, None)
        else:
            return None
        return Disposition(
            platform=facts.PLATFORM,
            ticket_id=ticket_id,
            ticket_url=self.ticket_url(ticket_id),
            outcome=outcome,
            raw_status=(status or "")[:256] or None,
            occurred_at=item.occurred_at,
            source="webhook",
            event_id=item.key,
        )

    def _merged(self, item: HubSpotEvent) -> list[WebhookEvent]:
        """A merge: a ``merged`` event per merged-away ticket (the primary is read again)."""
        if item.subscription_type != facts.TICKET_MERGE:
            return []
        primary = item.primary_object_id or item.new_object_id
        merged = [m for m in item.merged_object_ids if m != primary]
        found = []
        for ticket in merged:
            event_id = f"{item.key}:merged:{ticket}"
            disposition = Disposition(
                platform=facts.PLATFORM,
                ticket_id=str(ticket),
                ticket_url=self.ticket_url(str(ticket)),
                outcome="merged",
                occurred_at=item.occurred_at,
                source="webhook",
                event_id=event_id,
            )
            found.append(WebhookEvent(event_id, item.occurred_at, disposition))
        if primary is not None:
            found.append(WebhookEvent(f"{item.key}:primary", item.occurred_at, reread=str(primary)))
        return found

    def reread(self, ticket_id: str, event_id: str) -> Disposition | None:
        """The ticket's state read now (one call, its owner and stage history included); None
        when it is gone or not Baton's."""
        basic = self.client.sdk.crm.tickets.basic_api
        try:
            ticket = self.client.call(
                lambda: basic.get_by_id(
                    ticket_id,
                    properties=self.reading.properties(),
                    properties_with_history=list(HISTORY_PROPERTIES),
                )
            )
        except FatalError as exc:
            if exc.status == 404:
                return None
            raise
        return ticket_disposition(
            str(ticket.id),
            ticket.properties or {},
            self.reading,
            ticket_url=self.ticket_url,
            source="webhook",
            history=ticket.properties_with_history or {},
            event_id=event_id,
        )
