"""RELIABILITY R1: several processes against one rate limit, sharing one budget.

What it measures: ``--handoffs`` handoffs (copies of examples/handoffs/*.json) are stored,
then ``--workers`` worker processes (each ``--threads`` delivery threads) and one sync process
(``run_sync`` in a loop, as cron would run ``baton sync``) deliver and sync them through the
real Zendesk connector against one Zendesk sandbox limited to ``--limit`` requests per
minute (real minutes: no time factor). Every process shares its budget through the store
(``core.budget``, as every Baton command does), set at ``--fraction`` of the limit.

Counted from outside (the sandbox's request log, read as the run goes, with the helpers of
``delivery_ratelimit.py``): requests (deliveries' and the sync's), 429s and their share; the
achieved rate is accepted requests per minute, from the first request the sandbox saw to the
last delivery settled, as a share of the limit (goal ≥ 0.97; 429s < 1 %); the same counting
the processes' start-up is printed beside it. Tickets are counted through Zendesk's ticket
list afterwards.

    .venv/bin/python benchmarks/shared_budget.py [--database sqlite|postgres]
        [--handoffs 2000] [--limit 700] [--fraction 0.98]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from _common import database_facts, isolated_store, machine_facts, postgres_unreachable
from delivery_ratelimit import MAPPINGS, SETTLED, RequestTally, backlog, states, zendesk_tickets

from baton.core.budget import share_budgets
from baton.core.catalog import load_catalog
from baton.core.delivery import BackgroundJob, delivery_workers
from baton.core.mapping import load_mapping
from baton.core.plugin import registry
from baton.core.store import Store
from baton.core.sync import SyncLocked, run_sync


def child_store(url: str, search_path: str) -> Store:
    """The benchmark's store, opened the way a separate Baton process would."""
    kwargs: dict[str, Any] = {}
    if search_path:
        kwargs["connect_args"] = {"options": f"-csearch_path={search_path}"}
    store = Store(url, **kwargs)
    share_budgets(store)
    return store


def child(role: str, url: str, search_path: str, threads: int) -> None:
    """A worker or sync process, until SIGTERM; its connector from the environment."""
    logging.basicConfig(level=logging.ERROR)
    store = child_store(url, search_path)
    connector = (
        registry().get("zendesk").make_connector(load_mapping(MAPPINGS, "zendesk"), os.environ)
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if role == "worker":
        job = BackgroundJob(
            delivery_workers(store, {"zendesk": connector}, concurrency=threads), poll_interval=0.05
        )
        job.start()
        stop.wait()
        job.stop()
    else:
        since = datetime.now(UTC) - timedelta(hours=1)
        while not stop.is_set():
            try:
                run_sync(store, connector, name="zendesk", since=since)
            except SyncLocked:
                pass
            except Exception as exc:  # a sync run that fails is run again, as by cron
                logging.getLogger("sync").info("sync run: %s", type(exc).__name__)
            stop.wait(1.0)
    connector.close()
    store.close()


def run(args: argparse.Namespace) -> bool:
    """One run; True when the checks pass."""
    plugin = registry().get("zendesk")
    rate = args.limit * args.fraction
    print(machine_facts())
    print(f"database: {database_facts(args.database)}")
    print(
        f"platform: Zendesk sandbox, {args.limit} requests/min; {args.workers} worker processes "
        f"x {args.threads} threads + 1 sync process; shared budget {rate:g}/min "
        f"({args.fraction:.0%} of the limit)"
    )
    catalog = load_catalog(MAPPINGS / "catalogs" / "zendesk.json")
    handoffs = backlog(args.handoffs)
    sandbox = plugin.start_sandbox(catalog, port=0, rate_limit=args.limit, clock=None)
    children: list[subprocess.Popen[bytes]] = []
    try:
        with (
            isolated_store(args.database) as store,
            httpx.Client(base_url=sandbox.base_url, timeout=30) as http,
        ):
            for handoff in handoffs:
                store.add_handoff(handoff, "zendesk")
            url = store.engine.url.render_as_string(hide_password=False)
            search_path = ""
            if args.database == "postgres":
                with store.engine.connect() as conn:
                    search_path = str(conn.exec_driver_sql("SHOW search_path").scalar())
            env = {**os.environ, **sandbox.env, "BATON_ZENDESK_RATE_LIMIT": f"{rate:g}"}
            tally = RequestTally(http, lambda path: False)
            tally.start()
            started = time.perf_counter()
            me = [sys.executable, __file__, "--child"]
            for role in ["worker"] * args.workers + ["sync"]:
                children.append(
                    subprocess.Popen([*me, role, url, search_path, str(args.threads)], env=env)
                )
            deadline = started + args.timeout
            first: float | None = None  # when the sandbox had seen the first request
            while time.perf_counter() < deadline:
                if first is None and tally.calls:
                    first = time.perf_counter()
                counts = states(store)
                if sum(counts[s] for s in SETTLED) >= len(handoffs):
                    break
                time.sleep(0.2)
            end = time.perf_counter()
            wall = end - started
            working = end - (first if first is not None else started)
            for process in children:
                process.send_signal(signal.SIGTERM)
            for process in children:
                process.wait(timeout=60)
            tally.stop()
            counts = states(store)
            tickets = zendesk_tickets(http, sandbox.env)
    finally:
        for process in children:
            if process.poll() is None:
                process.kill()
        sandbox.stop()
    return report(args, handoffs, tally, counts, tickets, wall, working)


def report(
    args: argparse.Namespace,
    handoffs: list[Any],
    tally: RequestTally,
    counts: Counter[str],
    tickets: dict[str, str | None],
    wall: float,
    working: float,
) -> bool:
    """Print the figures; True when they pass. ``working``: the wall time from the first
    request the sandbox saw (the processes' start-up left out)."""
    ours = {h.id for h in handoffs}
    per_external = Counter(tickets.values())
    duplicates = sum(1 for ext, n in per_external.items() if ext in ours and n > 1)
    calls, rejected = tally.calls, tally.by_status.get(429, 0)
    share = rejected / calls if calls else 0.0
    achieved = (calls - rejected) / (working / 60) / args.limit
    from_start = (calls - rejected) / (wall / 60) / args.limit
    settled = sum(counts[s] for s in SETTLED)
    print(f"handoffs            {len(handoffs)} ({counts['delivered']} delivered)")
    print(f"tickets             {sum(per_external[h] for h in ours)} ({duplicates} duplicates)")
    print(f"requests            {calls} (deliveries and sync; by status: {dict(tally.by_status)})")
    print(f"429 answers         {rejected} ({share:.2%} of requests)")
    print(
        f"wall time           {wall:.1f} s ({wall - working:.1f} s of it before the first request)"
    )
    print(
        f"achieved            {achieved:.3f} of the {args.limit}/min limit, "
        "from the first request (goal >= 0.97)"
    )
    print(f"                    {from_start:.3f} counting the processes' start-up")
    problems = []
    if settled < len(handoffs):
        problems.append(f"{len(handoffs) - settled} deliveries unsettled")
    if duplicates:
        problems.append("duplicates")
    if share >= 0.01:
        problems.append("429 share at or above 1 %")
    if tally.missed:
        problems.append(f"the request log lost {tally.missed} entries")
    print("result              " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return not problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2], argv[3], int(argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=700, help="sandbox requests per minute")
    parser.add_argument("--fraction", type=float, default=0.98, help="budget / limit")
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--threads", type=int, default=2, help="delivery threads per worker")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.database == "postgres" and (reason := postgres_unreachable()):
        print(f"skipped: {reason}")
        return 1
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
