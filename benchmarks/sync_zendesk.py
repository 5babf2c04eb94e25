"""Zendesk API requests a ``baton sync`` run costs, per 1,000 synced tickets.

What it measures: ``--tickets`` Baton tickets (external_id = a handoff id) are seeded straight
into a Zendesk sandbox's state — every ``--solved-every``-th one replied to, solved and rated
good — and the sandbox's clock is moved past the export's one-minute horizon. Then the real
sync runner (``core.sync.run_sync``) drives the real ``ZendeskConnector`` over HTTP against the
sandbox, into a fresh SQLite store. The requests are counted by the sandbox itself (its request
log, ``GET /_sandbox/requests``: ``received`` counts every Zendesk API request it got).

How to read the output: ``requests per 1,000 synced tickets`` is the figure that matters. The
incremental export allows 10 requests a minute, so a sync that read each ticket's metrics on
its own (one ``/tickets/{id}/metrics.json`` per ticket: about 1,000 per 1,000) would take
hours for a busy day; with the ``metric_sets`` sideload it is one request per export page of
up to 1,000 tickets. The exit status is 1 when the figure is above ``--goal`` (default 5) or
when a ticket was not synced, so the script can be used as a check by hand. Wall time is
printed for information only.

    .venv/bin/python benchmarks/sync_zendesk.py [--tickets 1000] [--solved-every 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
from _common import ROOT, isolated_store, machine_facts

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.http import ZendeskSettings
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.mapping import load_mapping
from baton.core.sync import run_sync
from baton.sandbox.clock import ManualClock
from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState

MAPPINGS = ROOT / "mappings"
TIER1, MAYA = 360002000001, 360003000001  # from mappings/catalogs/zendesk.json


def seed(state: ZendeskState, tickets: int, solved_every: int) -> int:
    """``tickets`` Baton tickets; every ``solved_every``-th replied to, solved and rated."""
    solved = 0
    for n in range(tickets):
        created = state.create_ticket(
            {
                "subject": f"Handoff {n}",
                "comment": {"body": "The customer asked for a person.", "public": False},
                "external_id": f"bench-sync-{n}",
                "group_id": TIER1,
                "assignee_id": MAYA,
            },
            "https://bench.invalid",
        )
        if n % solved_every == 0:
            ticket_id = created["ticket"]["id"]
            state.agent_reply(ticket_id, "Your refund is on its way.")
            state.solve(ticket_id)
            state.rate(ticket_id, "good")
            solved += 1
    return solved


def main() -> int:
    """Seed, sync, count; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--solved-every", type=int, default=3)
    parser.add_argument("--goal", type=float, default=5.0, help="requests per 1,000 tickets")
    args = parser.parse_args()

    print(machine_facts())
    clock = ManualClock(datetime.now(UTC) - timedelta(hours=1))
    state = ZendeskState.from_catalog(
        load_catalog(MAPPINGS / "catalogs" / "zendesk.json"), clock=clock, rate_limit=100_000
    )
    solved = seed(state, args.tickets, args.solved_every)
    clock.advance(120)  # past the export's one-minute horizon
    print(f"seeded {args.tickets} tickets ({solved} replied to, solved and rated)")

    saved = {k: os.environ.get(k) for k in ("ZENPY_FORCE_NETLOC", "ZENPY_FORCE_SCHEME")}
    with ZendeskSandbox(state) as sandbox, isolated_store("sqlite") as store:
        connector = ZendeskConnector(
            ZendeskSettings.from_env(
                {**sandbox_settings(sandbox), "BATON_ZENDESK_RATE_LIMIT": "100000"}
            ),
            load_mapping(MAPPINGS, "zendesk"),
            clock=state.clock,
        )
        control = f"{sandbox.base_url}/_sandbox/requests"
        requests.delete(control, timeout=10)
        started = time.perf_counter()
        try:
            summary = run_sync(
                store, connector, name="bench", since=clock() - timedelta(hours=2), clock=clock
            )
        finally:
            connector.close()
        elapsed = time.perf_counter() - started
        log = requests.get(control, params={"limit": 1000}, timeout=10).json()
    state.webhooks.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

    received = int(log["received"])
    by_path = Counter(entry["path"] for entry in log["requests"])
    per_thousand = received * 1000 / max(summary.examined, 1)
    print(
        f"synced: {summary.examined} tickets examined, {summary.applied} observations applied, "
        f"{summary.pages} export page(s), {connector.metrics_fallbacks} metric fallback(s)"
    )
    print(f"sandbox received {received} Zendesk API request(s):")
    for path, count in by_path.most_common():
        print(f"  {count:6d}  {path}")
    print(f"requests per 1,000 synced tickets: {per_thousand:.1f} (goal <= {args.goal:g})")
    print(f"wall time: {elapsed:.2f} s (information only)")
    ok = per_thousand <= args.goal and summary.examined == args.tickets
    ok = ok and summary.applied == args.tickets
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
