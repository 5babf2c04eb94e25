"""Clocks the sandboxes run on: the real time, one moved by an offset, one moved by hand.

A sandbox's state reads the time only through its clock, so the control API can move a running
sandbox's time forward (``OffsetClock.advance``) or set it to a given time, earlier ones
included (``OffsetClock.set``), and tests can hold it still (``ManualClock``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real UTC time (the default clock)."""
    return datetime.now(UTC)


def iso_utc(when: datetime) -> str:
    """``when`` in UTC as ISO-8601 with a ``Z`` and whatever fraction of a second it has."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class OffsetClock:
    """Another clock plus an offset: ``clock()`` reads it, ``clock.advance(seconds)`` moves it."""

    def __init__(self, base: Clock = utcnow) -> None:
        self._base = base
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            offset = self._offset
        return self._base() + offset

    @property
    def offset_seconds(self) -> float:
        """How far this clock runs ahead of its base clock."""
        with self._lock:
            return self._offset.total_seconds()

    def advance(self, seconds: float) -> datetime:
        """Move the clock by ``seconds`` (the control API allows only forward) and return it."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self()

    def set(self, when: datetime) -> datetime:
        """Make the clock read ``when`` now (it runs on from there) and return it."""
        with self._lock:
            self._offset = when - self._base()
        return self()


class ManualClock(OffsetClock):
    """A clock that stands still until a test moves it: ``clock.advance(seconds)``."""

    def __init__(self, start: datetime | None = None) -> None:
        fixed = start or utcnow()
        super().__init__(lambda: fixed)
