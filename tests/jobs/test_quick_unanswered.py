"""A lost response is retried at once, in the same claim; 429/5xx keep their waits (O6).

The worker runs the real Zendesk connector against the Zendesk sandbox, whose faults lose a
create's response after the ticket was made; waits are recorded by an injected sleep, so the
tests count calls and read waits, never the wall clock. Also: the worker's minimum backoff
as a setting (``BATON_WORKER_MIN_BACKOFF``, ``baton worker --min-backoff``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from jobs_fakes import FakeCreator, NoSleep, make_worker, only, retryable
from typer.testing import CliRunner

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.delivery import DeliveryMetrics
from baton.core.errors import ConfigError
from baton.core.mapping import load_mapping
from baton.core.retry import RetryPolicy
from baton.core.store import Store
from baton.sandbox.faults import Fault
from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState
from baton.webhooks.cli_jobs import JobsDeps, register
from baton.webhooks.settings import WORKER_MIN_BACKOFF, worker_policy
from tests.support.builders import make_handoff
from tests.support.paths import MAPPINGS

if TYPE_CHECKING:
    from tests.conftest import Database

CREATE = r"^/api/v2/tickets\.json$"
DEFAULT = RetryPolicy()


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ZendeskState, ZendeskConnector]]:
    """The sandbox seeded from the shipped catalog and the real connector pointed at it."""
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "placeholder")  # restored after the test
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "placeholder")
    state = ZendeskState.from_catalog(load_catalog(MAPPINGS / "catalogs" / "zendesk.json"))
    with ZendeskSandbox(state) as sandbox:
        connector = ZendeskConnector.from_env(
            load_mapping(MAPPINGS, "zendesk"), sandbox_settings(sandbox)
        )
        try:
            yield state, connector
        finally:
            connector.close()


def creates(state: ZendeskState) -> list[str]:
    """Method and fault (else status) of each create and look-up the sandbox saw."""
    return [
        f"{e['method']} {e['fault'] or e['status']}"
        for e in (entry.describe() for entry in state.request_log.entries())
        if e["path"].startswith("/api/v2/tickets")
    ]


def test_a_lost_response_is_retried_at_once_in_the_same_claim_and_makes_one_ticket(
    store: Store,
    metrics: DeliveryMetrics,
    no_sleep: NoSleep,
    zendesk: tuple[ZendeskState, ZendeskConnector],
) -> None:
    state, connector = zendesk
    state.faults.add(Fault("drop_after_commit", method="POST", path_regex=CREATE))
    store.add_handoff(make_handoff("h-lost"), "zendesk")
    worker = make_worker(store, {"zendesk": connector}, metrics, policy=DEFAULT, sleep=no_sleep)

    assert worker.run_once() == 1

    # One quick wait, of the unanswered kind: far under the 1 s a 5xx waits, and no claim
    # went back to the outbox (delivered by the first claim, after two counted calls).
    assert len(no_sleep.waits) == 1
    assert no_sleep.waits[0] <= 2 * DEFAULT.quick_unanswered
    assert worker.results == {"delivered": 1}
    view = only(store)
    assert (view.state, view.attempts) == ("delivered", 2)
    [ticket] = state.list_tickets(external_id="h-lost")
    link = store.ticket_link("h-lost")
    assert link is not None
    assert link.ticket_id == str(ticket.id)
    # The create whose answer was lost and the look-up that found its ticket: no second
    # create. The log keeps them in the order they finished, and the dropped request's entry
    # is written once the server has closed its connection, which may come a little later.
    deadline = time.monotonic() + 10
    while len(creates(state)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(creates(state)) == ["GET 200", "POST drop_after_commit"]


def test_a_503_without_retry_after_still_waits_the_longer_quick_backoff(
    store: Store,
    metrics: DeliveryMetrics,
    no_sleep: NoSleep,
    zendesk: tuple[ZendeskState, ZendeskConnector],
) -> None:
    state, connector = zendesk
    state.faults.add(Fault("status", method="POST", path_regex=CREATE, status=503))
    store.add_handoff(make_handoff("h-503"), "zendesk")
    make_worker(store, {"zendesk": connector}, metrics, policy=DEFAULT, sleep=no_sleep).run_once()

    assert len(no_sleep.waits) == 1
    assert DEFAULT.quick_initial <= no_sleep.waits[0] <= 2 * DEFAULT.quick_initial
    assert only(store).state == "delivered"
    assert len(state.list_tickets(external_id="h-503")) == 1


@pytest.mark.parametrize("status", [None, 429, 503])
def test_retry_after_is_honoured_whatever_the_failure(
    store: Store, metrics: DeliveryMetrics, no_sleep: NoSleep, status: int | None
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(status, retry_after=7)])
    make_worker(store, {"zendesk": creator}, metrics, policy=DEFAULT, sleep=no_sleep).run_once()
    assert no_sleep.waits
    assert no_sleep.waits[0] >= 7
    assert only(store).state == "delivered"


def test_unanswered_calls_keep_counting_and_stop_at_max_attempts(
    store: Store, metrics: DeliveryMetrics, no_sleep: NoSleep
) -> None:
    policy = RetryPolicy(max_attempts=2, quick_tries=3)
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(None)] * 5)
    make_worker(store, {"zendesk": creator}, metrics, policy=policy, sleep=no_sleep).run_once()
    # Two counted calls (the second a follow-up: not first_attempt), then dead: O1/O6.
    assert [first for _, first in creator.calls] == [True, False]
    view = only(store)
    assert (view.state, view.attempts) == ("dead", 2)


@given(
    unanswered=st.floats(0.001, 5.0),
    initial=st.floats(0.001, 5.0),
    attempt=st.integers(1, 10),
    status=st.sampled_from([None, 429, 500, 503]),
    hint=st.none() | st.floats(0.0, 600.0),
)
def test_quick_waits_are_never_shorter_than_retry_after_and_depend_on_the_answer(
    unanswered: float, initial: float, attempt: int, status: int | None, hint: float | None
) -> None:
    policy = RetryPolicy(quick_unanswered=unanswered, quick_initial=initial, quick_max=10.0)
    retrying = policy.quick_retrying(budget=1000.0, sleep=lambda _: None)
    state: Any = type("State", (), {})()
    state.attempt_number = attempt
    state.outcome = type("Outcome", (), {"failed": True})()
    error = retryable(status, retry_after=hint)
    state.outcome.exception = lambda: error
    wait = retrying.wait(state)
    base = unanswered if status is None else initial
    backoff = min(10.0, base * 2 ** (attempt - 1))
    assert wait >= (hint or 0.0)
    assert max(hint or 0.0, backoff) <= wait <= max(hint or 0.0, backoff + base)


# --- the minimum backoff as a setting -------------------------------------------------------


def worker_app(database: Database, creator: FakeCreator) -> typer.Typer:
    app = typer.Typer()
    deps = JobsDeps(
        open_store=database.new_store,
        platforms=lambda: ["zendesk"],
        connector=lambda _platform, _mappings: creator,
        wait=lambda: None,
    )
    register(app, deps)
    return app


def run_worker(app: typer.Typer, *args: str, **env: str) -> Any:
    env = {"COLUMNS": "200", "BATON_MAPPINGS_DIR": str(MAPPINGS), **env}
    return CliRunner().invoke(app, ["worker", "--once", *args], env=env)


@pytest.mark.parametrize(
    ("args", "env", "seconds"),
    [((), {WORKER_MIN_BACKOFF: "7"}, 7), (("--min-backoff", "11"), {WORKER_MIN_BACKOFF: "7"}, 11)],
    ids=["setting", "option-over-setting"],
)
def test_the_min_backoff_reaches_the_worker(
    database: Database, store: Store, args: tuple[str, ...], env: dict[str, str], seconds: float
) -> None:
    # Three unanswered calls use up the claim's quick tries; the delivery goes back to the
    # outbox for backoff(3) = 4 × the minimum (plus up to 25 % jitter).
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[retryable(None)] * 3)
    before = datetime.now(UTC)
    result = run_worker(worker_app(database, creator), *args, **env)
    assert result.exit_code == 0, result.output
    view = only(store)
    assert (view.state, view.attempts) == ("pending", 3)
    wait = view.next_attempt_at - before
    assert timedelta(seconds=4 * seconds) <= wait
    assert wait <= timedelta(seconds=5 * seconds) + (datetime.now(UTC) - before)


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        ((), {WORKER_MIN_BACKOFF: "0"}, WORKER_MIN_BACKOFF),
        ((), {WORKER_MIN_BACKOFF: "soon"}, WORKER_MIN_BACKOFF),
        ((), {WORKER_MIN_BACKOFF: "-3"}, WORKER_MIN_BACKOFF),
        ((), {WORKER_MIN_BACKOFF: "inf"}, WORKER_MIN_BACKOFF),
        (("--min-backoff", "0"), {}, "--min-backoff"),
    ],
)
def test_a_bad_min_backoff_exits_2_naming_it_before_any_call(
    database: Database, store: Store, args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator()
    result = run_worker(worker_app(database, creator), *args, **env)
    assert result.exit_code == 2
    assert named in result.stderr
    assert "Traceback" not in result.output
    assert creator.calls == []


def test_worker_policy_reads_the_setting_and_defaults_to_30_s() -> None:
    assert worker_policy({}).backoff_initial == 30
    assert worker_policy({WORKER_MIN_BACKOFF: " 2.5 "}).backoff_initial == 2.5
    with pytest.raises(ConfigError, match=WORKER_MIN_BACKOFF):
        worker_policy({WORKER_MIN_BACKOFF: "nan"})
