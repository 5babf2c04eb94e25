"""Fault injection shared by every sandbox.

``FaultQueue.add(Fault(...))`` queues a fault; the first queued fault whose method and path match
an incoming request is consumed (``times`` requests in a row) and applied by ``FaultMiddleware``,
the outermost ASGI layer of a sandbox app:

``status``            answer ``status`` with ``body`` (JSON when a dict/list, else text) and headers
``rate_limit``        answer 429 with ``Retry-After: retry_after`` and ``body``
``latency``           wait ``seconds``, then handle the request normally
``reset``             drop the connection without any response (the client sees a ConnectionError)
``drop_after_commit`` handle the request (the write is applied), then drop the connection before
                      the response leaves: the client errors although the write happened
``latency_after_commit`` handle the request (the write is applied), then hold the answer back for
                      ``seconds``: a window in which the platform has the write and the client
                      does not know it yet (where a crash test kills the client)

Dropping a connection needs the server: ``sandbox.server.serve_in_thread`` registers an aborter on
``app.state.abort_connection``. Without one (e.g. an in-process test client) the middleware falls
back to breaking the response mid-way, which clients also see as a failed request.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status", "rate_limit", "latency", "reset", "drop_after_commit", "latency_after_commit"
]
FAULT_KINDS: tuple[str, ...] = (
    "status",
    "rate_limit",
    "latency",
    "reset",
    "drop_after_commit",
    "latency_after_commit",
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ConnectionAborter = Callable[[tuple[str, int] | None], bool]


@dataclass
class Fault:
    """One injected fault, applied to the next ``times`` matching requests."""

    kind: FaultKind
    method: str = "*"
    path_regex: str = ".*"
    times: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: int = 1
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        self._pattern = re.compile(self.path_regex)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to ``method`` and ``path``."""
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and self._pattern.search(path) is not None


class FaultQueue:
    """Thread-safe ordered queue of faults; consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.applied: list[tuple[str, str, str]] = []

    def add(self, fault: Fault) -> Fault:
        """Queue ``fault``; returns it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    self.applied.append((fault.kind, method, path))
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """Faults not yet used up."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._faults.clear()


def _encode_body(body: Any, default: str) -> tuple[bytes, bytes]:
    if body is None:
        return default.encode("utf-8"), b"text/plain; charset=utf-8"
    if isinstance(body, dict | list):
        return json.dumps(body).encode("utf-8"), b"application/json; charset=utf-8"
    if isinstance(body, bytes):
        return body, b"application/octet-stream"
    return str(body).encode("utf-8"), b"text/plain; charset=utf-8"


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FaultMiddleware:
    """ASGI middleware applying the faults of a ``FaultQueue`` to every route."""

    def __init__(self, app: ASGIApp, faults: FaultQueue) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Apply the next matching fault, if any, around the wrapped app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        handler = _HANDLERS[fault.kind]
        await handler(self, fault, scope, receive, send)

    async def _status(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        body, ctype = _encode_body(fault.body, "Injected fault")
        extra = [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
        await _respond(send, fault.status, body, [(b"content-type", ctype), *extra])

    async def _rate_limit(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        body, ctype = _encode_body(fault.body, "Too Many Requests")
        extra = [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
        retry = (b"retry-after", str(fault.retry_after).encode("ascii"))
        await _respond(send, 429, body, [(b"content-type", ctype), retry, *extra])

    async def _latency(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(fault.seconds)
        await self.app(scope, receive, send)

    async def _reset(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        await _drop(scope, send)

    async def _drop_after_commit(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        await _drop(scope, send)

    async def _latency_after_commit(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(fault.seconds)
        for message in held:
            await send(message)


_Handler = Callable[[FaultMiddleware, Fault, Scope, Receive, Send], Awaitable[None]]
_HANDLERS: dict[str, _Handler] = {
    "status": FaultMiddleware._status,
    "rate_limit": FaultMiddleware._rate_limit,
    "latency": FaultMiddleware._latency,
    "reset": FaultMiddleware._reset,
    "drop_after_commit": FaultMiddleware._drop_after_commit,
    "latency_after_commit": FaultMiddleware._latency_after_commit,
}


class ConnectionDropped(Exception):
    """Raised to break a response when the server cannot abort the connection itself."""


async def _drop(scope: Scope, send: Send) -> None:
    """Close the client's connection with no (complete) response."""
    app = scope.get("app")
    app_state = getattr(app, "state", None)
    aborter: ConnectionAborter | None = getattr(app_state, "abort_connection", None)
    if aborter is not None and aborter(scope.get("client")):
        await asyncio.sleep(0.01)  # let the server notice the connection is gone
        return
    # Fallback: promise a body that never comes, then fail; the server closes the transport.
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
    )
    raise ConnectionDropped("connection dropped by fault injection")
