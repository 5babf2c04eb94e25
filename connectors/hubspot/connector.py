"""HubSpot Service Hub connector, on hubspot-api-client.

Settings (environment):

====================================  ========================================================
``BATON_HUBSPOT_ACCESS_TOKEN``        the private app's access token (required)
``BATON_HUBSPOT_PORTAL_ID``           the account's id: ticket links point into the app
``BATON_HUBSPOT_CLIENT_SECRETS``      the app's client secret(s) verifying webhooks,
                                      comma-separated (several while rotating)
``BATON_HUBSPOT_LEGACY_SIGNATURES``   also accept v1 and/or v2 signatures (``v1,v2``); off
``BATON_HUBSPOT_APP_URL``             the app's base URL (default https://app.hubspot.com)
``BATON_HUBSPOT_HOST_OVERRIDE``       sandbox/tests: the API's base URL (http://127.0.0.1:PORT)
``BATON_HUBSPOT_RATE_LIMIT``          the app's limit per ten seconds (default 100; Baton
                                      spends 90 % of it)
``BATON_HUBSPOT_TIMEOUT``             seconds per request (default 30)
====================================  ========================================================

A first attempt is TWO calls: the ticket created with the handoff id in the mapping's
unique property (and, when the customer is known, associated with their contact inline), then
the note associated with it. A create — not an upsert — because a unique value already taken
is refused (409) instead of overwriting another handoff's ticket; that 409 is then read: the
same handoff's ticket (its note, word for word) is found, anything else is a conflict (O3). A
retry searches the id property: one ticket → its notes are read and the note posted only when
none carries the handoff's marker (O7); none → ``batch/upsert`` on the id property (never a
second ticket, even if search lags behind a create) and the note; several → a conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from hubspot.crm.objects.notes import BatchReadInputSimplePublicObjectId as NotesRead
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from hubspot.crm.tickets import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

from baton.connectors.base import Connector, found_ticket, post_note_once
from baton.connectors.hubspot import facts
from baton.connectors.hubspot.catalog import read_catalog
from baton.connectors.hubspot.contacts import ContactBook
from baton.connectors.hubspot.http import HubSpotClient, item_error
from baton.connectors.hubspot.mapping import HubspotMapping, upsert_row
from baton.connectors.hubspot.receiving import WebhookReader
from baton.connectors.hubspot.replies import EmailReplies
from baton.connectors.hubspot.settings import HubSpotSettings
from baton.connectors.hubspot.sync import SyncCursor, TicketFeed
from baton.connectors.hubspot.values import TicketReading
from baton.core.backfill import BulkItem
from baton.core.catalog import Catalog
from baton.core.disposition import Disposition
from baton.core.errors import (
    ConfigError,
    IdempotencyConflict,
    PlatformError,
    RetryableError,
    TargetRefused,
)
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, Plan, plan_requests
from baton.core.mapping.render import resolve_identity
from baton.core.ports import ChangePage, TicketRef, WebhookEvent
from baton.core.ratelimit import RateLimiter
from baton.core.times import utcnow


class HubSpotConnector(Connector):
    """HubSpot tickets through hubspot-api-client: create, look up, catalog, sync, webhooks."""

    platform: ClassVar[str] = facts.PLATFORM

    def __init__(
        self,
        settings: HubSpotSettings,
        mapping: CompiledMapping | None,
        *,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utcnow,
        page_limit: int = facts.SYNC_PAGE_LIMIT,
    ) -> None:
        spec = mapping.spec if mapping is not None else None
        self.spec = spec if isinstance(spec, HubspotMapping) else None
        self.settings = settings
        self.mapping = mapping
        self.client = HubSpotClient(settings, limiter)
        self._clock = clock
        self.page_limit = page_limit
        self.reading = TicketReading.of(
            self.spec.id_property if self.spec else "baton_handoff_id",
            mapping.statuses if mapping is not None else {},
            mapping.catalog if mapping is not None else None,
            csat_property=self.spec.csat_property if self.spec else None,
            csat_scale=self.spec.csat_scale if self.spec else 5.0,
        )
        self.contacts = ContactBook(self.client)
        self.webhooks = WebhookReader(settings, self.client, self.reading, self.ticket_url)

    @classmethod
    def from_env(cls, mapping: CompiledMapping | None, env: Mapping[str, str]) -> HubSpotConnector:
        """Build from ``BATON_HUBSPOT_*`` (see the module docstring); no call is made yet."""
        return cls(HubSpotSettings.from_env(env), mapping)

    def __repr__(self) -> str:
        secrets = len(self.settings.client_secrets)
        return f"HubSpotConnector({self.settings.where()}, secrets={secrets})"

    def ticket_url(self, ticket_id: str) -> str:
        """The ticket's record page in the HubSpot app (the portal id in the path)."""
        portal = self.settings.portal_id or "0"
        kind = facts.OBJECT_TYPE_TICKET
        return f"{self.settings.app_url}/contacts/{portal}/record/{kind}/{ticket_id}"

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    # ---- create --------------------------------------------------------------------------

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        """Create the ticket and its note exactly once (O1-O3, O7); two calls on a first
        attempt (see the module docstring). A refused pipeline, stage or owner raises
        TargetRefused carrying the backup's label when a create on it is still worth trying."""
        plan = self._plan(handoff, use_backup=use_backup)
        contact = self.contacts.contact_id(self.customer_email(handoff))
        try:
            if first_attempt:
                return self._first_attempt(handoff, plan, contact, use_backup)
            return self._retry(handoff, plan, contact, use_backup)
        except TargetRefused as exc:
            exc.backup = None if use_backup else self._backup_label(plan)
            raise

    def _first_attempt(
        self, handoff: Handoff, plan: Plan, contact: str | None, backup: bool
    ) -> TicketRef:
        properties = dict(plan.requests[0].json["properties"])
        associations = [self._contact_association(contact)] if contact else None
        body = SimplePublicObjectInputForCreate(properties=properties, associations=associations)
        basic = self.client.sdk.crm.tickets.basic_api
        try:
            ticket = self.client.call(lambda: basic.create(body))
        except IdempotencyConflict:
            return self._carried(handoff, plan, backup)
        ticket_id = _ticket_id(ticket)
        self._post_note(plan, ticket_id)
        return self._ref(ticket_id, plan, created=True, backup=backup)

    def _retry(self, handoff: Handoff, plan: Plan, contact: str | None, backup: bool) -> TicketRef:
        ids = self._search_ids(handoff.id)
        ref = found_ticket(self, ids)
        if ref is not None:
            ticket_id, created = ref.ticket_id, False
        else:
            ticket_id, created = self._upsert(plan)
        if contact:
            self.associate_contact(ticket_id, contact)
        post_note_once(
            handoff.id,
            first_attempt=created,  # a ticket this call made cannot have a note yet
            existing_notes=lambda: self.note_bodies(ticket_id),
            post=lambda: self._post_note(plan, ticket_id),
        )
        return self._ref(ticket_id, plan, created=created, backup=backup)

    def _carried(self, handoff: Handoff, plan: Plan, backup: bool) -> TicketRef:
        """A create refused because a ticket carries the handoff id: the same handoff sent
        again (its note is there, word for word) is that ticket; anything else is a conflict
        (O3), and nothing was written."""
        basic = self.client.sdk.crm.tickets.basic_api
        ticket = self.client.call(
            lambda: basic.get_by_id(handoff.id, id_property=self.reading.id_property)
        )
        ticket_id = _ticket_id(ticket)
        note = str(plan.requests[1].json["properties"][facts.NOTE_BODY])
        if note not in self.note_bodies(ticket_id):
            raise IdempotencyConflict(
                "another handoff's ticket carries this handoff id",
                platform=self.platform,
                code=facts.CONFLICT,
            )
        return self._ref(ticket_id, plan, created=False, backup=backup)

    def _upsert(self, plan: Plan) -> tuple[str, bool]:
        batch = self.client.sdk.crm.tickets.batch_api
        row = upsert_row(plan.requests[0].json, self.reading.id_property)
        body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[row])
        answer = self.client.call(lambda: batch.upsert(body))
        errors = list(getattr(answer, "errors", None) or [])
        if errors:
            raise item_error(errors[0])
        results = list(answer.results or [])
        if len(results) != 1:
            raise _unreadable()
        return _ticket_id(results[0]), bool(results[0].new)

    def find_ticket(self, handoff_id: str) -> TicketRef | None:
        """The one ticket carrying ``handoff_id``; IdempotencyConflict when several do."""
        return found_ticket(self, self._search_ids(handoff_id))

    def _search_ids(self, handoff_id: str) -> list[str]:
        search = self.client.sdk.crm.tickets.search_api
        body = PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": self.reading.id_property,
                            "operator": "EQ",
                            "value": handoff_id,
                        }
                    ]
                }
            ],
            properties=[self.reading.id_property],
            limit=10,
        )
        page = self.client.call(lambda: search.do_search(public_object_search_request=body))
        return [
            str(t.id)
            for t in page.results or []
            if (t.properties or {}).get(self.reading.id_property) == handoff_id
        ]

    def note_bodies(self, ticket_id: str) -> list[str]:
        """The bodies of the notes associated with the ticket (two reads, one if none)."""
        associations = self.client.sdk.crm.associations.v4.basic_api
        page = self.client.call(
            lambda: associations.get_page("tickets", ticket_id, "notes", limit=500)
        )
        note_ids = [str(r.to_object_id) for r in page.results or []]
        bodies: list[str] = []
        notes = self.client.sdk.crm.objects.notes.batch_api
        for start in range(0, len(note_ids), facts.BATCH_MAX_INPUTS):
            chunk = note_ids[start : start + facts.BATCH_MAX_INPUTS]
            read = NotesRead(inputs=[{"id": i} for i in chunk], properties=[facts.NOTE_BODY])
            answer = self.client.call(partial(notes.read, read, archived=False))
            bodies += [
                str((n.properties or {}).get(facts.NOTE_BODY) or "") for n in answer.results or []
            ]
        return bodies

    def _post_note(self, plan: Plan, ticket_id: str) -> None:
        planned = plan.requests[1].json
        associations = [{**a, "to": {"id": ticket_id}} for a in planned.get("associations") or []]
        body = NoteInput(properties=planned["properties"], associations=associations)
        basic = self.client.sdk.crm.objects.notes.basic_api
        self.client.call(lambda: basic.create(body))

    def associate_contact(self, ticket_id: str, contact_id: str) -> None:
        associations = self.client.sdk.crm.associations.v4.basic_api
        self.client.call(
            lambda: associations.create_default("tickets", ticket_id, "contacts", contact_id)
        )

    def _contact_association(self, contact_id: str) -> dict[str, Any]:
        catalog = self.mapping.catalog if self.mapping is not None else None
        type_id = (catalog.association_types if catalog else {}).get(
            "ticket_to_contact", facts.TICKET_TO_CONTACT_DEFAULT
        )
        return {
            "to": {"id": contact_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }

    def customer_email(self, handoff: Handoff) -> str | None:
        if self.spec is None:
            return None
        requester = resolve_identity(handoff.customer, self.spec.unverified_requester).requester
        return requester.email if requester is not None else None

    def _ref(self, ticket_id: str, plan: Plan, *, created: bool, backup: bool) -> TicketRef:
        return TicketRef(
            self.platform,
            ticket_id,
            self.ticket_url(ticket_id),
            created,
            plan.route,
            plan.target,
            backup=backup,
        )

    def _plan(self, handoff: Handoff, *, use_backup: bool) -> Plan:
        if self.mapping is None or self.spec is None:
            raise ConfigError("no HubSpot mapping is loaded; cannot create tickets")
        if use_backup and self.mapping.backup is None:
            raise ConfigError("the HubSpot mapping names no routing.backup target")
        plan = plan_requests(self.mapping, handoff, use_backup=use_backup)
        if len(plan.requests) != 2 or plan.requests[0].ref != "ticket":
            raise ConfigError("the HubSpot mapping must plan a ticket and its note")
        return plan

    def plan_for(self, handoff: Handoff) -> Plan:
        """The ticket and note the mapping plans for ``handoff`` (its routed target)."""
        return self._plan(handoff, use_backup=False)

    def _backup_label(self, refused: Plan) -> str | None:
        backup = self.mapping.backup if self.mapping is not None else None
        if backup is None or backup.label == refused.target:
            return None
        return backup.label

    # ---- bulk (baton backfill) -----------------------------------------------------------

    bulk_limit: int = facts.BATCH_MAX_INPUTS

    def create_tickets(self, items: Sequence[BulkItem]) -> list[TicketRef | PlatformError]:
        """Many tickets in two calls per 100 (see :mod:`.bulk`)."""
        from baton.connectors.hubspot.bulk import BulkTickets

        return BulkTickets(self).create(items)

    # ---- catalog -------------------------------------------------------------------------

    def refresh_catalog(self) -> Catalog:
        """Pipelines and stages, owners, ticket properties and association types, read live."""
        return read_catalog(
            self.client, source=f"live: {self.settings.where()}", refreshed_at=self._clock()
        )

    # ---- webhooks ------------------------------------------------------------------------

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """VerificationError unless a configured client secret signed the request (v3; v1/v2
        only when enabled), ``url`` being the public URL HubSpot called."""
        self.webhooks.verify(headers, body, url=url, now=now)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """One event per notification (see :mod:`.receiving`); no platform call (K1)."""
        return self.webhooks.events(body)

    def reread(self, ticket_id: str, event_id: str) -> Disposition | None:
        """The ticket read again after the ack (one call); None when it is not Baton's."""
        return self.webhooks.reread(ticket_id, event_id)

    # ---- sync ----------------------------------------------------------------------------

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Baton's tickets changed after ``cursor`` (S1-S4): search pages past the 10,000 cap,
        then the tickets archived since (see :mod:`.sync`); each page carries its tickets'
        public replies, the reps' e-mails (:mod:`.replies`)."""
        catalog = self.mapping.catalog if self.mapping is not None else None
        owners = {str(u.id): u.name for u in catalog.users} if catalog is not None else {}
        replies = EmailReplies(self.client, owners)
        feed = TicketFeed(
            self.client, self.reading, self.ticket_url, self.page_limit, self._clock, replies
        )
        yield from feed.pages(SyncCursor.decode(cursor, since))


def _ticket_id(ticket: Any) -> str:
    ticket_id = getattr(ticket, "id", None)
    if not isinstance(ticket_id, str) or not ticket_id:
        raise _unreadable()
    return ticket_id


def _unreadable() -> RetryableError:
    """The create may have happened: a retry (first_attempt=False) will find it."""
    return RetryableError(
        "create answered without a readable ticket",
        platform=facts.PLATFORM,
        code="UnreadableResponse",
    )
