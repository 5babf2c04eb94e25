"""Zendesk Support connector, on zenpy.

Settings (environment):

==================================  ==========================================================
``BATON_ZENDESK_SUBDOMAIN``         required: ``acme`` for https://acme.zendesk.com
``BATON_ZENDESK_EMAIL``             required: the API user (token auth: ``email/token``)
``BATON_ZENDESK_TOKEN``             required: the API token
``BATON_ZENDESK_WEBHOOK_SECRETS``   comma-separated signing secrets; several while rotating
``BATON_ZENDESK_URL``               optional base URL instead of the subdomain's, e.g. the
                                    sandbox at http://127.0.0.1:8601. zenpy reads it through
                                    ``ZENPY_FORCE_NETLOC`` / ``ZENPY_FORCE_SCHEME``, which this
                                    connector sets: **process-wide**, one Zendesk per process
``BATON_ZENDESK_RATE_LIMIT``        client-side limit in requests per minute (default 600)
``BATON_ZENDESK_TIMEOUT``           seconds per request (default 30)
==================================  ==========================================================

Creates send the mapping's planned request (``POST /api/v2/tickets.json`` with
``Idempotency-Key`` = ``external_id`` = the handoff id) on zenpy's authenticated session; a
retry after an unknown outcome first looks the ticket up by ``external_id``. Reads (look-ups,
catalog, a missing metric set, the ticket events export that heals public replies) use
zenpy's own calls; the incremental export is read raw on
the same session, since zenpy's pager drops its ``metric_sets`` sideload. Webhook bodies are
described in :mod:`.events`; errors are classified in :mod:`.http`. A create whose group or
assignee Zendesk refuses raises TargetRefused; ``use_backup=True`` sends the mapping's
``routing.backup`` target instead, under the same key and external_id.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from baton.connectors.base import Connector, found_ticket
from baton.connectors.zendesk import facts
from baton.connectors.zendesk.events import EventReader, verify_signature
from baton.connectors.zendesk.http import ZendeskClient, ZendeskSettings
from baton.connectors.zendesk.replies import ReplyExport
from baton.connectors.zendesk.sync import (
    catalog_from,
    is_baton_ticket,
    metric_sets_by_ticket,
    sync_disposition,
    ticket_status,
)
from baton.connectors.zendesk.values import Names
from baton.core.catalog import Catalog
from baton.core.errors import ConfigError, FatalError, RetryableError, TargetRefused
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, Plan, plan_requests
from baton.core.ports import ChangePage, TicketRef, WebhookEvent
from baton.core.ratelimit import RateLimiter
from baton.core.times import utcnow

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


class ZendeskConnector(Connector):
    """Zendesk Support through zenpy: create, look up, catalog, webhooks, incremental sync."""

    platform: ClassVar[str] = facts.PLATFORM

    def __init__(
        self,
        settings: ZendeskSettings,
        mapping: CompiledMapping | None,
        *,
        limiter: RateLimiter | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.mapping = mapping
        self._client = ZendeskClient(settings, limiter)
        self._clock = clock
        statuses = mapping.statuses if mapping is not None else {}
        self._statuses = {**facts.DEFAULT_STATUSES, **statuses}
        self._names = Names(mapping.catalog if mapping is not None else None)
        self._events = EventReader(self._statuses, self.ticket_url, self._names)
        catalog = mapping.catalog if mapping is not None else None
        self._replies = ReplyExport(self._client, self._start_time, catalog)
        self.metrics_fallbacks = 0  # tickets whose metrics an export page did not sideload

    @classmethod
    def from_env(cls, mapping: CompiledMapping | None, env: Mapping[str, str]) -> ZendeskConnector:
        """Build from ``BATON_ZENDESK_*`` (see the module docstring).

        ``mapping`` may be None for catalog-only use (``baton mappings resolve``).
        """
        return cls(ZendeskSettings.from_env(env), mapping)

    def __repr__(self) -> str:
        where = self.settings.base_url or f"{self.settings.subdomain}.zendesk.com"
        secrets = len(self.settings.webhook_secrets)
        return f"ZendeskConnector({where}, webhook_secrets={secrets})"

    @property
    def limiter(self) -> RateLimiter:
        """The connection's rate limiter (shared by every thread using this connector)."""
        return self._client.limiter

    def ticket_url(self, ticket_id: str) -> str:
        """The agent UI link, or the API URL when Baton talks to a configured base URL."""
        if self.settings.base_url:
            return self.settings.base_url + facts.API_TICKET_PATH.format(id=ticket_id)
        return facts.AGENT_TICKET_URL.format(subdomain=self.settings.subdomain, id=ticket_id)

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    # ---- create --------------------------------------------------------------------------

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        """Create the ticket exactly once (O1-O3); see :class:`core.ports.TicketCreator`.

        ``use_backup=True`` sends it to the mapping's backup target, under the same
        Idempotency-Key and external_id. When Zendesk refuses the target, TargetRefused carries
        the backup's label if a create on it is still worth trying. The ref says which route
        and target the ticket got; a ticket found by look-up gets the plan's whose group and
        assignee it still has, else none.
        """
        plan = self._plan(handoff, use_backup=use_backup)
        planned = plan.requests[0]
        if not first_attempt:
            existing, assignment = self._find(str(planned.json["ticket"]["external_id"]))
            if existing is not None:
                return self._routed_found(existing, assignment, handoff, plan, use_backup)
        try:
            response = self._client.send(planned)
        except TargetRefused as exc:
            exc.backup = None if use_backup else self._backup_label(plan)
            raise
        return self._created_ref(response, plan, use_backup)

    def find_ticket(self, external_id: str) -> TicketRef | None:
        """The one ticket whose external_id is ``external_id``; IdempotencyConflict if several."""
        return self._find(external_id)[0]

    def _find(self, external_id: str) -> tuple[TicketRef | None, dict[str, Any]]:
        """The ticket found by external_id, and its group and assignee ids."""
        with self._client.calls():
            found = self._client.zenpy.tickets(external_id=external_id)
            tickets = list(itertools.islice(found, 2))
        ref = found_ticket(self, [str(ticket.id) for ticket in tickets])
        if ref is None:
            return None, {}
        return ref, {key: getattr(tickets[0], key, None) for key in facts.TARGET_TICKET_FIELDS}

    def _plan(self, handoff: Handoff, *, use_backup: bool) -> Plan:
        if self.mapping is None or self.mapping.platform != self.platform:
            raise ConfigError("no Zendesk mapping is loaded; cannot create tickets")
        if use_backup and self.mapping.backup is None:
            raise ConfigError("the Zendesk mapping names no routing.backup target")
        plan = plan_requests(self.mapping, handoff, use_backup=use_backup)
        if len(plan.requests) != 1 or plan.requests[0].path != facts.TICKETS_PATH:
            raise ConfigError("the Zendesk mapping must plan exactly one ticket create")
        return plan

    def _backup_label(self, refused: Plan) -> str | None:
        """The backup target's label, unless there is none or it is the target refused."""
        backup = self.mapping.backup if self.mapping is not None else None
        if backup is None or backup.label == refused.target:
            return None
        return backup.label

    def _routed_found(
        self,
        ref: TicketRef,
        assignment: dict[str, Any],
        handoff: Handoff,
        plan: Plan,
        use_backup: bool,
    ) -> TicketRef:
        """``ref`` with the route of the plan (this one, or the primary/backup other) whose
        target the found ticket sits on; without route when it sits on neither (moved since)."""
        candidates = [(plan, use_backup)]
        if self.mapping is not None and self.mapping.backup is not None:
            candidates.append((self._plan(handoff, use_backup=not use_backup), not use_backup))
        for candidate, backup in candidates:
            sent = candidate.requests[0].json["ticket"]
            wanted = {k: sent[k] for k in facts.TARGET_TICKET_FIELDS if sent.get(k) is not None}
            if all(assignment.get(key) == value for key, value in wanted.items()):
                return replace(ref, route=candidate.route, target=candidate.target, backup=backup)
        return ref

    def _created_ref(self, response: requests.Response, plan: Plan, backup: bool) -> TicketRef:
        try:
            ticket_id = response.json()["ticket"]["id"]
        except (ValueError, KeyError, TypeError):
            ticket_id = None
        if type(ticket_id) is not int:
            # The create may have happened: a retry (first_attempt=False) will find it.
            raise RetryableError(
                "create answered without a readable ticket",
                platform=self.platform,
                status=response.status_code,
                code="UnreadableResponse",
            )
        lookup = response.headers.get(facts.IDEMPOTENCY_LOOKUP_HEADER, "")
        created = lookup.strip().casefold() != "hit"
        return TicketRef(
            self.platform,
            str(ticket_id),
            self.ticket_url(str(ticket_id)),
            created,
            route=plan.route,
            target=plan.target,
            backup=backup,
        )

    # ---- catalog -------------------------------------------------------------------------

    def refresh_catalog(self) -> Catalog:
        """Custom ticket fields (with options), groups and agents/admins, read live."""
        zenpy = self._client.zenpy
        with self._client.calls():
            fields = [f.to_dict() for f in zenpy.ticket_fields()]
            groups = [g.to_dict() for g in zenpy.groups()]
            users = [u.to_dict() for u in zenpy.users(role=list(facts.CATALOG_ROLES))]
        where = self.settings.base_url or self.settings.subdomain
        return catalog_from(
            fields,
            groups,
            users,
            source=f"live: {where}",
            refreshed_at=self._clock().astimezone(UTC).isoformat(timespec="seconds"),
        )

    # ---- webhooks ------------------------------------------------------------------------

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """Raise VerificationError unless a configured secret signed ``body`` (A1-A6)."""
        verify_signature(headers, body, secrets=self.settings.webhook_secrets, now=now)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """The event in a verified event- or trigger-webhook body; PayloadError if unreadable."""
        return self._events.parse(body)

    # ---- sync ----------------------------------------------------------------------------

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Cursor-based incremental ticket export, one ChangePage per export page (S1-S4).

        Without a cursor the export starts at ``since``, moved back to at least a minute ago
        (Zendesk refuses a more recent start_time). Later pages follow the absolute
        ``after_url`` Zendesk returns, until ``end_of_stream``; empty pages are passed on.
        Every page asks for ``include=metric_sets``, so a page costs one request however many
        tickets it holds; a Baton ticket whose metric set is missing is read on its own
        (``metrics_fallbacks`` counts those reads).
        """
        page = self._export(
            self._client.api_base() + facts.INCREMENTAL_TICKETS_PATH,
            self._first_params(cursor, since),
        )
        last_cursor = cursor or self._start_cursor(since)
        while True:
            change_page = self._change_page(page, last_cursor)
            last_cursor = change_page.cursor
            yield change_page
            next_url = page.get("after_url")
            if change_page.done or not isinstance(next_url, str) or not next_url:
                return
            page = self._export(next_url, {})

    def reply_changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Public replies by staff, from the incremental ticket events export (its own cursor:
        the export's ``end_time``); see :mod:`.replies`."""
        return self._replies.pages(cursor, since=since)

    def _first_params(self, cursor: str | None, since: datetime) -> dict[str, str]:
        if cursor and not cursor.startswith(facts.START_TIME_CURSOR_PREFIX):
            return {"cursor": cursor}
        start = cursor.removeprefix(facts.START_TIME_CURSOR_PREFIX) if cursor else ""
        start_time = int(start) if start.isdigit() else self._start_time(since)
        return {"start_time": str(start_time)}

    def _export(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        """One export page, read raw: zenpy's pager drops the ``metric_sets`` sideload."""
        response = self._client.get(with_metric_sets(url), params)
        try:
            page = response.json()
        except ValueError:
            page = None
        if not isinstance(page, dict):
            raise RetryableError(
                "export page without a readable body",
                platform=self.platform,
                status=response.status_code,
                code="UnreadableResponse",
            )
        return page

    def _start_time(self, since: datetime) -> int:
        latest = self._clock() - timedelta(seconds=facts.INCREMENTAL_MIN_AGE_SECONDS)
        return int(min(since, latest).timestamp())

    def _start_cursor(self, since: datetime) -> str:
        return f"{facts.START_TIME_CURSOR_PREFIX}{self._start_time(since)}"

    def _change_page(self, page: dict[str, Any], last_cursor: str) -> ChangePage:
        raw_tickets = page.get("tickets")
        tickets = (
            [t for t in raw_tickets if isinstance(t, dict)] if isinstance(raw_tickets, list) else []
        )
        metric_sets = metric_sets_by_ticket(page.get(facts.METRIC_SETS))
        dispositions, skipped = [], []
        for ticket in tickets:
            disposition = None
            if is_baton_ticket(ticket):
                disposition = sync_disposition(
                    ticket,
                    statuses=self._statuses,
                    ticket_url=self.ticket_url,
                    metrics=self._metrics(ticket, metric_sets),
                    names=self._names,
                )
            if disposition is None:
                skipped.append(str(ticket.get("id")))
            else:
                dispositions.append(disposition)
        after_cursor = page.get("after_cursor")
        return ChangePage(
            dispositions=dispositions,
            cursor=after_cursor if isinstance(after_cursor, str) and after_cursor else last_cursor,
            done=page.get("end_of_stream") is True,
            examined=len(tickets),
            skipped=skipped,
        )

    def _metrics(
        self, ticket: dict[str, Any], metric_sets: Mapping[int, dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The ticket's sideloaded metric set; read on its own only when the page lacks it."""
        ticket_id = ticket.get("id")
        if ticket_status(ticket) == facts.STATUS_DELETED or type(ticket_id) is not int:
            return None
        if ticket_id in metric_sets:
            return dict(metric_sets[ticket_id])
        self.metrics_fallbacks += 1
        log.info("zendesk export page without ticket %s's metric set: read it alone", ticket_id)
        try:
            with self._client.calls():
                metric = self._client.zenpy.tickets.metrics(ticket_id)
        except FatalError as exc:
            if exc.status == 404:  # deleted since the export page was read
                return None
            raise
        result: dict[str, Any] = metric.to_dict()
        return result


def with_metric_sets(url: str) -> str:
    """``url`` asking for the ``metric_sets`` sideload (added to any ``include`` it has)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    included = [v for k, v in query if k == facts.INCLUDE_PARAM]
    wanted = {item for value in included for item in value.split(",") if item}
    if facts.METRIC_SETS in wanted:
        return url
    others = [(k, v) for k, v in query if k != facts.INCLUDE_PARAM]
    include = ",".join(sorted(wanted | {facts.METRIC_SETS}))
    return urlunsplit(parts._replace(query=urlencode([*others, (facts.INCLUDE_PARAM, include)])))
