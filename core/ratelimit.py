"""A client-side rate limiter shared by every thread using one platform connection.

A token bucket: ``per_minute`` tokens are added evenly over each minute, up to ``burst``;
each request takes one. With the default burst of a tenth of a minute's allowance, any
60-second window holds at most ``per_minute + burst`` requests, so a limiter set at 600/min
stays under a platform's 700/min sliding window and 429s stay rare.

When the platform answers 429 anyway, ``pause_for(retry_after)`` stops every thread sharing the
limiter until the pause is over, and the bucket starts empty afterwards so the threads do not
all rush back at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
_EPSILON = 1e-9
Sleep = Callable[[float], None]


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
        while True:
            with self._lock:
                wait = self._take_or_wait()
            if wait <= 0:
                return True
            if max_wait is not None and wait > max_wait:
                return False
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

    def _take_or_wait(self) -> float:
        """Under the lock: take a token and return 0, or return how long to wait."""
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
        if self._tokens >= 1.0 - _EPSILON:  # float sums like 0.1 * 10 may land just below 1
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / self._rate
