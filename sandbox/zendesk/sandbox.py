"""``ZendeskSandbox``: a ``ZendeskState`` served over HTTP on a local port."""

from __future__ import annotations

from types import TracebackType

from baton.sandbox.server import RunningServer, serve_in_thread
from baton.sandbox.zendesk.routes import create_app
from baton.sandbox.zendesk.state import ZendeskState


class ZendeskSandbox:
    """A ``ZendeskState`` served over HTTP: ``start()``/``stop()`` or use as a context manager."""

    def __init__(self, state: ZendeskState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.app = create_app(state)
        self._host = host
        self._port = port
        self._running: RunningServer | None = None

    def start(self) -> ZendeskSandbox:
        """Serve the app and start webhook delivery."""
        if self._running is None:
            self._running = serve_in_thread(self.app, self._host, self._port)
            self.state.webhooks.start()
        return self

    def stop(self) -> None:
        """Stop serving and stop webhook delivery."""
        if self._running is not None:
            self._running.stop()
            self._running = None
        self.state.webhooks.stop()

    @property
    def running(self) -> RunningServer:
        """The running server; raises if not started."""
        if self._running is None:
            raise RuntimeError("ZendeskSandbox is not started")
        return self._running

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.running.base_url

    @property
    def netloc(self) -> str:
        """``127.0.0.1:PORT`` (the value for ``ZENPY_FORCE_NETLOC``)."""
        return self.running.netloc

    @property
    def credentials(self) -> dict[str, str]:
        """``email``, ``token`` and ``subdomain`` as zenpy takes them."""
        return {
            "email": self.state.email,
            "token": self.state.token,
            "subdomain": self.state.subdomain,
        }

    def __enter__(self) -> ZendeskSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
