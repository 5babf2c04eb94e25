"""Webhook acknowledgement while the platform never answers (RELIABILITY K1).

What it measures: the Zendesk sandbox runs with a standing 60 s ``latency`` rule on every API
path, so any platform call would hang. Baton's real service (``build_service`` with
``ZendeskConnector.from_env`` pointed at that sandbox) gets ``--webhooks`` distinct, correctly
signed Zendesk event webhooks (bodies the sandbox itself emits) from ``--clients`` keep-alive
threads in a separate process, after ``--warmup`` untimed ones. It prints, per database, the
median and p99 time to the acknowledgement as the sender saw it, and how many API requests
reached the sandbox meanwhile (counted on arrival; K1 says 0). The goal for the median and
the p99 is well under 1 s; nothing is asserted on time (tests/service/
test_k1_ack_without_platform.py proves K1 structurally).

Only the acknowledgement path runs: the inbox processor is off (``serve_in_thread`` runs no
lifespan) and the service logs at WARNING. Exit status 1 when a webhook got no 2xx or an API
request reached the sandbox.

    .venv/bin/python benchmarks/webhook_ack_without_platform.py [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from _common import (
    ROOT,
    database_facts,
    isolated_store,
    machine_facts,
    percentile,
    usable_databases,
)
from webhook_ingest import PATH, SECRET, event_bodies, load_options, send_all

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.mapping import load_mapping
from baton.sandbox.faults import Fault, RandomFault
from baton.sandbox.server import serve_in_thread
from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState
from baton.webhooks.service import build_service
from baton.webhooks.settings import ServiceSettings

NEVER = 60.0  # seconds the sandbox holds every API request


def measure(
    database: str, bodies: list[bytes], args: argparse.Namespace, sender: ProcessPoolExecutor
) -> bool:
    """Acknowledge ``bodies`` on a fresh ``database`` with the platform silent; print the
    figures; True when every timed webhook got 200 and no API request reached the sandbox."""
    settings = ServiceSettings.from_env(
        {
            "BATON_API_KEYS": "benchmark-api-key-0123456789",
            "BATON_PUBLIC_URL": "http://127.0.0.1:8600",
            "BATON_MAPPINGS_DIR": str(ROOT / "mappings"),
        }
    )
    box = ZendeskSandbox(ZendeskState())
    rule = box.state.faults.add_random(
        RandomFault(Fault("latency", method="*", path_regex=".*", seconds=NEVER), 1.0)
    )
    with box, isolated_store(database) as store:
        env = {**sandbox_settings(box), facts.ENV_WEBHOOK_SECRETS: SECRET}
        connector = ZendeskConnector.from_env(load_mapping(ROOT / "mappings", "zendesk"), env)
        try:
            service = build_service(settings, store, connectors={"zendesk": connector})
            with serve_in_thread(service.app) as server:
                url = server.base_url + PATH
                future = sender.submit(send_all, url, bodies, args.clients, args.warmup)
                wall, latencies, statuses = future.result()
                api_requests = rule.matched + len(box.state.request_log.entries())
        finally:
            connector.close()
    ms = [s * 1000 for s in latencies]
    print(f"\n== {database}: {database_facts(database)}")
    print(
        f"acks    {len(ms)} timed, statuses {dict(Counter(statuses))}, "
        f"{len(ms) / wall:.0f} webhooks/s"
    )
    print(
        f"latency median {statistics.median(ms):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, "
        f"max {max(ms):.2f} ms (goal: well under 1000 ms)"
    )
    print(f"sandbox API requests during the acknowledgements: {api_requests} (K1: 0)")
    return statuses == {200: len(ms)} and api_requests == 0


def main(argv: list[str] | None = None) -> int:
    """Run the measurement on each reachable database; 0 when K1 held throughout."""
    args = load_options(__doc__.split("\n\n")[0], argv, webhooks=50, warmup=20)
    print(machine_facts())
    print(
        f"{args.webhooks} timed webhooks after {args.warmup} warm-up ones, {args.clients} "
        f"sender threads in a separate process; the Zendesk sandbox holds every API request "
        f"{NEVER:.0f} s"
    )
    bodies = event_bodies(args.warmup + args.webhooks)
    ok = True
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as sender:
        for database in usable_databases(args.database):
            ok &= measure(database, bodies, args, sender)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
