"""Delivery of a handoff backlog against the Zendesk sandbox's rate limit.

What it measures: a backlog of ``--handoffs`` handoffs (copies of examples/handoffs/*.json,
each with its own id) is stored with ``Store.add_handoff`` (outbox rows), then the real
delivery workers (``core.delivery``, ``--concurrency`` threads) create the tickets through
the real ``ZendeskConnector`` in a local Zendesk sandbox that allows ``--limit`` requests per
minute. The sandbox runs ``--time-factor`` times faster than real time (its one-minute rate
window shrinks by that factor), so the connector's client-side limiter is set to
``limit × time factor × --fraction`` requests per real minute, and the workers' retry waits
are divided by the time factor too. "Sandbox-minutes" are real minutes × time factor.

The limiter's burst (a tenth of a minute's allowance) lets the first minute hold
``1.1 × fraction`` of the limit, so with the default 95 % expect a 429 or two at the start.

How to read the output: ``duplicates`` (external ids with more than one ticket) and ``lost``
(handoffs neither linked to a ticket nor dead-lettered) must be 0; ``429 share`` must stay
under 5 %; ``achieved`` is the rate of accepted (non-429) requests per sandbox-minute as a
fraction of the limit, i.e. how much of the allowance the limiter actually uses (meaningful
when the run spans several sandbox-minutes: a backlog that fits in one rate window can go
through faster than the limit). The exit
status is 1 when any of those checks fails, so the script can be used as a check by hand.

    .venv/bin/python benchmarks/delivery_ratelimit.py [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from collections import Counter

from _common import (
    ROOT,
    database_facts,
    isolated_store,
    machine_facts,
    postgres_unreachable,
)

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.delivery import BackgroundJob, delivery_workers
from baton.core.handoff import Handoff, validate_handoff
from baton.core.mapping import load_mapping
from baton.core.retry import RetryPolicy
from baton.core.store import Store
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.zendesk import ZendeskState

MAPPINGS = ROOT / "mappings"
EXAMPLES = ROOT / "examples" / "handoffs"
SETTLED = ("delivered", "dead")
COUNT_STATES = "SELECT state, count(*) FROM deliveries GROUP BY state"


def backlog(count: int) -> list[Handoff]:
    """``count`` handoffs cycling through the examples, each with a unique id."""
    templates = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    run = uuid.uuid4().hex[:8]
    return [
        validate_handoff({**templates[i % len(templates)], "id": f"bench-{run}-{i:05d}"})
        for i in range(count)
    ]


def scaled_policy(time_factor: float) -> RetryPolicy:
    """The default retry policy with every wait divided by the sandbox's time factor."""
    default = RetryPolicy()
    return RetryPolicy(
        quick_initial=default.quick_initial / time_factor,
        quick_max=default.quick_max / time_factor,
        quick_budget=default.quick_budget / time_factor,
        backoff_initial=default.backoff_initial / time_factor,
        backoff_max=default.backoff_max / time_factor,
        pause_seconds=default.pause_seconds / time_factor,
    )


def states(store: Store) -> Counter[str]:
    """Deliveries per state, read on a raw DBAPI connection (no write lock on SQLite)."""
    connection = store.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(COUNT_STATES)
        counts = Counter(dict(cursor.fetchall()))
        cursor.close()
        return counts
    finally:
        connection.close()


