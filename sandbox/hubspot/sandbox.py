"""``HubSpotSandbox``: a ``HubSpotState`` served over HTTP on a local port."""

from __future__ import annotations

from baton.sandbox.hubspot.routes import create_app
from baton.sandbox.hubspot.state import HubSpotState
from baton.sandbox.server import ServedSandbox


class HubSpotSandbox(ServedSandbox):
    """A ``HubSpotState`` served over HTTP, sending its webhooks while it runs."""

    def __init__(self, state: HubSpotState, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app(state), state.webhooks, host, port)
        self.state = state

    @property
    def access_token(self) -> str:
        """A private-app token the sandbox accepts."""
        return self.state.access_token
