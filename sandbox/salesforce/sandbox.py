"""``SalesforceSandbox``: a ``SalesforceState`` served over HTTP on a local port."""

from __future__ import annotations

from baton.sandbox.salesforce.routes import create_app
from baton.sandbox.salesforce.state import SalesforceState
from baton.sandbox.server import ServedSandbox


class SalesforceSandbox(ServedSandbox):
    """A ``SalesforceState`` served over HTTP, sending its Outbound Messages while it runs."""

    def __init__(self, state: SalesforceState, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app(state), state.outbound, host, port)
        self.state = state

    @property
    def credentials(self) -> dict[str, str]:
        """``client_id``, ``client_secret`` and ``instance_url`` of the org's connected app."""
        return {
            "client_id": self.state.client_id,
            "client_secret": self.state.client_secret,
            "instance_url": self.state.instance_url,
        }
