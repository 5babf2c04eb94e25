"""The Salesforce sandbox as the embedded default and the demo use it.

The sandbox (``baton.sandbox.salesforce``) stands in for Salesforce and knows nothing of Baton;
this module starts it and hands Baton the settings that point the connector at it (client
credentials against an https://….my.salesforce.com instance that the connector's session maps
to the sandbox), subscribes Baton's receiver to its Outbound Messages, and gives the demo its
agents' hands.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from baton.connectors.salesforce import facts
from baton.core.catalog import Catalog
from baton.core.errors import ConfigError
from baton.core.plugin import TicketSummary
from baton.sandbox.clock import utcnow
from baton.sandbox.salesforce import SalesforceSandbox, SalesforceState

DEFAULT_RATE_LIMIT = 700  # requests a minute, as the other sandboxes take it
MY_DOMAIN = "baton-sandbox.my"  # the instance is https://baton-sandbox.my.salesforce.com
CONTROL = "/_sandbox"  # the sandbox's control API (docs/sandbox.md)
CSAT_FIELD = "Baton_CSAT__c"
TAGS_FIELD = "Baton_Tags__c"
GOOD, BAD = 5.0, 1.0  # the CSAT scores the demo's good and bad ratings set
OUTBOUND_FIELDS = [
    "Id",
    "CaseNumber",
    "Status",
    "OwnerId",
    "IsClosed",
    "ClosedDate",
    "LastModifiedDate",
    "Priority",
]


@dataclass
class LocalSalesforce:
    """A running Salesforce sandbox and the ``BATON_SALESFORCE_*`` settings that point Baton
    at it."""

    sandbox: SalesforceSandbox
    webhook_path: str  # the secret path segment of Baton's receiver URL
    rate_limit: int = DEFAULT_RATE_LIMIT
    _agents: SandboxAgents | None = field(default=None, repr=False)

    @property
    def state(self) -> SalesforceState:
        """The sandbox's org (cases, queues, users, Outbound Messages)."""
        return self.sandbox.state

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.sandbox.base_url

    @property
    def env(self) -> Mapping[str, str]:
        """The connector's settings for this sandbox (client credentials, the org id its
        Outbound Messages carry, the receiver's secret path segment, the host override)."""
        credentials = self.sandbox.credentials
        return {
            facts.ENV_INSTANCE_URL: credentials["instance_url"],
            facts.ENV_DOMAIN: MY_DOMAIN,
            facts.ENV_CLIENT_ID: credentials["client_id"],
            facts.ENV_CLIENT_SECRET: credentials["client_secret"],
            facts.ENV_ORGANIZATION_ID: self.state.organization_id,
            facts.ENV_WEBHOOK_PATHS: self.webhook_path,
            facts.ENV_HOST_OVERRIDE: self.base_url,
            # The connector paces itself to the sandbox's allowance (its daily limit spread
            # over the minutes), as it would to a real org's: the demo's month needs more.
            facts.ENV_RATE_LIMIT: f"{max(self.rate_limit, facts.DEFAULT_RATE_LIMIT):g}",
        }

    @property
    def agents(self) -> SandboxAgents:
        """The sandbox agents the demo drives, through the sandbox's HTTP control API."""
        if self._agents is None:
            self._agents = SandboxAgents(self.base_url, self.sandbox.credentials)
        return self._agents

    def send_webhooks_to(self, url: str) -> None:
        """Point the sandbox's Outbound Message at Baton's receiver ``url`` (``…/webhooks/
        salesforce``) under the secret path segment (through the control API)."""
        fields = [*OUTBOUND_FIELDS, self.state.external_id_field]
        if CSAT_FIELD in self.state.case_fields:
            fields.append(CSAT_FIELD)
        self.agents.subscribe(f"{url.rstrip('/')}/{self.webhook_path}", fields)

    def wait_idle(self, timeout: float) -> None:
        """Wait until the queued Outbound Messages are acknowledged or given up."""
        self.state.outbound.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving and sending."""
        if self._agents is not None:
            self._agents.close()
        self.sandbox.stop()


def start_local_salesforce(
    catalog: Catalog,
    *,
    port: int = 0,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    clock: Callable[[], datetime] | None = None,
) -> LocalSalesforce:
    """The Salesforce sandbox on 127.0.0.1:``port``, seeded from ``catalog``; its daily request
    limit is ``rate_limit`` a minute over a day."""
    state = SalesforceState.from_catalog(
        catalog, clock=clock or utcnow, daily_limit=rate_limit * 60 * 24
    )
    try:
        sandbox = SalesforceSandbox(state, port=port).start()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"salesforce sandbox: cannot listen on 127.0.0.1:{port} ({reason})"
        ) from None
    return LocalSalesforce(sandbox, secrets.token_urlsafe(24), rate_limit)


class SandboxAgents:
    """The demo's agents, acting through the sandbox's HTTP control API (``/_sandbox/``) and
    reading through its REST API with the connected app's client credentials (case ids as
    Baton stores them)."""

    def __init__(self, base_url: str, credentials: Mapping[str, str]) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10)
        self._credentials = dict(credentials)
        self._token: str | None = None
        self._version = facts.DEFAULT_API_VERSION

    def close(self) -> None:
        """Release the HTTP connection."""
        self._http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def _api(self, path: str) -> dict[str, Any]:
        for _ in range(2):
            if self._token is None:
                form = {"grant_type": "client_credentials"}
                auth = (self._credentials["client_id"], self._credentials["client_secret"])
                token = self._http.post("/services/oauth2/token", data=form, auth=auth)
                token.raise_for_status()
                self._token = str(token.json()["access_token"])
            headers = {"Authorization": f"Bearer {self._token}"}
            response = self._http.get(f"/services/data/v{self._version}/{path}", headers=headers)
            if response.status_code == 401:
                self._token = None
                continue
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer
        raise RuntimeError("the Salesforce sandbox refused the demo's session twice")

    def summary(self, ticket_id: str) -> TicketSummary:
        """Queue, owner, priority and tags of a case, as the REST API shows them."""
        case = self._api(f"sobjects/Case/{ticket_id}")
        owner = str(case.get("OwnerId") or "")
        group = assignee = None
        if owner.startswith("00G"):
            group = str(self._api(f"sobjects/Group/{owner}")["Name"])
        elif owner.startswith("005"):
            assignee = str(self._api(f"sobjects/User/{owner}")["Name"])
        tags = str(case.get(TAGS_FIELD) or "").replace(";", " ").replace(",", " ").split()
        return TicketSummary(group, assignee, case.get("Priority"), tags)

    def _act(self, ticket_id: str, action: str, body: Mapping[str, Any] | None = None) -> None:
        self._json("POST", f"{CONTROL}/cases/{ticket_id}/{action}", json=body or {})

    def reply(self, ticket_id: str, text: str) -> None:
        """A public CaseComment by the case's owner."""
        self._act(ticket_id, "comment", {"body": text, "public": True})

    def reassign(self, ticket_id: str, group: str) -> None:
        """Move the case to the queue called ``group``."""
        self._act(ticket_id, "transfer", {"queue": group})

    def solve(self, ticket_id: str) -> None:
        """Close the case."""
        self._act(ticket_id, "status", {"status": "Closed"})

    def rate(self, ticket_id: str, good: bool, comment: str | None = None) -> None:
        """The customer's rating, in the CSAT custom field (the comment is not kept)."""
        self._act(ticket_id, "rate", {"score": GOOD if good else BAD, "field": CSAT_FIELD})

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back: the case is open again."""
        self._act(ticket_id, "reopen")

    def clock_at(self, when: datetime) -> None:
        """Set the sandbox's clock to ``when`` through the control API (backwards allowed)."""
        stamp = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self._json("POST", f"{CONTROL}/clock", json={"set": stamp, "backwards": True})

    def subscribe(self, url: str, fields: list[str]) -> None:
        """Point the Outbound Message at ``url`` with ``fields``."""
        self._json("PUT", f"{CONTROL}/outbound", json={"url": url, "fields": fields})

    @contextmanager
    def webhooks_lost(self) -> Iterator[None]:
        """Changes inside send no Outbound Message (the message is switched off, then on)."""
        self._json("PATCH", f"{CONTROL}/outbound", json={"enabled": False})
        try:
            yield
        finally:
            self._json("PATCH", f"{CONTROL}/outbound", json={"enabled": True})
