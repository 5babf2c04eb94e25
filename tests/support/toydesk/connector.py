"""The ToyDesk connector, on a plain ``httpx`` client.

Settings (environment): ``BATON_TOYDESK_URL`` (base URL), ``BATON_TOYDESK_TOKEN`` (bearer
token), ``BATON_TOYDESK_WEBHOOK_SECRET`` (webhook signing secret); all three are required.

Creates send the mapping's planned ``POST /api/tickets`` (``Idempotency-Key`` = ``external_id``
= the handoff id); a retry after an unknown outcome first looks the ticket up by external id.
Webhook and change-page bodies are read in :mod:`.events`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pydantic

from baton.connectors.base import Connector, found_ticket, post_note_once
from baton.core.catalog import Catalog
from baton.core.disposition import Outcome
from baton.core.errors import (
    AccessDenied,
    ConfigError,
    FatalError,
    PayloadError,
    RetryableError,
)
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, Plan, PlannedRequest, plan_requests
from baton.core.ports import ChangePage, TicketRef, WebhookEvent
from tests.support.toydesk import facts
from tests.support.toydesk.events import (
    read_changes,
    read_events,
    ticket_disposition,
    verify_signature,
)


@dataclass(frozen=True)
class ToydeskSettings:
    """Where ToyDesk is and how Baton proves itself to it (and it to Baton)."""

    url: str
    token: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    timeout: float = facts.DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ToydeskSettings:
        """Read ``BATON_TOYDESK_*``; ConfigError names the first missing variable."""
        values = {}
        for name in (facts.ENV_URL, facts.ENV_TOKEN, facts.ENV_WEBHOOK_SECRET):
            value = (env.get(name) or "").strip()
            if not value:
                raise ConfigError(f"{name} is not set")
            values[name] = value
        url = values[facts.ENV_URL].rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{facts.ENV_URL} must be an http(s) URL")
        return cls(url, values[facts.ENV_TOKEN], values[facts.ENV_WEBHOOK_SECRET])


class ToydeskConnector(Connector):
    """ToyDesk over HTTP: create, look up, catalog, signed webhooks, change feed."""

    platform: ClassVar[str] = facts.PLATFORM

    def __init__(self, settings: ToydeskSettings, mapping: CompiledMapping | None) -> None:
        self.settings = settings
        self.mapping = mapping
        self._statuses: dict[str, Outcome] = {
            **facts.DEFAULT_STATUSES,
            **(mapping.statuses if mapping is not None else {}),
        }
        self._client = httpx.Client(
            base_url=settings.url,
            headers={"Authorization": f"Bearer {settings.token}"},
            timeout=settings.timeout,
        )

    @classmethod
    def from_env(cls, mapping: CompiledMapping | None, env: Mapping[str, str]) -> ToydeskConnector:
        """Build from ``BATON_TOYDESK_*`` (see the module docstring)."""
        return cls(ToydeskSettings.from_env(env), mapping)

    def __repr__(self) -> str:
        return f"ToydeskConnector({self.settings.url})"

    def ticket_url(self, ticket_id: str) -> str:
        """The ticket's API URL."""
        return self.settings.url + facts.TICKET_PATH.format(id=ticket_id)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # ---- HTTP ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; platform errors classified as core.errors says."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RetryableError(
                "no response", platform=self.platform, code=type(exc).__name__
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableError(
                f"HTTP {status}",
                platform=self.platform,
                status=status,
                retry_after=_seconds(response.headers.get("retry-after")),
            )
        if status in (401, 403):
            raise AccessDenied(f"HTTP {status}", platform=self.platform, status=status)
        if status >= 400:
            raise FatalError(
                f"HTTP {status}", platform=self.platform, status=status, code=_code(response)
            )
        return response

    # ---- create --------------------------------------------------------------------------

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        """Create the ticket once, then its note once. A retry first looks the ticket up by
        external id, and posts the note only if none of the ticket's notes carries its marker
        (O7). ``use_backup`` sends it to the mapping's backup target (ToyDesk never refuses
        a target)."""
        plan = self._plan(handoff, use_backup=use_backup)
        create, note = plan.requests
        ref = None if first_attempt else self.find_ticket(handoff.id)
        if ref is None:
            ref = self._create(create, plan, use_backup)
        notes_path = note.path.replace("@{ticket.id}", ref.ticket_id)
        post_note_once(
            handoff.id,
            first_attempt=ref.created,  # a ticket made just now holds no note yet
            existing_notes=lambda: self._notes(notes_path),
            post=lambda: self._call(note.method, notes_path, headers=note.headers, json=note.json),
        )
        return ref

    def _create(self, planned: PlannedRequest, plan: Plan, use_backup: bool) -> TicketRef:
        response = self._call(
            planned.method, planned.path, headers=planned.headers, json=planned.json
        )
        ticket_id = _ticket_id(response)
        if ticket_id is None:  # the create may have happened: a retry will find it
            raise RetryableError(
                "create answered without a readable ticket",
                platform=self.platform,
                status=response.status_code,
                code="UnreadableResponse",
            )
        created = response.status_code == 201
        url = self.ticket_url(ticket_id)
        return TicketRef(
            self.platform, ticket_id, url, created, plan.route, plan.target, use_backup
        )

    def _notes(self, path: str) -> list[str]:
        response = self._call("GET", path)
        try:
            return [str(item["body"]) for item in response.json()["notes"]]
        except (ValueError, KeyError, TypeError):
            raise RetryableError(
                "notes answered unreadably", platform=self.platform, code="UnreadableResponse"
            ) from None

    def find_ticket(self, external_id: str) -> TicketRef | None:
        """The one ticket with ``external_id``; IdempotencyConflict when there are several."""
        response = self._call("GET", facts.TICKETS_PATH, params={"external_id": external_id})
        try:
            ids = [str(t["id"]) for t in response.json()["tickets"]]
        except (ValueError, KeyError, TypeError):
            raise RetryableError(
                "look-up answered unreadably", platform=self.platform, code="UnreadableResponse"
            ) from None
        return found_ticket(self, ids)

    def _plan(self, handoff: Handoff, *, use_backup: bool) -> Plan:
        if self.mapping is None or self.mapping.platform != self.platform:
            raise ConfigError("no ToyDesk mapping is loaded; cannot create tickets")
        plan = plan_requests(self.mapping, handoff, use_backup=use_backup)
        if len(plan.requests) != 2 or plan.requests[0].path != facts.TICKETS_PATH:
            raise ConfigError("the ToyDesk mapping must plan a ticket create and its note")
        return plan

    # ---- catalog -------------------------------------------------------------------------

    def refresh_catalog(self) -> Catalog:
        """Queues and fields, read live."""
        response = self._call("GET", facts.CATALOG_PATH)
        try:
            catalog = Catalog.model_validate(response.json())
        except (ValueError, pydantic.ValidationError):
            raise PayloadError("ToyDesk catalog of an unknown shape") from None
        refreshed = datetime.now(UTC).isoformat(timespec="seconds")
        return catalog.model_copy(
            update={"source": f"live: {self.settings.url}", "refreshed_at": refreshed}
        )

    # ---- webhooks ------------------------------------------------------------------------

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """Raise VerificationError unless the secret signed ``body`` within ±300 s of ``now``."""
        verify_signature(headers, body, secret=self.settings.webhook_secret, now=now)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """The events in a verified body (one, or a batch); PayloadError (without body text)
        if unreadable."""
        return [
            WebhookEvent(
                event.id,
                event.occurred_at,
                ticket_disposition(
                    event.ticket,
                    statuses=self._statuses,
                    ticket_url=self.ticket_url,
                    source="webhook",
                    event_id=event.id,
                ),
            )
            for event in read_events(body)
        ]

    # ---- sync ----------------------------------------------------------------------------

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Pages of changes after ``cursor`` (a sequence number), or since ``since``."""
        params = {"after": cursor} if cursor else {"after": "0", "since": since.isoformat()}
        while True:
            response = self._call("GET", facts.CHANGES_PATH, params=params)
            try:
                page = read_changes(response.json())
            except ValueError:
                raise PayloadError("ToyDesk change page is not JSON") from None
            dispositions, skipped = [], []
            for change in page.changes:
                try:
                    disposition = ticket_disposition(
                        change.ticket,
                        statuses=self._statuses,
                        ticket_url=self.ticket_url,
                        source="sync",
                    )
                except PayloadError:
                    disposition = None
                if disposition is None:
                    skipped.append(str(change.ticket.id))
                else:
                    dispositions.append(disposition)
            done = not page.changes
            yield ChangePage(dispositions, str(page.after), done, len(page.changes), skipped)
            if done:
                return
            params = {"after": str(page.after)}


def _ticket_id(response: httpx.Response) -> str | None:
    try:
        ticket_id = response.json()["ticket"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(ticket_id) if type(ticket_id) is int else None


def _code(response: httpx.Response) -> str | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code[:64] if isinstance(code, str) else None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
