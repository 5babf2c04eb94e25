"""core.ratelimit: token bucket refill, blocking, shared pause; all on a fake clock."""

from __future__ import annotations

import contextvars
import threading
from collections import deque

import pytest

from baton.core.ratelimit import (
    BACKGROUND_PATIENCE,
    BACKGROUND_RESERVE,
    RateLimiter,
    background,
)


class FakeTime:
    """A clock that only moves when someone sleeps (thread-safe)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def limiter(fake: FakeTime, per_minute: float = 60, burst: int | None = None) -> RateLimiter:
    return RateLimiter(per_minute, burst, clock=fake.clock, sleep=fake.sleep)


def test_burst_is_free_then_each_request_waits_one_interval(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=60, burst=3)
    for _ in range(3):
        bucket.acquire()
    assert fake.sleeps == []
    bucket.acquire()
    assert fake.sleeps == [pytest.approx(1.0)]  # 60/min → one token a second


def test_tokens_refill_with_time_up_to_the_burst(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=60, burst=2)
    bucket.acquire()
    bucket.acquire()
    fake.advance(10)  # would be 10 tokens, capped at 2
    bucket.acquire()
    bucket.acquire()
    assert fake.sleeps == []
    bucket.acquire()
    assert fake.sleeps == [pytest.approx(1.0)]


def test_default_burst_is_a_tenth_of_a_minute(fake: FakeTime) -> None:
    assert limiter(fake, per_minute=600).burst == 60
    assert limiter(fake, per_minute=5).burst == 1


def test_acquire_with_max_wait_refuses_instead_of_blocking(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=60, burst=1)
    assert bucket.acquire(max_wait=0.5)
    assert not bucket.acquire(max_wait=0.5)  # the next token is 1 s away
    assert fake.sleeps == []
    assert bucket.acquire(max_wait=2)


def test_pause_for_blocks_until_the_pause_is_over(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=6000, burst=10)
    start = fake.clock()
    bucket.pause_for(7)
    assert bucket.paused_remaining() == pytest.approx(7)
    bucket.acquire()
    assert fake.clock() >= start + 7
    assert bucket.paused_remaining() == 0


def test_pause_for_never_shortens_a_longer_pause(fake: FakeTime) -> None:
    bucket = limiter(fake)
    bucket.pause_for(30)
    bucket.pause_for(5)
    assert bucket.paused_remaining() == pytest.approx(30)


def test_pause_for_stops_every_thread_sharing_the_limiter(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=60_000, burst=100)
    pause_end = fake.clock() + 20
    bucket.pause_for(20)
    released: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        bucket.acquire()
        with lock:
            released.append(fake.clock())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(released) == 8
    assert all(when >= pause_end for when in released)


def test_threads_never_take_more_tokens_than_exist(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=60, burst=5)
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            bucket.acquire()
            with lock:
                granted.append(fake.clock())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(granted) == 20
    # 5 from the burst, then one a second: 20 grants need at least 15 s of (fake) time.
    assert max(granted) - 1_000.0 >= 15 - 1e-6


def test_default_limit_keeps_a_700_per_minute_window_free_of_429s(fake: FakeTime) -> None:
    """Client at 600/min (burst 60) against Zendesk's 700/min sliding window: < 5 % 429s."""
    bucket = limiter(fake, per_minute=600)
    window: deque[float] = deque()
    rejected = 0
    total = 6_000  # ten minutes of requests as fast as the limiter allows
    for _ in range(total):
        bucket.acquire()
        now = fake.clock()
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= 700:
            rejected += 1
        else:
            window.append(now)
    assert rejected / total < 0.05
    assert rejected == 0


def test_background_work_yields_to_deliveries_then_takes_its_turn(fake: FakeTime) -> None:
    """Deliveries that spend the refill as it comes keep the sync's reserve from ever filling:
    the sync waits BACKGROUND_PATIENCE behind them, then takes a token as they do."""
    bucket = RateLimiter(60, 10, clock=fake.clock, sleep=lambda s: None)  # a token a second

    def deliveries_take(count: int) -> None:
        for _ in range(count):
            assert bucket.acquire(max_wait=0)

    def sleep_while_deliveries_run(seconds: float) -> None:
        fake.sleep(seconds)
        # As other threads would, outside the sync's background(): what refilled is theirs.
        contextvars.Context().run(deliveries_take, int(seconds))

    deliveries_take(8)  # 2 tokens left: under the sync's 1 + its reserve of 5
    bucket._sleep = sleep_while_deliveries_run
    started = fake.now
    with background():
        assert bucket.acquire()
    assert BACKGROUND_PATIENCE <= fake.now - started < BACKGROUND_PATIENCE + 1


def test_background_work_takes_tokens_freely_while_the_reserve_is_full(fake: FakeTime) -> None:
    bucket = limiter(fake, per_minute=60, burst=10)
    with background():
        taken = sum(1 for _ in range(10) if bucket.acquire(max_wait=0))
    assert taken == 10 - int(10 * BACKGROUND_RESERVE)  # the rest is left for deliveries
