"""Zendesk webhook ingest: Baton's receiver next to a bare FastAPI endpoint.

What it measures: ``--webhooks`` distinct Zendesk event webhooks (bodies the Zendesk sandbox
emits for tickets it creates and solves, each event id unique), signed with the Zendesk
scheme and a current timestamp, are POSTed to

* **baton**: the real service (``build_service`` with the real ``ZendeskConnector`` as the
  webhook source) over a fresh store, which verifies each body, parses it and stores it in
  the inbox before answering 200; and
* **bare**: a FastAPI app whose ``POST /webhooks/zendesk`` reads the body and answers
  200 ``{"received": 1}``,

both served by uvicorn in a thread (``sandbox.server.serve_in_thread``). The load comes from
``--clients`` threads with keep-alive httpx clients in a separate process, so the sender
does not compete with the server for this process's GIL; it first sends ``--warmup``
webhooks, then the timed ones. Only the acknowledgement path is measured: the inbox
processor is not running (the app's lifespan, which starts it, is off in
``serve_in_thread``), and the service logs at WARNING.

How to read the output: per database, ``webhooks/s`` is timed webhooks ÷ wall time, and
p50/p99 are per-request latencies seen by the sender; ``ratio`` is Baton ÷ bare (rate: the
share of a bare endpoint's throughput Baton keeps; p99: how many times slower its tail is).
``inbox`` must equal the number sent (every timed webhook verified and stored once).

    .venv/bin/python benchmarks/webhook_ingest.py [--database sqlite|postgres] [--webhooks N]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context

import httpx
from _common import (
    DATABASES,
    ROOT,
    database_facts,
    isolated_store,
    machine_facts,
    percentile,
    usable_databases,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.core.mapping import load_mapping
from baton.sandbox.server import serve_in_thread
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.sandbox.zendesk import ZendeskState
from baton.webhooks.service import build_service
from baton.webhooks.settings import ServiceSettings

SECRET = "benchmark-webhook-signing-secret"  # noqa: S105 - a local benchmark's secret
PATH = "/webhooks/zendesk"
SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"


@dataclass
class Result:
    """One load run as the sender saw it."""

    wall: float
    latencies: list[float]
    statuses: Counter[int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000


def event_bodies(count: int) -> list[bytes]:
    """``count`` distinct event bodies, serialized the way the sandbox sends them."""
    state = ZendeskState()
    while len(state.webhooks.events) < count:
        n = len(state.tickets)
        created = state.create_ticket(
            {
                "subject": f"Benchmark ticket {n}",
                "comment": {"body": "context for the agent", "public": False},
                "external_id": f"bench-{n:06d}",
                "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "priority": "high",
                "tags": ["baton", "benchmark"],
            },
            "http://sandbox.invalid",
        )
        state.solve(int(created["ticket"]["id"]))
    events = list(state.webhooks.events.values())[:count]
    return [json.dumps(e, separators=(",", ":")).encode("utf-8") for e in events]


# ----------------------------------------------------------------- the sender (child process)


def send_all(
    url: str, bodies: list[bytes], clients: int, warmup: int
) -> tuple[float, list[float], dict[int, int]]:
    """POST ``bodies`` to ``url`` from ``clients`` threads, the first ``warmup`` untimed:
    (wall seconds, latencies in seconds, count per status) of the timed ones."""

    def post(client: httpx.Client, body: bytes) -> int:
        timestamp = zendesk_timestamp(datetime.now(UTC))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE: zendesk_signature(SECRET, timestamp, body),
            TIMESTAMP: timestamp,
        }
        return client.post(url, content=body, headers=headers).status_code

    def run(batch: list[bytes], latencies: list[float], statuses: Counter[int]) -> None:
        lock = threading.Lock()
        position = iter(range(len(batch)))

        def worker() -> None:
            with httpx.Client(timeout=30) as client:
                while True:
                    with lock:
                        index = next(position, None)
                    if index is None:
                        return
                    started = time.perf_counter()
                    status = post(client, batch[index])
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        statuses[status] += 1

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run(bodies[:warmup], [], Counter())
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    run(bodies[warmup:], latencies, statuses)
    return time.perf_counter() - started, latencies, dict(statuses)


# ----------------------------------------------------------------- the servers


def bare_app() -> FastAPI:
    """The floor: a FastAPI endpoint that reads the body and says it received one event."""
    app = FastAPI()

    @app.post(PATH)
    async def receive(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"received": 1})

    return app


def measure_baton(
    database: str, bodies: list[bytes], args: argparse.Namespace, sender: ProcessPoolExecutor
) -> tuple[Result, int]:
    """Baton's receiver on a fresh ``database``: the sender's result and new inbox rows."""
    env = {
        "BATON_ZENDESK_URL": "http://127.0.0.1:9",  # never called: receivers do not call out
        "BATON_ZENDESK_SUBDOMAIN": "baton-bench",
        "BATON_ZENDESK_EMAIL": "bench@example.com",
        "BATON_ZENDESK_TOKEN": "unused-token",
        "BATON_ZENDESK_WEBHOOK_SECRETS": f"previous-secret-no-longer-used,{SECRET}",
    }
    connector = ZendeskConnector.from_env(load_mapping(ROOT / "mappings", "zendesk"), env)
    settings = ServiceSettings.from_env(
        {
            "BATON_API_KEYS": "benchmark-api-key-0123456789",
            "BATON_PUBLIC_URL": "http://127.0.0.1:8600",
            "BATON_MAPPINGS_DIR": str(ROOT / "mappings"),
        }
    )
    with isolated_store(database) as store:
        service = build_service(settings, store, connectors={"zendesk": connector})
        with serve_in_thread(service.app) as server:
            before = store.table_counts()["inbound_events"]
            result = load(server.base_url, bodies, args, sender)
            stored = store.table_counts()["inbound_events"] - before - args.warmup
        connector.close()
    return result, stored


def measure_bare(
    bodies: list[bytes], args: argparse.Namespace, sender: ProcessPoolExecutor
) -> Result:
    """The bare endpoint under the same load."""
    with serve_in_thread(bare_app()) as server:
        return load(server.base_url, bodies, args, sender)


def load(
    base_url: str, bodies: list[bytes], args: argparse.Namespace, sender: ProcessPoolExecutor
) -> Result:
    """Run :func:`send_all` in the sender process against ``base_url``."""
    future = sender.submit(send_all, base_url + PATH, bodies, args.clients, args.warmup)
    wall, latencies, statuses = future.result()
    return Result(wall, latencies, Counter(statuses))


def report(database: str, baton: Result, bare: Result, stored: int, sent: int) -> bool:
    """Print one database's figures; True when every timed webhook was stored once."""
    print(f"\n== {database}: {database_facts(database)}")
    print(f"{'':8}{'webhooks/s':>12}{'p50 ms':>10}{'p99 ms':>10}  statuses")
    for name, r in (("baton", baton), ("bare", bare)):
        print(f"{name:8}{r.rate:12.0f}{r.p(0.50):10.2f}{r.p(0.99):10.2f}  {dict(r.statuses)}")
    print(
        f"ratio   rate {baton.rate / bare.rate:.2f} of bare, "
        f"p50 {baton.p(0.50) / bare.p(0.50):.1f}x, p99 {baton.p(0.99) / bare.p(0.99):.1f}x bare"
    )
    ok = stored == sent and baton.statuses == Counter({200: sent})
    print(f"inbox   {stored} new rows for {sent} webhooks sent: {'ok' if ok else 'MISMATCH'}")
    return ok


def load_options(
    description: str, argv: list[str] | None, *, webhooks: int, warmup: int
) -> argparse.Namespace:
    """The command line of a webhook load benchmark: sizes, sender threads, database."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--webhooks", type=int, default=webhooks, help="timed webhooks per run")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed webhooks first")
    parser.add_argument("--clients", type=int, default=8, help="sender threads (keep-alive)")
    parser.add_argument("--database", choices=DATABASES, help="only this database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = load_options(__doc__.split("\n\n")[0], argv, webhooks=2000, warmup=200)

    print(machine_facts())
    print(
        f"{args.webhooks} timed webhooks after {args.warmup} warm-up ones, {args.clients} "
        "sender threads in a separate process; uvicorn (h11) in a thread of this process"
    )
    bodies = event_bodies(args.warmup + args.webhooks)
    print(f"bodies: {min(map(len, bodies))}-{max(map(len, bodies))} bytes")
    ok = True
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as sender:
        for database in usable_databases(args.database):
            baton, stored = measure_baton(database, bodies, args, sender)
            bare = measure_bare(bodies, args, sender)
            ok &= report(database, baton, bare, stored, args.webhooks)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
