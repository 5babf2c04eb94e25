"""The Zendesk sandbox as the embedded default and the demo use it.

The sandbox (``baton.sandbox.zendesk``) stands in for Zendesk and knows nothing of Baton; this
module starts it and hands Baton the settings that point the connector at it, and gives the
demo its agents' hands.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from baton.connectors.zendesk import facts
from baton.core.catalog import Catalog
from baton.core.errors import ConfigError
from baton.core.plugin import DemoAgents, TicketSummary
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.zendesk import WebhookTarget, ZendeskState, utcnow

DEFAULT_RATE_LIMIT = 700


@dataclass
class LocalZendesk:
    """A running Zendesk sandbox and the ``BATON_ZENDESK_*`` settings that point Baton at it."""

    sandbox: ZendeskSandbox
    signing_secret: str

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
        """The connector's settings for this sandbox, signing secret included."""
        return {**sandbox_settings(self.sandbox), facts.ENV_WEBHOOK_SECRETS: self.signing_secret}

    @property
    def agents(self) -> DemoAgents:
        """The sandbox agents the demo drives."""
        return SandboxAgents(self.state)

    def send_webhooks_to(self, url: str) -> None:
        """Subscribe ``url`` to the sandbox's signed event webhooks."""
        self.state.webhooks.add(WebhookTarget(url, self.signing_secret))

    def wait_idle(self, timeout: float) -> None:
        """Wait until the queued webhooks are delivered."""
        self.state.webhooks.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving and sending webhooks."""
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
    return LocalZendesk(sandbox, secrets.token_urlsafe(32))


@dataclass(frozen=True)
class SandboxAgents:
    """The demo's agents acting on the sandbox's tickets (ids as Baton stores them)."""

    state: ZendeskState

    def summary(self, ticket_id: str) -> TicketSummary:
        """Group, assignee, priority and tags of a ticket."""
        ticket = self.state.tickets[int(ticket_id)]
        group = self.state.groups[ticket.group_id].name if ticket.group_id else None
        agent = self.state.users[ticket.assignee_id].name if ticket.assignee_id else None
        return TicketSummary(group, agent, ticket.priority, list(ticket.tags))

    def reply(self, ticket_id: str, text: str) -> None:
        """A public agent reply."""
        self.state.agent_reply(int(ticket_id), text)

    def reassign(self, ticket_id: str, group: str) -> None:
        """Move the ticket to the group called ``group``."""
        group_id = next(g.id for g in self.state.groups.values() if g.name == group)
        self.state.reassign(int(ticket_id), group_id=group_id)

    def solve(self, ticket_id: str) -> None:
        """Solve the ticket."""
        self.state.solve(int(ticket_id))

    def rate(self, ticket_id: str, good: bool, comment: str | None = None) -> None:
        """The requester rates the ticket good or bad."""
        self.state.rate(int(ticket_id), "good" if good else "bad", comment)

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back: the ticket is open again."""
        self.state.reopen(int(ticket_id))

    @contextmanager
    def webhooks_lost(self) -> Iterator[None]:
        """Changes inside send no webhook."""
        self.state.webhooks.wait_idle(10)
        targets = list(self.state.webhooks.targets)
        self.state.webhooks.targets.clear()
        try:
            yield
        finally:
            self.state.webhooks.targets.extend(targets)