def run(args: argparse.Namespace) -> bool:
    """One benchmark run; True when every check passes."""
    client_limit = args.limit * args.time_factor * args.fraction
    print(machine_facts())
    print(f"database: {database_facts(args.database)}")
    print(
        f"sandbox: {args.limit} requests/min, time factor {args.time_factor:g} "
        f"(rate window {60 / args.time_factor:.1f} s real); client limiter at "
        f"{args.fraction:.0%} of it = {client_limit:.0f} requests per real minute; "
        f"{args.concurrency} worker threads"
    )
    state = ZendeskState.from_catalog(
        load_catalog(MAPPINGS / "catalogs" / "zendesk.json"),
        rate_limit=args.limit,
        time_factor=args.time_factor,
    )
    handoffs = backlog(args.handoffs)
    with (
        isolated_store(args.database) as store,
        ZendeskSandbox(state) as sandbox,
    ):
        started = time.perf_counter()
        for handoff in handoffs:
            store.add_handoff(handoff, "zendesk")
        print(f"stored {len(handoffs)} handoffs in {time.perf_counter() - started:.1f} s")

        env = {**sandbox_settings(sandbox), "BATON_ZENDESK_RATE_LIMIT": str(client_limit)}
        connector = ZendeskConnector.from_env(load_mapping(MAPPINGS, "zendesk"), env)
        workers = delivery_workers(
            store,
            {"zendesk": connector},
            concurrency=args.concurrency,
            policy=scaled_policy(args.time_factor),
        )
        job = BackgroundJob(workers, poll_interval=0.05)
        started = time.perf_counter()
        deadline = started + args.timeout
        job.start()
        try:
            while time.perf_counter() < deadline:
                counts = states(store)
                if sum(counts[s] for s in SETTLED) >= len(handoffs):
                    break
                time.sleep(0.05)
            wall = time.perf_counter() - started
        finally:
            job.stop()
            connector.close()
        counts = states(store)
        links = {h.id: store.ticket_link(h.id) for h in handoffs}
        dead = {d.handoff_id for d in store.list_deliveries("dead")}

    stats = state.stats
    per_external = Counter(t.external_id for t in state.tickets.values())
    duplicates = sum(1 for n in per_external.values() if n > 1)
    lost = sum(1 for hid, link in links.items() if link is None and hid not in dead)
    mislinked = sum(
        1
        for hid, link in links.items()
        if link is not None and state.tickets[int(link.ticket_id)].external_id != hid
    )
    rejected = stats.by_status.get(429, 0)
    share = rejected / stats.requests if stats.requests else 0.0
    sandbox_minutes = wall * args.time_factor / 60
    accepted_rate = (stats.requests - rejected) / sandbox_minutes
    settled = sum(counts[s] for s in SETTLED) == len(handoffs)

    print(f"handoffs            {len(handoffs)}")
    print(f"tickets created     {len(state.tickets)}")
    print(f"duplicates          {duplicates}")
    print(f"lost                {lost}")
    print(f"mislinked           {mislinked}")
    print(f"dead-lettered       {len(dead)}")
    print(f"unsettled           {len(handoffs) - sum(counts[s] for s in SETTLED)}")
    by_status = dict(sorted(stats.by_status.items()))
    print(f"requests sent       {stats.requests}  (by status: {by_status})")
    print(f"429 answers         {rejected}  ({share:.2%} of requests)")
    print(f"wall time           {wall:.1f} s")
    print(f"sandbox-minutes     {sandbox_minutes:.2f}")
    print(
        f"achieved            {accepted_rate:.0f} accepted requests per sandbox-minute = "
        f"{accepted_rate / args.limit:.2f} of the {args.limit}/min limit "
        f"({stats.requests / sandbox_minutes:.0f}/min including 429s)"
    )
    problems = []
    if not settled:
        problems.append(f"not every delivery settled within {args.timeout:g} s")
    if duplicates or lost or mislinked:
        problems.append("duplicates, lost or mislinked tickets")
    if share >= 0.05:
        problems.append("429 share at or above 5 %")
    print("result              " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return not problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=700, help="sandbox requests per minute")
    parser.add_argument(
        "--time-factor", type=float, default=5.0, help="how much faster the sandbox runs"
    )
    parser.add_argument(
        "--fraction", type=float, default=0.95, help="client limiter as a share of the limit"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before giving up")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.database == "postgres" and (reason := postgres_unreachable()):
        print(f"skipped: {reason}")
        return 1
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
