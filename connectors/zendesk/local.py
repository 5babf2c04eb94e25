"""The Zendesk sandbox as the embedded default and the demo use it.

The sandbox (``baton.sandbox.zendesk``) stands in for Zendesk and knows nothing of Baton; this
module starts it and hands Baton the settings that point the connector at it, and gives the
demo its agents' hands.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from baton.connectors.zendesk import facts
from baton.core.catalog import Catalog
from baton.core.errors import ConfigError
from baton.core.plugin import TicketSummary
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.zendesk import ZendeskState, utcnow

DEFAULT_RATE_LIMIT = 700
CONTROL = "/_sandbox"  # the sandbox's control API (docs/sandbox.md)


@dataclass
class LocalZendesk:
    """A running Zendesk sandbox and the ``BATON_ZENDESK_*`` settings that point Baton at it."""

    sandbox: ZendeskSandbox
    signing_secret: str
    rate_limit: int = DEFAULT_RATE_LIMIT
    _agents: SandboxAgents | None = field(default=None, repr=False)

    @property
    def state(self) -> ZendeskState:
        """The sandbox's account (tickets, agents, webhooks)."""
        return self.sandbox.state

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.sandbox.base_url

    @property
    def env(self) -> Mapping[str, str]:
        """The connector's settings for this sandbox, signing secret included; for a sandbox
        with a rate limit of its own, a client-side limit with the default's headroom."""
        settings = {
            **sandbox_settings(self.sandbox),
            facts.ENV_WEBHOOK_SECRETS: self.signing_secret,
        }
        if self.rate_limit != DEFAULT_RATE_LIMIT:
            headroom = facts.DEFAULT_RATE_LIMIT / DEFAULT_RATE_LIMIT
            settings[facts.ENV_RATE_LIMIT] = f"{self.rate_limit * headroom:g}"
        return settings

    @property
    def agents(self) -> SandboxAgents:
        """The sandbox agents the demo drives, through the sandbox's HTTP control API."""
        if self._agents is None:
            self._agents = SandboxAgents(
                self.base_url, self.sandbox.credentials, self.signing_secret
            )
        return self._agents

    def send_webhooks_to(self, url: str) -> None:
        """Subscribe ``url`` to the sandbox's signed event webhooks (through its control API)."""
        self.agents.subscribe(url)

    def wait_idle(self, timeout: float) -> None:
        """Wait until the queued webhooks are delivered."""
        self.state.webhooks.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving and sending webhooks."""
        if self._agents is not None:
            self._agents.close()
        self.sandbox.stop()


def sandbox_settings(sandbox: ZendeskSandbox) -> dict[str, str]:
    """The ``BATON_ZENDESK_*`` settings that point the connector at a running sandbox."""
    credentials = sandbox.credentials
    return {
        facts.ENV_URL: sandbox.base_url,
        facts.ENV_SUBDOMAIN: credentials["subdomain"],
        facts.ENV_EMAIL: credentials["email"],
        facts.ENV_TOKEN: credentials["token"],
    }


def start_local_zendesk(
    catalog: Catalog,
    *,
    port: int = 0,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    clock: Callable[[], datetime] | None = None,
) -> LocalZendesk:
    """The Zendesk sandbox on 127.0.0.1:``port``, seeded from ``catalog``."""
    state = ZendeskState.from_catalog(catalog, rate_limit=rate_limit, clock=clock or utcnow)
    try:
        sandbox = ZendeskSandbox(state, port=port).start()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"zendesk sandbox: cannot listen on 127.0.0.1:{port} ({reason})"
        ) from None
    return LocalZendesk(sandbox, secrets.token_urlsafe(32), rate_limit)


class SandboxAgents:
    """The demo's agents, acting through the sandbox's HTTP control API (``/_sandbox/``) and
    reading through its Zendesk API, as a team testing its own agent would (ids as Baton
    stores them)."""

    def __init__(self, base_url: str, credentials: Mapping[str, str], signing_secret: str):
        auth = (f"{credentials['email']}/token", credentials["token"])
        self._http = httpx.Client(base_url=base_url, auth=auth, timeout=10)
        self._signing_secret = signing_secret

    def close(self) -> None:
        """Release the HTTP connection."""
        self._http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def _name(self, kind: str, record_id: Any) -> str | None:
        if record_id is None:
            return None
        record = self._json("GET", f"/api/v2/{kind}s/{record_id}.json")[kind]
        return str(record["name"])

    def summary(self, ticket_id: str) -> TicketSummary:
        """Group, assignee, priority and tags of a ticket, as the Zendesk API shows them."""
        ticket = self._json("GET", f"/api/v2/tickets/{ticket_id}.json")["ticket"]
        return TicketSummary(
            self._name("group", ticket.get("group_id")),
            self._name("user", ticket.get("assignee_id")),
            ticket.get("priority"),
            list(ticket.get("tags") or []),
        )

    def _act(self, ticket_id: str, action: str, body: Mapping[str, Any] | None = None) -> None:
        self._json("POST", f"{CONTROL}/tickets/{ticket_id}/{action}", json=body or {})

    def reply(self, ticket_id: str, text: str) -> None:
        """A public agent reply."""
        self._act(ticket_id, "reply", {"body": text, "public": True})

    def reassign(self, ticket_id: str, group: str) -> None:
        """Move the ticket to the group called ``group``."""
        self._act(ticket_id, "transfer", {"group": group})

    def solve(self, ticket_id: str) -> None:
        """Solve the ticket."""
        self._act(ticket_id, "solve")

    def rate(self, ticket_id: str, good: bool, comment: str | None = None) -> None:
        """The requester rates the ticket good or bad."""
        self._act(ticket_id, "rate", {"score": "good" if good else "bad", "comment": comment})

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back: the ticket is open again."""
        self._act(ticket_id, "reopen")

    def clock_at(self, when: datetime) -> None:
        """Set the sandbox's clock to ``when`` through the control API (backwards allowed)."""
        stamp = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self._json("POST", f"{CONTROL}/clock", json={"set": stamp, "backwards": True})

    def subscribe(self, url: str) -> None:
        """Point the sandbox's signed webhooks at ``url``, signed with our secret."""
        self._json("POST", f"{CONTROL}/webhooks", json={"url": url, "secret": self._signing_secret})

    @contextmanager
    def webhooks_lost(self) -> Iterator[None]:
        """Changes inside send no webhook: the subscriptions are removed, then made again."""
        subscribed = self._json("GET", f"{CONTROL}/webhooks")["webhooks"]
        for webhook in subscribed:
            self._json("DELETE", f"{CONTROL}/webhooks/{webhook['webhook_id']}")
        try:
            yield
        finally:
            for webhook in subscribed:
                self.subscribe(webhook["url"])
