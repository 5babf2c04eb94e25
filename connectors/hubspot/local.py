"""The HubSpot sandbox as the embedded default and the demo use it.

The sandbox (``baton.sandbox.hubspot``) stands in for HubSpot and knows nothing of Baton; this
module starts it and hands Baton the settings that point the connector at it (its private-app
token, the portal id for ticket links, the app's client secret for webhook signatures, the
API's base URL), subscribes Baton's receiver to its webhooks, and gives the demo its agents'
hands through the sandbox's HTTP control API.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from baton.connectors.hubspot import facts
from baton.core.catalog import Catalog
from baton.core.errors import ConfigError
from baton.core.plugin import TicketSummary
from baton.sandbox.clock import OffsetClock
from baton.sandbox.hubspot import CSAT_PROPERTY, HubSpotSandbox, HubSpotState

DEFAULT_RATE_LIMIT = 700  # requests a minute, as the other sandboxes take it
CONTROL = "/_sandbox"  # the sandbox's control API (docs/sandbox.md)
GOOD, BAD = 5.0, 1.0  # the CSAT scores the demo's good and bad ratings set
CLOSED_STAGE = "Closed"
REOPENED_STAGE = "Waiting on us"


@dataclass
class LocalHubSpot:
    """A running HubSpot sandbox and the ``BATON_HUBSPOT_*`` settings that point Baton at it."""

    sandbox: HubSpotSandbox
    client_secret: str
    rate_limit: int = DEFAULT_RATE_LIMIT
    _agents: SandboxAgents | None = field(default=None, repr=False)

    @property
    def state(self) -> HubSpotState:
        """The sandbox's portal."""
        return self.sandbox.state

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.sandbox.base_url

    @property
    def env(self) -> Mapping[str, str]:
        """The connector's settings for this sandbox."""
        per_ten_seconds = max(self.rate_limit / 6, facts.DEFAULT_RATE_LIMIT)
        return {
            facts.ENV_ACCESS_TOKEN: self.sandbox.access_token,
            facts.ENV_PORTAL_ID: str(self.state.portal_id),
            facts.ENV_CLIENT_SECRETS: self.client_secret,
            facts.ENV_HOST_OVERRIDE: self.base_url,
            facts.ENV_RATE_LIMIT: f"{per_ten_seconds:g}",
        }

    @property
    def agents(self) -> SandboxAgents:
        """The sandbox agents the demo drives, through the sandbox's HTTP control API."""
        if self._agents is None:
            self._agents = SandboxAgents(self.base_url, self.sandbox.access_token)
        return self._agents

    def send_webhooks_to(self, url: str) -> None:
        """Subscribe Baton's receiver ``url`` (``…/webhooks/hubspot``) to the ticket events,
        signed with the app's client secret."""
        self.agents.subscribe(url, self.client_secret)

    def wait_idle(self, timeout: float) -> None:
        """Wait until the queued webhooks are delivered or given up."""
        self.state.webhooks.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving and sending."""
        if self._agents is not None:
            self._agents.close()
        self.sandbox.stop()


def start_local_hubspot(
    catalog: Catalog,
    *,
    port: int = 0,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    clock: Callable[[], datetime] | None = None,
) -> LocalHubSpot:
    """The HubSpot sandbox on 127.0.0.1:``port``, seeded from ``catalog``; its ten-second limit
    is ``rate_limit`` a minute over ten seconds (at least HubSpot's lowest, 100)."""
    offset = OffsetClock(clock) if clock is not None else OffsetClock()
    state = HubSpotState.from_catalog(
        catalog,
        clock=offset,
        ten_second_limit=max(100, rate_limit // 6),
        daily_limit=max(rate_limit * 60 * 24, 250_000),
    )
    try:
        sandbox = HubSpotSandbox(state, port=port).start()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"hubspot sandbox: cannot listen on 127.0.0.1:{port} ({reason})"
        ) from None
    return LocalHubSpot(sandbox, secrets.token_urlsafe(24), rate_limit)


class SandboxAgents:
    """The demo's agents, acting through the sandbox's control API (``/_sandbox/``) and reading
    through its CRM API with the private app's token."""

    def __init__(self, base_url: str, token: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10)
        self._token = token

    def close(self) -> None:
        """Release the HTTP connection."""
        self._http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer

    def _api(self, path: str, **params: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        return self._json("GET", path, headers=headers, params=params)

    def summary(self, ticket_id: str) -> TicketSummary:
        """Pipeline, owner and priority of a ticket, and its tags property, as the API shows."""
        wanted = "hs_pipeline,hubspot_owner_id,hs_ticket_priority,baton_tags"
        ticket = self._api(f"/crm/v3/objects/tickets/{ticket_id}", properties=wanted)
        props = ticket.get("properties") or {}
        pipelines = self._api("/crm/v3/pipelines/tickets").get("results") or []
        group = next(
            (p["label"] for p in pipelines if p.get("id") == props.get("hs_pipeline")), None
        )
        assignee = None
        owner = props.get("hubspot_owner_id")
        if owner:
            found = self._api(f"/crm/v3/owners/{owner}")
            assignee = " ".join(x for x in (found.get("firstName"), found.get("lastName")) if x)
        tags = str(props.get("baton_tags") or "").replace(";", " ").split()
        return TicketSummary(group, assignee or None, props.get("hs_ticket_priority"), tags)

    def _act(self, ticket_id: str, action: str, body: Mapping[str, Any] | None = None) -> None:
        self._json("POST", f"{CONTROL}/tickets/{ticket_id}/{action}", json=body or {})

    def reply(self, ticket_id: str, text: str) -> None:
        """An agent's email reply to the customer, logged on the ticket."""
        self._act(ticket_id, "reply", {"body": text})

    def reassign(self, ticket_id: str, group: str) -> None:
        """Move the ticket to the pipeline called ``group`` (its first stage); when there is
        none by that name (a Zendesk group's), to the first pipeline it is not in."""
        pipelines = self._api("/crm/v3/pipelines/tickets").get("results") or []
        ticket = self._api(f"/crm/v3/objects/tickets/{ticket_id}", properties="hs_pipeline")
        current = (ticket.get("properties") or {}).get("hs_pipeline")
        named = [p for p in pipelines if p.get("label") == group]
        pipeline = (named or [p for p in pipelines if p.get("id") != current] or pipelines)[0]
        first = sorted(pipeline.get("stages") or [], key=lambda s: s.get("displayOrder", 0))[0]
        self._act(ticket_id, "stage", {"stage": first["id"], "pipeline": pipeline["id"]})

    def solve(self, ticket_id: str) -> None:
        """Move the ticket to its pipeline's closed stage."""
        self._act(ticket_id, "stage", {"stage": self._stage(ticket_id, closed=True)})

    def rate(self, ticket_id: str, good: bool, comment: str | None = None) -> None:
        """The customer's rating, in the CSAT property (the comment is not kept)."""
        self._act(ticket_id, "rate", {"score": GOOD if good else BAD, "property": CSAT_PROPERTY})

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back: the ticket moves to an open stage again."""
        self._act(ticket_id, "stage", {"stage": self._stage(ticket_id, closed=False)})

    def _stage(self, ticket_id: str, *, closed: bool) -> str:
        ticket = self._api(f"/crm/v3/objects/tickets/{ticket_id}", properties="hs_pipeline")
        pipeline_id = (ticket.get("properties") or {}).get("hs_pipeline")
        pipeline = self._api(f"/crm/v3/pipelines/tickets/{pipeline_id}")
        stages = sorted(pipeline.get("stages") or [], key=lambda s: s.get("displayOrder", 0))
        wanted = [
            s
            for s in stages
            if ((s.get("metadata") or {}).get("ticketState") == "CLOSED") is closed
        ]
        return str((wanted[0] if not closed else wanted[-1])["id"])

    def clock_at(self, when: datetime) -> None:
        """Set the sandbox's clock to ``when`` through the control API (backwards allowed)."""
        stamp = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self._json("POST", f"{CONTROL}/clock", json={"set": stamp, "backwards": True})

    def subscribe(self, url: str, client_secret: str) -> None:
        """Point the app's webhooks at ``url``, signed with ``client_secret``."""
        self._json(
            "PUT", f"{CONTROL}/webhooks", json={"target_url": url, "client_secret": client_secret}
        )

    @contextmanager
    def webhooks_lost(self) -> Iterator[None]:
        """Changes inside send no webhook (delivery is switched off, then on)."""
        self._json("PATCH", f"{CONTROL}/webhooks", json={"enabled": False})
        try:
            yield
        finally:
            self._json("PATCH", f"{CONTROL}/webhooks", json={"enabled": True})
