"""RELIABILITY R1: processes share one rate budget per platform account — proved by counting.

Several :class:`AccountLimiter` objects, each on its own Store (own engine and pool, as in
separate processes), take tokens from one database on one fake wall clock; then real
processes send requests to the Zendesk sandbox with a scaled-down limit, and the sandbox
counts the requests and its 429s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.core.budget import AccountLimiter, share_budgets, shared_store
from baton.core.catalog import load_catalog
from baton.core.ratelimit import background
from baton.core.store import Store
from baton.sandbox.zendesk import ZendeskState
from baton.sandbox.zendesk.sandbox import ZendeskSandbox
from tests.support.paths import MAPPINGS

if TYPE_CHECKING:
    from tests.conftest import Database

HERE = Path(__file__).parent
PER_MINUTE = 60.0
BURST = 3


class Wall:
    """A wall clock shared by every limiter; it moves only when told."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"asked to sleep {seconds} s; the tests use max_wait")


@pytest.fixture
def stores(database: Database, store: Store) -> Iterator[list[Store]]:
    """Three Stores on one migrated database: three processes' views of it."""
    others = [database.new_store(), database.new_store()]
    try:
        yield [store, *others]
    finally:
        for other in others:
            other.close()


def limiters(stores: list[Store], wall: Wall, burst: int = BURST) -> list[AccountLimiter]:
    account = f"zendesk:{uuid.uuid4().hex[:12]}"  # a fresh budget for each example
    return [
        AccountLimiter(
            account,
            "zendesk",
            PER_MINUTE,
            burst,
            store=s,
            clock=wall,
            wall_clock=wall,
            sleep=no_sleep,
        )
        for s in stores
    ]


def take_all(limiter: AccountLimiter) -> int:
    """Take every token free now; how many."""
    taken = 0
    while limiter.acquire(max_wait=0):
        taken += 1
    return taken


def most_in_any_minute(grants: list[float]) -> int:
    grants = sorted(grants)
    return max((sum(1 for u in grants if t <= u < t + 60) for t in grants), default=0)


def test_r1_three_processes_spend_one_budget_not_three(stores: list[Store]) -> None:
    wall = Wall()
    group = limiters(stores, wall)
    grants: list[float] = []
    for step in range(260):  # 130 s in half-second steps, each process taking what it can
        wall.now += 0.5
        for limiter in group[step % 3 :] + group[: step % 3]:
            grants += [wall.now] * take_all(limiter)
    assert most_in_any_minute(grants) <= PER_MINUTE + BURST
    # All of it is used: the burst, then one token a second (a third each if they had not
    # shared, three times as many).
    assert len(grants) == BURST + 130 - 1


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    schedule=st.lists(
        st.tuples(st.integers(0, 2), st.floats(0.0, 3.0, allow_nan=False)),
        min_size=10,
        max_size=80,
    )
)
def test_r1_no_schedule_gets_more_than_the_budget(
    stores: list[Store], schedule: list[tuple[int, float]]
) -> None:
    wall = Wall()
    group = limiters(stores, wall)
    start = wall.now
    grants: list[float] = []
    for who, pause in schedule:
        wall.now += pause
        grants += [wall.now] * take_all(group[who])
    assert most_in_any_minute(grants) <= PER_MINUTE + BURST
    assert len(grants) <= BURST + (wall.now - start) * PER_MINUTE / 60 + 1e-6


def test_a_429_in_one_process_pauses_the_others(stores: list[Store]) -> None:
    wall = Wall()
    a, b, _ = limiters(stores, wall)
    a.pause_for(5.0)
    assert b.paused_remaining() == pytest.approx(5.0)
    assert not b.acquire(max_wait=4.0)
    wall.now += 5.0
    assert not b.acquire(max_wait=0)  # the bucket starts empty after a pause
    wall.now += 1.0
    assert b.acquire(max_wait=0)


def test_the_platforms_remaining_figure_lowers_the_bucket_for_everyone(
    stores: list[Store],
) -> None:
    wall = Wall()
    a, b, _ = limiters(stores, wall, burst=10)
    assert a.acquire(max_wait=0)  # the budget row exists, 9 tokens left
    a.observe(50)  # more than the bucket can hold: nothing to do
    a.observe(2)  # the platform allows 2 more: so does the bucket
    assert take_all(b) == 2


def test_background_work_leaves_half_the_burst_to_deliveries(stores: list[Store]) -> None:
    wall = Wall()
    delivery, sync, _ = limiters(stores, wall, burst=4)
    with background():
        assert take_all(sync) == 2
    assert take_all(delivery) == 2


def test_without_a_shared_store_the_bucket_is_the_processs_own(store: Store) -> None:
    wall = Wall()
    unshared = AccountLimiter("zendesk:x", "zendesk", 60, 2, clock=wall, wall_clock=wall)
    assert shared_store() is None
    assert take_all(unshared) == 2
    share_budgets(store)
    try:
        assert repr(unshared).endswith("shared)")
        assert take_all(unshared) == 2  # the account's row, new and full
    finally:
        store.close()  # closing the shared store stops the sharing
    assert shared_store() is None


# --- real processes against the sandbox -------------------------------------------------

LIMIT = 40  # requests per sandbox window
TIME_FACTOR = 60.0  # the window lasts one real second
CHILDREN = 3
REQUESTS = 40
CLIENT_PER_MINUTE = LIMIT * TIME_FACTOR * 0.85  # 85 % of the limit, in real minutes
CLIENT_BURST = 2  # per_minute/60 + burst = 36 ≤ 40 in any one-second window


def run_children(database: Database, base_url: str, shared: bool) -> list[dict[str, int]]:
    options = database.engine_kwargs.get("connect_args", {}).get("options", "")
    args = [str(REQUESTS), f"{CLIENT_PER_MINUTE:g}", str(CLIENT_BURST), "1" if shared else "0"]
    children = [
        subprocess.Popen(
            [sys.executable, str(HERE / "budget_child.py"), database.url, options, base_url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(CHILDREN)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "each-its-own"])
def test_r1_processes_sharing_the_budget_stay_under_the_platforms_limit(
    database: Database, store: Store, shared: bool
) -> None:
    if not shared and database.backend != "sqlite":
        pytest.skip("the control runs once, on SQLite")
    state = ZendeskState.from_catalog(
        load_catalog(MAPPINGS / "catalogs" / "zendesk.json"),
        rate_limit=LIMIT,
        time_factor=TIME_FACTOR,
    )
    with ZendeskSandbox(state) as sandbox:
        results = run_children(database, f"http://{sandbox.netloc}", shared)
    requests, rejected = state.stats.requests, state.stats.by_status.get(429, 0)
    sent = sum(r["sent"] for r in results)
    if shared:
        assert rejected / requests < 0.01, f"{rejected} of {requests} requests answered 429"
        assert sent == CHILDREN * REQUESTS
        assert requests == sent + rejected
    else:  # the control: the same processes, each with a budget of its own, are refused
        assert rejected / requests > 0.02, f"only {rejected} of {requests} answered 429"
