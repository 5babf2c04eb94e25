"""The ToyDesk sandbox as ``baton serve --sandbox`` and ``baton demo`` use it.

:mod:`.sandbox` is the vendor; this module starts it on Baton's shared server
(:func:`baton.sandbox.server.serve_in_thread`), hands Baton the ``BATON_TOYDESK_*`` settings
that point the connector at it, and gives the demo its agents' hands.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from baton.core.catalog import Catalog
from baton.core.errors import ConfigError
from baton.core.plugin import DemoAgents, TicketSummary
from baton.sandbox.clock import OffsetClock
from baton.sandbox.server import RunningServer, serve_in_thread
from tests.support.toydesk import facts
from tests.support.toydesk.routes import create_app
from tests.support.toydesk.sandbox import ToyState, utcnow

DEFAULT_RATE_LIMIT = 700


@dataclass
class LocalToydesk:
    """A running ToyDesk sandbox and the settings that point Baton at it."""

    server: RunningServer
    state: ToyState
    signing_secret: str
    clock: OffsetClock

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.server.base_url

    @property
    def env(self) -> Mapping[str, str]:
        """The connector's ``BATON_TOYDESK_*`` settings, webhook secret included."""
        return {
            facts.ENV_URL: self.base_url,
            facts.ENV_TOKEN: self.state.token,
            facts.ENV_WEBHOOK_SECRET: self.signing_secret,
        }

    @property
    def agents(self) -> DemoAgents:
        """The sandbox agents the demo drives."""
        return ToyAgents(self.state, self.clock)

    def send_webhooks_to(self, url: str) -> None:
        """Subscribe ``url`` to the sandbox's signed webhooks."""
        self.state.webhooks.subscribe(url, self.signing_secret)

    def wait_idle(self, timeout: float) -> None:
        """Wait until the queued webhooks are delivered (or ``timeout`` passes)."""
        self.state.webhooks.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving, then stop sending webhooks."""
        self.server.stop()
        self.state.webhooks.stop()


def start_local_toydesk(
    catalog: Catalog,
    *,
    port: int = 0,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    clock: Callable[[], datetime] | None = None,
) -> LocalToydesk:
    """The ToyDesk sandbox on 127.0.0.1:``port``, its queues and fields from ``catalog``."""
    seed = catalog.model_dump(mode="json") | {"source": "live: ToyDesk sandbox"}
    moved = OffsetClock(clock or utcnow)
    state = ToyState(seed, token=secrets.token_urlsafe(24), clock=moved, rate_limit=rate_limit)
    try:
        server = serve_in_thread(create_app(state), port=port)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"toydesk sandbox: cannot listen on 127.0.0.1:{port} ({reason})"
        ) from None
    state.webhooks.start()
    return LocalToydesk(server, state, secrets.token_urlsafe(32), moved)


@dataclass(frozen=True)
class ToyAgents:
    """The demo's agents acting on sandbox tickets (ids as Baton stores them)."""

    state: ToyState
    clock: OffsetClock

    def summary(self, ticket_id: str) -> TicketSummary:
        """Queue, priority and tags of a ticket (ToyDesk has no assignees)."""
        ticket = self.state.show(int(ticket_id))
        return TicketSummary(ticket["queue"], None, ticket["priority"], list(ticket["tags"]))

    def reply(self, ticket_id: str, text: str) -> None:
        """A public agent reply."""
        self.state.reply(int(ticket_id), text)

    def reassign(self, ticket_id: str, group: str) -> None:
        """Move the ticket to the queue called ``group``."""
        self.state.reassign(int(ticket_id), group)

    def solve(self, ticket_id: str) -> None:
        """Solve the ticket."""
        self.state.solve(int(ticket_id))

    def rate(self, ticket_id: str, good: bool, comment: str | None = None) -> None:
        """The customer rates the ticket good or bad."""
        self.state.rate(int(ticket_id), good, comment)

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back: the ticket is open again."""
        self.state.reopen(int(ticket_id))

    @contextmanager
    def webhooks_lost(self) -> Iterator[None]:
        """Changes inside send no webhook (the sync run still sees them)."""
        self.state.webhooks.wait_idle(10)
        self.state.webhooks.paused = True
        try:
            yield
        finally:
            self.state.webhooks.paused = False

    def clock_at(self, when: datetime) -> None:
        """Set the sandbox's clock to ``when`` (earlier or later)."""
        self.clock.set(when)
