"""``BatonClient``: the blocking shell around :mod:`baton.client.protocol`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from tenacity import Retrying

from baton.client import protocol
from baton.client.errors import WaitTimeout
from baton.client.models import Accepted, HandoffStatus
from baton.core.handoff import Handoff


class BatonClient:
    """A Baton service at ``base_url``, called with ``api_key`` (one of its ``BATON_API_KEYS``).

    ``timeout``: seconds for each attempt (connect, read, write, pool); ``retries``: retries
    after the first attempt on connection errors, timeouts, 429 and 5xx. ``transport``: an
    httpx transport (``httpx.MockTransport`` in tests). ``sleep`` and ``clock`` are seams for
    tests: what waits between attempts and polls, and the monotonic clock ``wait`` reads.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = protocol.DEFAULT_TIMEOUT,
        retries: int = protocol.DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._retry_options = protocol.retry_options(retries, sleep)
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=base_url,
            headers=protocol.headers(api_key),
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def handoff(self, handoff: Handoff | Mapping[str, Any]) -> Accepted:
        """Submit a handoff; :class:`~baton.client.Accepted` once Baton has it (``existing``:
        it had it already). Validated before sending (:class:`~baton.client.InvalidHandoff`);
        a document without ``id`` gets one, the same on every retry."""
        call = protocol.handoff_call(handoff)
        return protocol.read_accepted(call, self._send(call))

    def status(self, handoff_id: str) -> HandoffStatus:
        """The handoff's status: delivery, ticket, disposition, whether a human holds it."""
        call = protocol.status_call(handoff_id)
        return protocol.read_status(call, self._send(call))

    def wait(
        self,
        handoff_id: str,
        until: protocol.Until = "ticket",
        timeout: float = 30.0,
        poll: float = 0.5,
    ) -> HandoffStatus:
        """Poll the status until the ticket exists (``until="ticket"``) or the case is
        resolved (``"resolved"``); :class:`~baton.client.WaitTimeout` after ``timeout`` s."""
        goal = protocol.check_until(until)
        deadline = self._clock() + timeout
        while True:
            status = self.status(handoff_id)
            if protocol.reached(status, goal):
                return status
            pause = protocol.next_pause(poll, deadline - self._clock())
            if pause is None:
                raise WaitTimeout(handoff_id, goal, timeout, status)
            self._sleep(pause)

    def _send(self, call: protocol.Call) -> httpx.Response:
        response: httpx.Response = Retrying(**self._retry_options)(self._attempt, call)
        return response

    def _attempt(self, call: protocol.Call) -> httpx.Response:
        try:
            response = self._http.request(call.method, call.path, content=call.content)
        except httpx.TransportError as exc:
            raise protocol.transport_failure(call, exc) from exc
        protocol.check_retryable(response)
        return response

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
