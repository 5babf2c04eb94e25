"""What a sandbox was asked: a bounded log of the vendor-API requests it received.

``RequestLogMiddleware`` wraps a sandbox app outside its fault injection, so each entry holds
what the client actually got: the status it was sent (None when the connection was dropped
without one) and the kind of fault applied, if any. The log keeps the newest ``capacity``
entries. It never keeps a header's value: of ``Authorization`` only the scheme (``Basic``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.sandbox.clock import Clock, iso_utc
from baton.sandbox.faults import FAULT_SCOPE_KEY, ASGIApp, Message, Receive, Scope, Send

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True)
class LoggedRequest:
    """One request as received and answered."""

    method: str
    path: str
    query: str
    status: int | None
    received_at: datetime
    duration_ms: float
    fault: str | None
    auth_scheme: str | None

    def describe(self) -> dict[str, Any]:
        """The entry as plain JSON-ready data."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "time": iso_utc(self.received_at),
            "duration_ms": round(self.duration_ms, 3),
            "fault": self.fault,
            "auth_scheme": self.auth_scheme,
        }


class RequestLog:
    """Thread-safe ring buffer of the newest ``capacity`` requests, timed on ``clock``."""

    def __init__(self, clock: Clock, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.clock = clock
        self.capacity = capacity
        self.received = 0
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        """Keep ``entry``, forgetting the oldest one when full."""
        with self._lock:
            self._entries.append(entry)
            self.received += 1

    def entries(self) -> list[LoggedRequest]:
        """The kept entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry and reset the count."""
        with self._lock:
            self._entries.clear()
            self.received = 0


def auth_scheme(scope: Scope) -> str | None:
    """The scheme word of the request's Authorization header (never its credentials)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme = value.decode("latin-1").strip().partition(" ")[0]
            return scheme[:20] or None
    return None


class RequestLogMiddleware:
    """ASGI middleware recording every HTTP request into a ``RequestLog``."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and record what was answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received_at = self.log.clock()
        began = time.monotonic()
        statuses: list[int] = []
        recorded = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            self.log.record(
                LoggedRequest(
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=statuses[0] if statuses else None,
                    received_at=received_at,
                    duration_ms=(time.monotonic() - began) * 1000,
                    fault=scope.get(FAULT_SCOPE_KEY),
                    auth_scheme=auth_scheme(scope),
                )
            )

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()  # before the client has the whole answer, so it can read the entry
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            record()  # answered nothing (a dropped connection) or failed mid-way
