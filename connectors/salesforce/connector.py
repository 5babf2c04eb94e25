"""Salesforce Service Cloud connector, on simple-salesforce.

Settings (environment):

====================================  ========================================================
``BATON_SALESFORCE_CLIENT_ID``        the connected app's consumer key (JWT, client creds)
``BATON_SALESFORCE_PRIVATE_KEY_FILE`` JWT bearer: the PEM key signing the assertion
``BATON_SALESFORCE_USERNAME``         JWT bearer's subject (and the legacy login's user)
``BATON_SALESFORCE_CLIENT_SECRET``    client credentials (needs a My Domain in DOMAIN)
``BATON_SALESFORCE_PASSWORD``         legacy SOAP login (+ ``SECURITY_TOKEN``): warned
``BATON_SALESFORCE_DOMAIN``           login (default), test, or the My Domain ``acme.my``
``BATON_SALESFORCE_INSTANCE_URL``     optional: the org's URL for case links
``BATON_SALESFORCE_ORGANIZATION_ID``  Outbound Messages must carry this org id
``BATON_SALESFORCE_WEBHOOK_PATHS``    secret last path segments of the Outbound Message URL,
                                      comma-separated (several while rotating)
``BATON_SALESFORCE_HOST_OVERRIDE``    sandbox/tests: every https://*.salesforce.com URL the
                                      SDK builds goes to this base URL (http://127.0.0.1:PORT)
``BATON_SALESFORCE_RATE_LIMIT``       client-side requests per minute (default 600)
``BATON_SALESFORCE_TIMEOUT``          seconds per request (default 30)
====================================  ========================================================

A first-attempt create is ONE API call: ``/composite`` (allOrNone) with the case upsert on
the external-id field and the private CaseComment whose ParentId is ``@{case.id}``. A retry
looks the case up by its external id (SOQL); when found, it reads the case's comments and
posts the note only if none carries the handoff's marker (O7); when not, it sends the
composite. Webhooks are Outbound Messages (:mod:`.outbound`): unsigned, so the URL's secret
path segment and the organization id prove them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from baton.connectors.base import Connector, found_ticket, post_note_once
from baton.connectors.salesforce import facts, outbound
from baton.connectors.salesforce.activity import ActivityReader
from baton.connectors.salesforce.auth import SalesforceSettings
from baton.connectors.salesforce.composite import AlreadyCarried, created_case, unreadable
from baton.connectors.salesforce.http import SalesforceClient, json_body
from baton.connectors.salesforce.mapping import (
    SalesforceMapping,
    composite_request,
    insert_request,
)
from baton.connectors.salesforce.receiving import deletions_page, outbound_events, verify_outbound
from baton.connectors.salesforce.replies import case_replies
from baton.connectors.salesforce.sync import (
    QUEUES_QUERY,
    USERS_QUERY,
    SyncCursor,
    after,
    case_query,
    catalog_from,
    changes_query,
    comments_query,
)
from baton.connectors.salesforce.values import CaseReading, case_disposition
from baton.core.backfill import BulkItem
from baton.core.catalog import Catalog
from baton.core.disposition import Disposition
from baton.core.errors import (
    ConfigError,
    IdempotencyConflict,
    PlatformError,
    TargetRefused,
)
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, Plan, plan_requests
from baton.core.ports import ChangePage, TicketRef, WebhookEvent, WebhookReply
from baton.core.ratelimit import RateLimiter
from baton.core.times import utcnow


class SalesforceConnector(Connector):
    """Salesforce cases through simple-salesforce: create, look up, catalog, sync, webhooks."""

    platform: ClassVar[str] = facts.PLATFORM

    def __init__(
        self,
        settings: SalesforceSettings,
        mapping: CompiledMapping | None,
        *,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utcnow,
        page_limit: int = facts.SYNC_PAGE_LIMIT,
    ) -> None:
        spec = mapping.spec if mapping is not None else None
        self.spec = spec if isinstance(spec, SalesforceMapping) else None
        if self.spec is not None:
            settings = settings.model_copy(update={"api_version": self.spec.api_version})
        self.settings = settings
        self.mapping = mapping
        self._client = SalesforceClient(settings, limiter)
        self._clock = clock
        self.page_limit = page_limit
        self._warned: set[str] = set()  # activity warnings already logged
        self.reading = CaseReading.of(
            self.spec.external_id_field if self.spec else "Baton_Handoff_Id__c",
            mapping.statuses if mapping is not None else {},
            mapping.catalog if mapping is not None else None,
            csat_field=self.spec.csat_field if self.spec else None,
            csat_scale=self.spec.csat_scale if self.spec else 5.0,
        )

    @classmethod
    def from_env(
        cls, mapping: CompiledMapping | None, env: Mapping[str, str]
    ) -> SalesforceConnector:
        """Build from ``BATON_SALESFORCE_*`` (see the module docstring); no call is made yet."""
        return cls(SalesforceSettings.from_env(env), mapping)

    def __repr__(self) -> str:
        paths = len(self.settings.webhook_paths)
        return f"SalesforceConnector({self.settings.where()}, {self.settings.flow}, paths={paths})"

    @property
    def client(self) -> SalesforceClient:
        """The SDK client (its session, adapter and limiter)."""
        return self._client

    def ticket_url(self, ticket_id: str) -> str:
        """The case's Lightning page: ``{instance}/lightning/r/Case/<id>/view``."""
        instance = self.settings.host_override or self.settings.instance_url
        if instance is None and self.settings.domain not in facts.GENERIC_LOGIN_DOMAINS:
            instance = f"https://{self.settings.domain}{facts.SALESFORCE_HOST_SUFFIX}"
        if instance is None:
            instance = self._client.instance_base()
        return facts.LIGHTNING_CASE_URL.format(instance=instance, id=ticket_id)

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    # ---- create --------------------------------------------------------------------------

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        """Create the case and its note exactly once (O1-O3, O7); one call on a first attempt.

        ``use_backup=True`` sends the mapping's backup owner. A refused OwnerId raises
        TargetRefused carrying the backup's label when a create on it is still worth trying.
        """
        plan = self._plan(handoff, use_backup=use_backup)
        note = plan.requests[1]
        if not first_attempt:
            found = self._find(handoff.id)
            if found is not None:
                ref, owner = found
                post_note_once(
                    handoff.id,
                    first_attempt=False,
                    existing_notes=lambda: self._comment_bodies(ref.ticket_id),
                    post=lambda: self._post_note(note.json, ref.ticket_id),
                )
                return self._routed_found(ref, owner, handoff, plan, use_backup)
        try:
            return self._create(plan, use_backup, insert_as=handoff.id if first_attempt else None)
        except TargetRefused as exc:
            exc.backup = None if use_backup else self._backup_label(plan)
            raise
        except AlreadyCarried:
            return self._carried(handoff, plan, use_backup)

    def _carried(self, handoff: Handoff, plan: Plan, use_backup: bool) -> TicketRef:
        """A first attempt's insert found a case already carrying the handoff id: the same
        handoff sent again (its note is there, word for word) is that case; anything else
        is a conflict (O3), and nothing was written (the composite is all or none)."""
        found = self._find(handoff.id)
        note = str(plan.requests[1].json.get("CommentBody", ""))
        if found is None or note not in self._comment_bodies(found[0].ticket_id):
            raise IdempotencyConflict(
                "another handoff's case carries this handoff id",
                platform=self.platform,
                code=facts.DUPLICATE_VALUE,
            )
        ref, owner = found
        return self._routed_found(ref, owner, handoff, plan, use_backup)

    def find_ticket(self, handoff_id: str) -> TicketRef | None:
        """The one case carrying ``handoff_id``; IdempotencyConflict when several do."""
        found = self._find(handoff_id)
        return found[0] if found else None

    def _find(self, handoff_id: str) -> tuple[TicketRef, str | None] | None:
        fields = [facts.CASE_ID, facts.CASE_OWNER]
        records = self._client.query_all(
            case_query(fields, self.reading.external_id_field, handoff_id)
        )
        ref = found_ticket(self, [str(r.get(facts.CASE_ID)) for r in records])
        if ref is None:
            return None
        owner = records[0].get(facts.CASE_OWNER)
        return ref, owner if isinstance(owner, str) else None

    def _comment_bodies(self, case_id: str) -> list[str]:
        rows = self._client.query_all(comments_query(case_id))
        return [str(r.get("CommentBody") or "") for r in rows]

    def _post_note(self, comment: dict[str, Any], case_id: str) -> None:
        body = {**comment, "ParentId": case_id}
        self._client.request(
            "POST", self._client.api_path(f"sobjects/{facts.CASE_COMMENT}"), json=body
        )

    def _create(self, plan: Plan, backup: bool, *, insert_as: str | None = None) -> TicketRef:
        """The composite; with ``insert_as`` (a first attempt) the case is inserted with that
        external id rather than upserted, so that a case already carrying it is refused
        (DUPLICATE_VALUE → :class:`AlreadyCarried`) instead of overwritten."""
        requests = list(plan.requests)
        if insert_as is not None:
            field = self.reading.external_id_field
            requests[0] = insert_request(requests[0], field, insert_as, self.settings.api_version)
        composite = composite_request(requests, self.settings.api_version)
        response = self._client.request(
            composite.method, composite.path, json=composite.json, headers=composite.headers
        )
        case_id, created = created_case(
            json_body(response),
            response.status_code,
            len(plan.requests),
            insert_as=insert_as,
            external_id_field=self.reading.external_id_field,
        )
        url = self.ticket_url(case_id)
        return TicketRef(
            self.platform, case_id, url, created, plan.route, plan.target, backup=backup
        )

    def _plan(self, handoff: Handoff, *, use_backup: bool) -> Plan:
        if self.mapping is None or self.spec is None:
            raise ConfigError("no Salesforce mapping is loaded; cannot create cases")
        if use_backup and self.mapping.backup is None:
            raise ConfigError("the Salesforce mapping names no routing.backup target")
        plan = plan_requests(self.mapping, handoff, use_backup=use_backup)
        if len(plan.requests) != 2 or plan.requests[0].ref != "case":
            raise ConfigError("the Salesforce mapping must plan a case upsert and its comment")
        return plan

    def _backup_label(self, refused: Plan) -> str | None:
        backup = self.mapping.backup if self.mapping is not None else None
        if backup is None or backup.label == refused.target:
            return None
        return backup.label

    def _routed_found(
        self, ref: TicketRef, owner: str | None, handoff: Handoff, plan: Plan, use_backup: bool
    ) -> TicketRef:
        """``ref`` with the route of the plan (this one or the other) whose OwnerId the found
        case still has; without a route when it has neither (moved since)."""
        candidates = [(plan, use_backup)]
        if self.mapping is not None and self.mapping.backup is not None:
            candidates.append((self._plan(handoff, use_backup=not use_backup), not use_backup))
        for candidate, backup in candidates:
            wanted = candidate.requests[0].json.get(facts.CASE_OWNER)
            if wanted is None or (owner is not None and owner[:15] == str(wanted)[:15]):
                return replace(ref, route=candidate.route, target=candidate.target, backup=backup)
        return ref

    # ---- bulk (baton backfill) -----------------------------------------------------------

    bulk_limit: int = facts.COLLECTION_MAX_RECORDS

    def create_tickets(self, items: Sequence[BulkItem]) -> list[TicketRef | PlatformError]:
        """Many cases in three calls at most per 200 (see :mod:`.bulk`)."""
        from baton.connectors.salesforce.bulk import BulkCases

        return BulkCases(self).create(items)

    def plan_for(self, handoff: Handoff) -> Plan:
        """The upsert and note the mapping plans for ``handoff`` (its routed owner)."""
        return self._plan(handoff, use_backup=False)

    # ---- catalog -------------------------------------------------------------------------

    def refresh_catalog(self) -> Catalog:
        """Case's picklists, record types and custom fields (describe), queues and active
        users (SOQL), read live."""
        describe = self._client.get_json(self._client.api_path("sobjects/Case/describe/"))
        if not isinstance(describe, dict):
            raise unreadable(200)
        return catalog_from(
            describe,
            self._client.query_all(QUEUES_QUERY),
            self._client.query_all(USERS_QUERY),
            source=f"live: {self.settings.where()}",
            refreshed_at=self._clock().astimezone(UTC).isoformat(timespec="seconds"),
        )

    # ---- webhooks (Outbound Messages) ------------------------------------------------------

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """VerificationError unless ``url`` ends in a configured secret path segment and the
        message's OrganizationId is the configured org's (Outbound Messages are unsigned)."""
        verify_outbound(self.settings, body, url)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """One event per Notification (event id = the Notification Id). No platform call is
        made here (K1): a notification lacking a field the disposition needs gets none; sync,
        or :meth:`reread` after the ack, reads the case itself."""
        return outbound_events(body, self.reading, self.ticket_url)

    def acknowledge(self, received: int, duplicates: int) -> WebhookReply | None:
        """The SOAP ``<Ack>true</Ack>`` Salesforce waits for (else it redelivers for 24 h)."""
        return outbound.acknowledgement()

    def refusal(self, status: int, reason: str) -> WebhookReply | None:
        """A SOAP fault for a refused Outbound Message; which check failed is not echoed to an
        unauthenticated sender."""
        return outbound.soap_fault("not authenticated" if status == 401 else reason, status)

    def reread(self, ticket_id: str, event_id: str) -> Disposition | None:
        """The case read again over REST, for a notification that lacked fields (after the
        ack, so K1 holds); None when the answer is not a case."""
        fields = ",".join(self.reading.needed_fields())
        case = self._client.get_json(
            self._client.api_path(f"sobjects/Case/{ticket_id}"), {"fields": fields}
        )
        if not isinstance(case, dict):
            return None
        return case_disposition(
            case, self.reading, ticket_url=self.ticket_url, source="webhook", event_id=event_id
        )

    # ---- sync ----------------------------------------------------------------------------

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Baton's cases changed after ``cursor`` (S1-S4), one ChangePage per query batch:
        keyset queries on (SystemModstamp, Id) of ``page_limit`` rows, each followed through
        ``nextRecordsUrl``; then one page of deletions from ``deleted/`` (done). Each page
        also reads its cases' published comments and history (:mod:`.activity`); the comments
        by staff are its public replies (:mod:`.replies`)."""
        position = SyncCursor.decode(cursor, since)
        fields = self.reading.needed_fields()
        reader = ActivityReader(self._client, self.reading, self._warned)
        while True:
            soql = changes_query(fields, self.reading.external_id_field, position, self.page_limit)
            page = self._client.query(soql)
            rows = 0
            while True:
                records = [r for r in page.get("records") or [] if isinstance(r, dict)]
                rows += len(records)
                for record in records:
                    position = after(record, position)
                yield self._change_page(records, position, reader)
                next_url = page.get("nextRecordsUrl")
                if page.get("done", True) or not isinstance(next_url, str):
                    break
                page = self._client.get_json(next_url)
            if rows < self.page_limit:
                break
        yield self._deletions(position, since)

    def _change_page(
        self, records: list[dict[str, Any]], position: SyncCursor, reader: ActivityReader
    ) -> ChangePage:
        dispositions: list[Disposition] = []
        skipped: list[str] = []
        activity, comments = reader.page(records)
        for record in records:
            disposition = case_disposition(
                record,
                self.reading,
                ticket_url=self.ticket_url,
                source="sync",
                activity=activity.get(str(record.get(facts.CASE_ID))[:15]),
            )
            if disposition is None:
                skipped.append(str(record.get(facts.CASE_ID)))
            else:
                dispositions.append(disposition)
        replies = case_replies(comments, integration_user=self.settings.username)
        return ChangePage(dispositions, position.encode(), False, len(records), skipped, replies)

    def _deletions(self, position: SyncCursor, since: datetime) -> ChangePage:
        return deletions_page(self._client, position, since, self._clock(), self.ticket_url)
