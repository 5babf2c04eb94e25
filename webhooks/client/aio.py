"""``AsyncBatonClient``: the asyncio shell around :mod:`baton.client.protocol`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from tenacity import AsyncRetrying

from baton.client import protocol
from baton.client.errors import WaitTimeout
from baton.client.models import Accepted, HandoffStatus
from baton.core.handoff import Handoff


class AsyncBatonClient:
    """The async twin of :class:`~baton.client.BatonClient`: the same arguments (``transport``
    an ``httpx.AsyncBaseTransport``, ``sleep`` a coroutine function), methods awaited.
    Use it as an async context manager, or await :meth:`close`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = protocol.DEFAULT_TIMEOUT,
        retries: int = protocol.DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._retry_options = protocol.retry_options(retries, sleep)
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=protocol.headers(api_key),
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    async def handoff(self, handoff: Handoff | Mapping[str, Any]) -> Accepted:
        """Submit a handoff (see :meth:`BatonClient.handoff <baton.client.BatonClient.handoff>`)."""
        call = protocol.handoff_call(handoff)
        return protocol.read_accepted(call, await self._send(call))

    async def status(self, handoff_id: str) -> HandoffStatus:
        """The handoff's status document."""
        call = protocol.status_call(handoff_id)
        return protocol.read_status(call, await self._send(call))

    async def wait(
        self,
        handoff_id: str,
        until: protocol.Until = "ticket",
        timeout: float = 30.0,
        poll: float = 0.5,
    ) -> HandoffStatus:
        """Poll until the ticket exists or the case is resolved; ``WaitTimeout`` otherwise."""
        goal = protocol.check_until(until)
        deadline = self._clock() + timeout
        while True:
            status = await self.status(handoff_id)
            if protocol.reached(status, goal):
                return status
            pause = protocol.next_pause(poll, deadline - self._clock())
            if pause is None:
                raise WaitTimeout(handoff_id, goal, timeout, status)
            await self._sleep(pause)

    async def _send(self, call: protocol.Call) -> httpx.Response:
        response: httpx.Response = await AsyncRetrying(**self._retry_options)(self._attempt, call)
        return response

    async def _attempt(self, call: protocol.Call) -> httpx.Response:
        try:
            response = await self._http.request(call.method, call.path, content=call.content)
        except httpx.TransportError as exc:
            raise protocol.transport_failure(call, exc) from exc
        protocol.check_retryable(response)
        return response

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
