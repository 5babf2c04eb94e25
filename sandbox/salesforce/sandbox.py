"""``SalesforceSandbox``: a ``SalesforceState`` served over HTTP on a local port."""

from __future__ import annotations

from types import TracebackType

from baton.sandbox.salesforce.routes import create_app
from baton.sandbox.salesforce.state import SalesforceState
from baton.sandbox.server import RunningServer, serve_in_thread


class SalesforceSandbox:
    """A ``SalesforceState`` served over HTTP: ``start()``/``stop()`` or use as a context
    manager."""

    def __init__(self, state: SalesforceState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.app = create_app(state)
        self._host = host
        self._port = port
        self._running: RunningServer | None = None

    def start(self) -> SalesforceSandbox:
        """Serve the app and start sending Outbound Messages."""
        if self._running is None:
            self._running = serve_in_thread(self.app, self._host, self._port)
            self.state.outbound.start()
        return self

    def stop(self) -> None:
        """Stop serving and sending."""
        if self._running is not None:
            self._running.stop()
            self._running = None
        self.state.outbound.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._running is None:
            raise RuntimeError("SalesforceSandbox is not started")
        return self._running.base_url

    @property
    def credentials(self) -> dict[str, str]:
        """``client_id``, ``client_secret`` and ``instance_url`` of the org's connected app."""
        return {
            "client_id": self.state.client_id,
            "client_secret": self.state.client_secret,
            "instance_url": self.state.instance_url,
        }

    def __enter__(self) -> SalesforceSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
