"""A client-side rate limiter shared by every thread using one platform connection.

A token bucket: ``per_minute`` tokens are added evenly over each minute, up to ``burst``;
each request takes one. With the default burst of a tenth of a minute's allowance, any
60-second window holds at most ``per_minute + burst`` requests, so a limiter set at 600/min
stays under a platform's 700/min sliding window and 429s stay rare.

When the platform answers 429 anyway, ``pause_for(retry_after)`` stops every thread sharing the
limiter until the pause is over, and the bucket starts empty afterwards so the threads do not
all rush back at once. When an answer says how many requests the platform still allows
(``observe(remaining)``), a bucket believing in more drops to that figure.

Deliveries come first: work run inside :func:`background` (the sync, backfills) takes a token
only while more than :data:`BACKGROUND_RESERVE` of the burst would be left, so a busy delivery
queue keeps the bucket low and background work waits for the quiet moments — for
:data:`BACKGROUND_PATIENCE` seconds at most per request, after which it takes its turn like a
delivery: a delivery queue that never empties slows the sync down, never stops it.

This bucket lives in one process; :mod:`core.budget` shares one per platform account between
processes through the store, with the same interface.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

Clock = Callable[[], float]
_EPSILON = 1e-9
Sleep = Callable[[float], None]
P = ParamSpec("P")
R = TypeVar("R")

BACKGROUND_RESERVE = 0.5
"""The share of a bucket's burst that work inside :func:`background` leaves for deliveries."""
BACKGROUND_PATIENCE = 30.0
"""Seconds one background request leaves the reserve alone before it competes for tokens."""
_BACKGROUND: ContextVar[bool] = ContextVar("baton_rate_background", default=False)


@contextmanager
def background() -> Iterator[None]:
    """Inside, this thread's requests yield to deliveries (see the module docstring)."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def yields_to_deliveries(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside :func:`background` (for the sync's and the backfill's entry)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with background():
            return func(*args, **kwargs)

    return wrapper


def reserve_for(burst: float) -> float:
    """Tokens the calling thread must leave in a bucket of ``burst``: 0 for deliveries."""
    return burst * BACKGROUND_RESERVE if _BACKGROUND.get() else 0.0


class RateLimiter:
    """Thread-safe token bucket with a shared pause; clock and sleep are injectable."""

    def __init__(
        self,
        per_minute: float,
        burst: int | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = float(per_minute)
        self.burst = max(1, int(burst if burst is not None else per_minute // 10))
        self._rate = self.per_minute / 60.0  # tokens per second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()
        self._paused_until = self._updated

    def acquire(self, max_wait: float | None = None) -> bool:
        """Take one token, blocking until one is free; False if that would exceed ``max_wait``.

        Returns True once a token is taken. With ``max_wait`` given and the wait (for a token or
        for a pause to end) longer than it, returns False at once and takes nothing.
        """
        reserve = reserve_for(self.burst)
        patient_until = self._clock() + BACKGROUND_PATIENCE
        while True:
            if reserve and self._clock() >= patient_until:
                reserve = 0.0  # waited long enough behind deliveries: take the next token
            wait = self._next_wait(reserve)
            if wait <= 0:
                return True
            if max_wait is not None and wait > max_wait:
                return False
            if reserve:
                wait = min(wait, max(0.0, patient_until - self._clock()) + _EPSILON)
            self._sleep(wait)

    def pause_for(self, seconds: float) -> None:
        """Stop every caller for ``seconds`` from now (never shortens a longer pause)."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            if until > self._paused_until:
                self._paused_until = until
            self._tokens = 0.0
            self._updated = max(self._updated, self._paused_until)

    def paused_remaining(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        with self._lock:
            return max(0.0, self._paused_until - self._clock())

    def observe(self, remaining: int | None) -> None:
        """The platform allows ``remaining`` more requests now: never believe in more tokens."""
        if remaining is None or remaining >= self.burst:
            return
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, float(max(0, remaining)))

    def _next_wait(self, reserve: float) -> float:
        """Take a token and return 0, or return how long to wait (``reserve`` left alone)."""
        with self._lock:
            return self._take_or_wait(reserve)

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def _take_or_wait(self, reserve: float = 0.0) -> float:
        """Under the lock: take a token and return 0, or return how long to wait."""
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        self._refill(now)
        # float sums like 0.1 * 10 may land just below 1
        if self._tokens - reserve >= 1.0 - _EPSILON:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 + reserve - self._tokens) / self._rate
