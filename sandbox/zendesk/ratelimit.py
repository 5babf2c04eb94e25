"""Zendesk's API rate limit (a sliding one-minute window) and the request counters."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from baton.sandbox.clock import Clock


@dataclass
class Stats:
    """Request counters for benchmarks."""

    requests: int = 0
    rejections: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class RateLimiter:
    """Sliding one-minute window (shortened by ``time_factor``) on the sandbox clock."""

    def __init__(self, limit: int, clock: Clock, time_factor: float) -> None:
        self.limit = limit
        self._clock = clock
        self.window = 60.0 / time_factor
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def hit(self) -> tuple[bool, int, int]:
        """Count a request: (allowed, remaining, retry_after_seconds)."""
        now = self._clock().timestamp()
        with self._lock:
            # Hits later than now were counted before the clock was set back: they would
            # otherwise block the window until the clock caught up with them.
            while self._hits and self._hits[-1] > now:
                self._hits.pop()
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                wait = self._hits[0] + self.window - now
                return False, 0, max(1, math.ceil(wait))
            self._hits.append(now)
            return True, self.limit - len(self._hits), 0
