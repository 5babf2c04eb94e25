"""``baton worker``, ``deliveries``, ``sync`` and ``sandbox`` with fakes injected (JobsDeps)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
import typer
from jobs_fakes import (
    T0,
    ChangeLog,
    FakeCreator,
    NoSleep,
    ScriptedFeed,
    link_tickets,
    make_disposition,
)
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner, Result

from baton.core.delivery import DeliveryMetrics, DeliveryWorker
from baton.core.errors import AccessDenied, NotConfigured, RetryableError
from baton.core.handoff import Platform
from baton.core.ports import ChangePage
from baton.core.retry import RetryPolicy
from baton.core.store import Store
from baton.webhooks.cli_jobs import JobsDeps, register, wait_for_signal
from tests.support.builders import make_handoff
from tests.support.paths import MAPPINGS

if TYPE_CHECKING:
    from tests.conftest import Database


def make_app(
    database: Database,
    connectors: Mapping[str, Any],
    *,
    platforms: Sequence[Platform] = ("zendesk",),
    wait: Callable[[], None] = lambda: None,
) -> typer.Typer:
    """The job commands over ``database``; a platform missing from ``connectors`` is not
    configured, an exception there is what building its connector raises."""

    def connector(platform: Platform, _mappings: Any) -> Any:
        found = connectors.get(platform)
        if found is None:
            raise NotConfigured(f"BATON_{platform.upper()}_URL is not set")
        if isinstance(found, BaseException):
            raise found
        return found

    app = typer.Typer()
    register(
        app,
        JobsDeps(
            open_store=database.new_store,
            platforms=lambda: list(platforms),
            connector=connector,
            wait=wait,
        ),
    )
    return app


def invoke(app: typer.Typer, *args: str) -> Result:
    # Rich sizes tables from COLUMNS when not writing to a terminal. The mappings folder is
    # given, so commands do not announce which one they chose.
    env = {"COLUMNS": "200", "BATON_MAPPINGS_DIR": str(MAPPINGS)}
    return CliRunner().invoke(app, list(args), env=env)


def one_line_error(result: Result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- baton worker -------------------------------------------------------------------------


def test_worker_once_delivers_what_is_due_and_skips_unconfigured_platforms(
    database: Database, store: Store
) -> None:
    for i in range(3):
        store.add_handoff(make_handoff(f"h-z{i}"), "zendesk")
    store.add_handoff(make_handoff("h-hub"), "hubspot")
    zendesk, hubspot = FakeCreator("zendesk"), FakeCreator("hubspot")
    app = make_app(
        database,
        {"zendesk": zendesk, "hubspot": hubspot},
        platforms=("zendesk", "salesforce", "hubspot"),
    )
    result = invoke(app, "worker", "--once", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        "salesforce: skipped, not configured (BATON_SALESFORCE_URL is not set)"
    )
    assert "worker (zendesk, hubspot): 4 delivered, 0 retried, 0 dead" in result.stdout
    assert {d.state for d in store.list_deliveries()} == {"delivered"}
    assert len(zendesk.calls) == 3
    assert hubspot.calls == [("h-hub", True)]


def test_worker_with_no_platform_configured_exits_2(database: Database, store: Store) -> None:
    result = invoke(make_app(database, {}), "worker", "--once")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "zendesk: skipped, not configured (BATON_ZENDESK_URL is not set)",
        "error: no platform is configured: set the BATON_<PLATFORM>_* settings of at least "
        "one of zendesk",
    ]


def test_worker_runs_until_told_to_stop(database: Database, store: Store) -> None:
    store.add_handoff(make_handoff(), "zendesk")

    def until_delivered() -> None:  # stands in for waiting on SIGINT/SIGTERM
        deadline = time.monotonic() + 10
        while store.list_deliveries()[0].state != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.02)

    app = make_app(database, {"zendesk": FakeCreator()}, wait=until_delivered)
    result = invoke(app, "worker")
    assert result.exit_code == 0, result.output
    assert "worker: delivering to zendesk with 1 thread(s)" in result.stdout
    assert result.stdout.rstrip().endswith("worker: stopped")


def test_wait_for_signal_returns_on_sigterm_and_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    wait_for_signal()
    assert time.monotonic() - started < 3
    assert signal.getsignal(signal.SIGTERM) == before


# --- baton deliveries ---------------------------------------------------------------------


def test_o6_dead_letters_show_in_deliveries_failed_and_retry_brings_them_back(
    database: Database, store: Store
) -> None:
    store.add_handoff(make_handoff("h-ok"), "zendesk")
    store.add_handoff(make_handoff("h-bad"), "zendesk")
    failing = RetryableError("service unavailable", platform="zendesk", status=503)
    creator = FakeCreator(script=[None, failing, failing])
    now = [datetime.now(UTC)]
    worker = DeliveryWorker(
        store,
        {"zendesk": creator},
        owner="w",
        policy=RetryPolicy(max_attempts=2, quick_tries=1),
        clock=lambda: now[0],
        sleep=NoSleep(),
        metrics=DeliveryMetrics(CollectorRegistry()),
    )
    worker.run_once()
    now[0] += timedelta(hours=1)
    worker.run_once()
    [dead] = store.list_deliveries("dead")
    assert dead.handoff_id == "h-bad"
    app = make_app(database, {"zendesk": creator})

    failed = invoke(app, "deliveries", "--failed")
    assert failed.exit_code == 0, failed.output
    assert "1 failed deliveries" in failed.stdout
    assert "h-bad" in failed.stdout
    assert "h-ok" not in failed.stdout
    assert "gave up after 2 attempts: RetryableError http_503" in failed.stdout

    everything = invoke(app, "deliveries")
    assert everything.exit_code == 0
    assert "h-ok" in everything.stdout
    assert "delivered" in everything.stdout

    retried = invoke(app, "deliveries", "retry", str(dead.id))
    assert retried.exit_code == 0, retried.output
    assert f"delivery {dead.id} requeued" in retried.stdout
    view = store.get_delivery(dead.id)
    assert view is not None
    assert (view.state, view.attempts) == ("pending", 0)
    assert invoke(app, "deliveries", "--failed").stdout.strip() == "no failed deliveries"

    assert worker.run_once() == 1
    assert {d.state for d in store.list_deliveries()} == {"delivered"}


def test_deliveries_retry_of_a_delivery_that_is_not_dead_or_missing_exits_2(
    database: Database, store: Store
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    [pending] = store.list_deliveries()
    app = make_app(database, {})

    not_dead = invoke(app, "deliveries", "retry", str(pending.id))
    assert not_dead.exit_code == 2
    assert one_line_error(not_dead) == (
        f"error: delivery {pending.id} is pending, not dead; only dead deliveries can be retried"
    )
    missing = invoke(app, "deliveries", "retry", "999")
    assert missing.exit_code == 2
    assert one_line_error(missing) == "error: no delivery 999"


def test_deliveries_on_an_empty_outbox(database: Database, store: Store) -> None:
    result = invoke(make_app(database, {}), "deliveries")
    assert (result.exit_code, result.stdout.strip()) == (0, "no deliveries")


# --- baton sync: exit codes for cron ------------------------------------------------------


def linked_log(store: Store) -> ChangeLog:
    link_tickets(store, ["1", "2", "3"])
    return ChangeLog(
        [make_disposition(str(n), "open", T0) for n in (1, 2, 3)],
        page_size=2,
    )


def test_sync_exit_0_prints_one_summary_line_per_platform(database: Database, store: Store) -> None:
    log = linked_log(store)
    app = make_app(database, {"zendesk": log})
    result = invoke(app, "sync", "--since", "2026-02-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "zendesk: 2 pages, 3 examined, 3 applied, 0 duplicates, cursor advanced"
    )
    again = invoke(app, "sync")
    assert again.exit_code == 0
    assert again.stdout.strip() == (
        "zendesk: 1 pages, 0 examined, 0 applied, 0 duplicates, cursor unchanged"
    )


@pytest.mark.parametrize(
    ("args", "connectors", "message"),
    [
        (["--platform", "zendesk"], {}, "BATON_ZENDESK_URL is not set"),
        ([], {}, "no platform is configured"),
        (["--since", "last tuesday"], {"zendesk": ScriptedFeed([])}, "not an ISO-8601 time"),
    ],
    ids=["platform-not-configured", "nothing-configured", "bad-since"],
)
def test_sync_exit_2_on_configuration_errors(
    database: Database, store: Store, args: list[str], connectors: dict[str, Any], message: str
) -> None:
    result = invoke(make_app(database, connectors), "sync", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_sync_exit_2_when_the_platform_refuses_the_credentials(
    database: Database, store: Store
) -> None:
    denied = AccessDenied("invalid token", platform="zendesk", status=401)
    result = invoke(make_app(database, {"zendesk": ScriptedFeed([denied])}), "sync")
    assert result.exit_code == 2
    assert one_line_error(result) == "zendesk: configuration error: zendesk: invalid token"


def test_sync_exit_3_when_another_run_holds_the_lock(database: Database, store: Store) -> None:
    store.acquire_sync_lock("zendesk", "cron@other-host:42", seconds=900)
    feed = ScriptedFeed([ChangePage([], "c1", done=True)])
    result = invoke(make_app(database, {"zendesk": feed}), "sync")
    assert result.exit_code == 3
    line = one_line_error(result)
    assert line.startswith("sync zendesk: another run (cron@other-host:42) holds the lock until")
    assert line.endswith("; nothing done")
    assert feed.served == 0


def test_sync_exit_75_on_a_retryable_platform_failure(database: Database, store: Store) -> None:
    link_tickets(store, ["1"])
    feed = ScriptedFeed(
        [
            ChangePage([make_disposition("1", "open", T0)], "c1", done=False),
            RetryableError("rate limited", platform="zendesk", status=429, retry_after=60),
        ]
    )
    result = invoke(make_app(database, {"zendesk": feed}), "sync")
    assert result.exit_code == 75
    assert one_line_error(result) == (
        "zendesk: zendesk: rate limited; run again later (1 pages committed)"
    )
    assert len(store.dispositions("h-1")) == 1  # the committed page is kept


def test_sync_exit_1_on_anything_else_without_traceback_or_message_text(
    database: Database, store: Store
) -> None:
    feed = ScriptedFeed([RuntimeError("token=s3cr3t in a stack")])
    result = invoke(make_app(database, {"zendesk": feed}), "sync")
    assert result.exit_code == 1
    assert one_line_error(result) == "zendesk: failed: unexpected RuntimeError"
    assert "s3cr3t" not in result.output


def test_sync_of_several_platforms_runs_each_and_exits_with_the_most_serious_code(
    database: Database, store: Store
) -> None:
    store.acquire_sync_lock("zendesk", "other", seconds=900)
    hubspot = ScriptedFeed([RetryableError("503", platform="hubspot", status=503)], "hubspot")
    salesforce = ScriptedFeed([ChangePage([], "s1", done=True)], "salesforce")
    app = make_app(
        database,
        {"zendesk": ScriptedFeed([]), "hubspot": hubspot, "salesforce": salesforce},
        platforms=("zendesk", "salesforce", "hubspot"),
    )
    result = invoke(app, "sync")
    assert result.exit_code == 75  # 75 (hubspot) outranks 3 (zendesk locked)
    assert "salesforce: 1 pages" in result.stdout
    assert hubspot.cursors == [None]


def test_sync_since_defaults_to_the_oldest_handoff_or_7_days(
    database: Database, store: Store
) -> None:
    feed = ScriptedFeed([])
    app = make_app(database, {"zendesk": feed})
    assert invoke(app, "sync").exit_code == 0
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert abs(feed.sinces[-1] - week_ago) < timedelta(minutes=1)

    store.add_handoff(make_handoff(), "zendesk")
    received = store.oldest_handoff_at("zendesk")
    assert invoke(app, "sync").exit_code == 0
    assert feed.sinces[-1] == received

    assert invoke(app, "sync", "--since", "2026-03-01").exit_code == 0
    assert feed.sinces[-1] == datetime(2026, 3, 1, tzinfo=UTC)


# --- baton sandbox ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_sandbox_serves_zendesk_and_prints_how_to_point_baton_at_it(database: Database) -> None:
    port = free_port()
    answers: list[requests.Response] = []

    def call_it_then_stop() -> None:
        answers.append(
            requests.get(
                f"http://127.0.0.1:{port}/api/v2/groups.json",
                auth=("baton@example.com/token", "sandbox-token"),
                timeout=5,
            )
        )

    app = make_app(database, {}, wait=call_it_then_stop)
    result = invoke(app, "sandbox", "--sandbox-ports", f"zendesk={port}", "--rate-limit", "50")
    assert result.exit_code == 0, result.output
    [answer] = answers
    assert answer.status_code == 200
    assert answer.headers["X-Rate-Limit"] == "50"
    assert answer.json()["groups"]  # seeded from mappings/catalogs/zendesk.json
    for line in (
        f"zendesk sandbox at http://127.0.0.1:{port}",
        f"export BATON_ZENDESK_URL=http://127.0.0.1:{port}",
        "export BATON_ZENDESK_SUBDOMAIN=baton-sandbox",
        "export BATON_ZENDESK_EMAIL=baton@example.com",
        "export BATON_ZENDESK_TOKEN=sandbox-token",
    ):
        assert line in result.stdout
    with pytest.raises(requests.ConnectionError):  # stopped on the way out
        requests.get(f"http://127.0.0.1:{port}/api/v2/groups.json", timeout=2)


def test_sandbox_on_a_busy_port_exits_2(database: Database) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke(make_app(database, {}), "sandbox", "--sandbox-ports", str(port))
    assert result.exit_code == 2
    assert "cannot listen on 127.0.0.1:" in one_line_error(result)
