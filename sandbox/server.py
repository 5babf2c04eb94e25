"""Serve a sandbox (any ASGI app) on a local port in a background thread.

Platform-free: each platform's sandbox wraps this (``baton.sandbox.zendesk.ZendeskSandbox``).
That name stays importable from here too, resolved on first use so this module imports no
platform.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self

import uvicorn

if TYPE_CHECKING:
    from baton.sandbox.zendesk.sandbox import ZendeskSandbox

_START_TIMEOUT = 10.0


class RunningServer:
    """A uvicorn server running in a daemon thread; stop it with ``stop()`` or ``with``."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, host: str, port: int):
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def abort_connection(self, client: tuple[str, int] | None) -> bool:
        """Abort the TCP connection of ``client`` without a response; False if not found."""
        state = getattr(self._server, "server_state", None)
        if client is None or state is None:
            return False
        for connection in list(state.connections):
            if tuple(getattr(connection, "client", None) or ()) == tuple(client):
                connection.transport.abort()
                return True
        return False

    def stop(self, grace: float = 1.0) -> None:
        """Ask the server to exit; after ``grace`` seconds stop waiting for open requests.

        A fault may be holding an answer back for much longer (``latency_after_commit``):
        a test's teardown should not wait it out.
        """
        self._server.should_exit = True
        self._thread.join(timeout=grace)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=_START_TIMEOUT)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


ServedApp = RunningServer


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lifespan: Literal["auto", "on", "off"] = "off",
) -> RunningServer:
    """Start ``app`` on ``host:port`` (0 picks a free port) and return once it accepts requests.

    ``lifespan="on"`` runs the app's startup and shutdown (Baton's service starts its
    background jobs there); the sandboxes have none.
    """
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that name it, and without
    # it every response (head and body written apart) waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        log_level="warning",
        lifespan=lifespan,
        http="h11",
        date_header=False,  # a sandbox that sends Date sends its own clock's time
    )
    server = uvicorn.Server(config)

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name=f"sandbox-{bound_port}", daemon=True)
    running = RunningServer(server, thread, host, bound_port)
    state = getattr(app, "state", None)
    if state is not None:
        state.abort_connection = running.abort_connection
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"sandbox server on {host}:{bound_port} did not start")
        time.sleep(0.005)
    return running


class Sender(Protocol):
    """What a sandbox sends on its own (webhooks, Outbound Messages): started and stopped with
    the server."""

    def start(self) -> None:
        """Start sending."""
        ...

    def stop(self) -> None:
        """Stop sending."""
        ...


class ServedSandbox:
    """A platform sandbox's app served on a local port, its sender beside it: ``start()`` /
    ``stop()`` or use it as a context manager. Each platform's sandbox subclasses it."""

    def __init__(self, app: Any, sender: Sender, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._sender = sender
        self._host = host
        self._port = port
        self._running: RunningServer | None = None

    def start(self) -> Self:
        """Serve the app and start the sender."""
        if self._running is None:
            self._running = serve_in_thread(self.app, self._host, self._port)
            self._sender.start()
        return self

    def stop(self) -> None:
        """Stop serving and sending."""
        if self._running is not None:
            self._running.stop()
            self._running = None
        self._sender.stop()

    @property
    def running(self) -> RunningServer:
        """The running server; raises if not started."""
        if self._running is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._running

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.running.base_url

    @property
    def netloc(self) -> str:
        """``127.0.0.1:PORT``."""
        return self.running.netloc

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def __getattr__(name: str) -> Any:
    """``ZendeskSandbox``, where it used to live, imported when asked for."""
    if name == "ZendeskSandbox":
        from baton.sandbox.zendesk.sandbox import ZendeskSandbox

        return ZendeskSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RunningServer", "ServedApp", "ServedSandbox", "ZendeskSandbox", "serve_in_thread"]
