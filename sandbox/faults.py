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

``FaultQueue.add_random(RandomFault(fault, probability, seed))`` sets a standing rule instead: each
request matching ``fault`` (when no queued fault does) gets it with ``probability``, drawn from the
rule's own ``random.Random(seed)``, so a seeded rule faults the same requests on every run.

The middleware notes the kind of fault it applied in ``scope["sandbox.fault"]``, for the request
log around it.

Dropping a connection needs the server: ``sandbox.server.serve_in_thread`` registers an aborter on
``app.state.abort_connection``. Without one (e.g. an in-process test client) the middleware falls
back to breaking the response mid-way, which clients also see as a failed request.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

FAULT_SCOPE_KEY = "sandbox.fault"

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

    def describe(self) -> dict[str, Any]:
        """The fault as plain JSON-ready data."""
        return {
            "kind": self.kind,
            "method": self.method,
            "path_regex": self.path_regex,
            "times": self.times,
            "status": self.status,
            "body": self.body,
            "headers": dict(self.headers),
            "retry_after": self.retry_after,
            "seconds": self.seconds,
        }


@dataclass
class RandomFault:
    """A standing rule: each request ``fault`` matches gets it with ``probability`` (0 < p ≤ 1).

    ``fault.times`` is ignored; the rule stays until cleared. Draws come from the rule's own
    generator seeded with ``seed``, so the same requests in the same order fault the same way.
    """

    fault: Fault
    probability: float
    seed: int | None = None
    matched: int = 0
    applied: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.probability <= 1:
            raise ValueError("probability must be above 0 and at most 1")
        self._draws = random.Random(self.seed)  # noqa: S311 - fault sampling, not security

    def draw(self) -> bool:
        """Count a matching request and decide whether it gets the fault."""
        self.matched += 1
        hit = self._draws.random() < self.probability
        self.applied += int(hit)
        return hit

    def describe(self) -> dict[str, Any]:
        """The rule as plain JSON-ready data, with how often it matched and applied."""
        params = self.fault.describe()
        del params["times"]
        return {
            **params,
            "probability": self.probability,
            "seed": self.seed,
            "matched": self.matched,
            "applied": self.applied,
        }


class FaultQueue:
    """Thread-safe ordered queue of faults, consumed in the order they were added, and the
    standing random rules consulted when no queued fault matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random: list[RandomFault] = []
        self.applied: list[tuple[str, str, str]] = []

    def add(self, fault: Fault) -> Fault:
        """Queue ``fault``; returns it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_random(self, rule: RandomFault) -> RandomFault:
        """Set a standing random rule; returns it."""
        with self._lock:
            self._random.append(rule)
        return rule

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first queued fault matching the request; failing that, let
        each matching random rule draw in turn. None when the request goes through."""
        with self._lock:
            fault = self._take_queued(method, path) or self._draw_random(method, path)
            if fault is not None:
                self.applied.append((fault.kind, method, path))
            return fault

    def _take_queued(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _draw_random(self, method: str, path: str) -> Fault | None:
        for rule in self._random:
            if rule.fault.matches(method, path) and rule.draw():
                return rule.fault
        return None

    def pending(self) -> list[Fault]:
        """Faults not yet used up."""
        with self._lock:
            return list(self._faults)

    def random_rules(self) -> list[RandomFault]:
        """The standing random rules."""
        with self._lock:
            return list(self._random)

    def clear(self) -> None:
        """Forget every queued fault and every random rule."""
        with self._lock:
            self._faults.clear()
            self._random.clear()


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
        scope[FAULT_SCOPE_KEY] = fault.kind
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
