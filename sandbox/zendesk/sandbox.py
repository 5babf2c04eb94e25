"""``ZendeskSandbox``: a ``ZendeskState`` served over HTTP on a local port."""

from __future__ import annotations

from baton.sandbox.server import ServedSandbox
from baton.sandbox.zendesk.routes import create_app
from baton.sandbox.zendesk.state import ZendeskState


class ZendeskSandbox(ServedSandbox):
    """A ``ZendeskState`` served over HTTP, delivering its webhooks while it runs;
    ``netloc`` is the value for ``ZENPY_FORCE_NETLOC``."""

    def __init__(self, state: ZendeskState, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app(state), state.webhooks, host, port)
        self.state = state

    @property
    def credentials(self) -> dict[str, str]:
        """``email``, ``token`` and ``subdomain`` as zenpy takes them."""
        return {
            "email": self.state.email,
            "token": self.state.token,
            "subdomain": self.state.subdomain,
        }
