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
a separate process, so the sender does not compete with the server for this process's GIL.
Each server gets two runs:

* **max throughput** (closed loop): ``--clients`` threads with keep-alive httpx clients send
  ``--warmup`` webhooks, then the timed ones, each thread as fast as answers come back;
  ``--rounds`` times, Baton and bare in turns (both servers up at once), the median round
  of each reported;
* **fixed offered load** (open loop): ``--paced`` webhooks sent on a schedule of ``--rate``
  per second (request *i* is due at start + *i* / rate) from a pool of ``PACED_THREADS``
  keep-alive clients; each latency is measured from the request's *scheduled* time, so a
  stall that delays later sends shows up in their latencies instead of being hidden.

Only the acknowledgement path is measured: the inbox processor is not running (the app's
lifespan, which starts it, is off in ``serve_in_thread``), and the service logs at WARNING.

How to read the output: per database, ``webhooks/s`` is timed webhooks ÷ wall time, and
p50/p99 are per-request latencies seen by the sender; ``ratio`` is Baton ÷ bare (rate: the
share of a bare endpoint's throughput Baton keeps, goal ≥ 0.7; p99: how many times slower its
tail is). The fixed-load table gives the achieved send rate and p50/p99/max from the scheduled
time (goal for Baton's p99 at 100/s: < 20 ms). ``inbox`` must equal the number sent (every
timed and paced webhook verified and stored once). The machine is shared and has few cores:
compare Baton with bare within one run rather than across runs.

    .venv/bin/python benchmarks/webhook_ingest.py [--database sqlite|postgres] [--webhooks N]
        [--rounds 3] [--rate 100] [--paced N]
"""

from __future__ import annotations

import argparse
import json
import os
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
PACED_THREADS = 16  # enough that sends at 100/s never wait for a free client


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


def _post(client: httpx.Client, url: str, body: bytes) -> int:
    """POST one freshly signed Zendesk webhook; its status."""
    timestamp = zendesk_timestamp(datetime.now(UTC))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE: zendesk_signature(SECRET, timestamp, body),
        TIMESTAMP: timestamp,
    }
    return client.post(url, content=body, headers=headers).status_code


def send_all(
    url: str, bodies: list[bytes], clients: int, warmup: int
) -> tuple[float, list[float], dict[int, int]]:
    """POST ``bodies`` to ``url`` from ``clients`` threads, the first ``warmup`` untimed:
    (wall seconds, latencies in seconds, count per status) of the timed ones."""

    def post(client: httpx.Client, body: bytes) -> int:
        return _post(client, url, body)

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


def send_paced(
    url: str, bodies: list[bytes], rate: float
) -> tuple[float, list[float], dict[int, int]]:
    """POST ``bodies`` to ``url`` on a fixed schedule of ``rate`` per second (open loop):
    (wall seconds, latencies in seconds from each request's scheduled time, count per status).
    The first ``PACED_THREADS`` bodies are untimed: each client connects with one of them
    before the schedule starts, so no connection or thread start-up is measured."""
    warmup, timed = bodies[:PACED_THREADS], bodies[PACED_THREADS:]
    lock = threading.Lock()
    position = iter(range(len(timed)))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    clients = [httpx.Client(timeout=30) for _ in range(PACED_THREADS)]
    for client, body in zip(clients, warmup, strict=True):
        _post(client, url, body)
    ready = threading.Barrier(PACED_THREADS + 1)
    start = 0.0

    def worker(client: httpx.Client) -> None:
        ready.wait()
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = _post(client, url, timed[index])
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1

    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.05
    ready.wait()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return time.perf_counter() - start, latencies, dict(statuses)


# ----------------------------------------------------------------- the servers


def bare_app() -> FastAPI:
    """The floor: a FastAPI endpoint that reads the body and says it received one event."""
    app = FastAPI()

    @app.post(PATH)
    async def receive(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"received": 1})

    return app


@dataclass
class Measured:
    """One database's runs: full-speed rounds (Baton's and bare's, taken in turns) and the
    fixed-load run of each; ``stored`` is Baton's new inbox rows beyond the untimed ones."""

    baton: list[Result]
    bare: list[Result]
    baton_paced: Result
    bare_paced: Result
    stored: int


def measure(
    database: str,
    rounds: list[list[bytes]],
    paced: list[bytes],
    args: argparse.Namespace,
    sender: ProcessPoolExecutor,
) -> Measured:
    """Baton's receiver on a fresh ``database`` and the bare endpoint, both serving at once:
    one full-speed run of each per round, in turns (so a burst of load from elsewhere on the
    machine hits both alike), then each at the fixed load (``paced`` bodies, the first
    ``PACED_THREADS`` untimed). Each round's bodies are new events for Baton."""
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
        with serve_in_thread(service.app) as baton, serve_in_thread(bare_app()) as bare:
            before = store.table_counts()["inbound_events"]
            baton_runs, bare_runs = [], []
            for bodies in rounds:
                baton_runs.append(load(baton.base_url, bodies, args, sender))
                bare_runs.append(load(bare.base_url, bodies, args, sender))
            baton_paced = load_paced(baton.base_url, paced, args, sender)
            bare_paced = load_paced(bare.base_url, paced, args, sender)
            untimed = args.warmup * len(rounds) + PACED_THREADS
            stored = store.table_counts()["inbound_events"] - before - untimed
        connector.close()
    return Measured(baton_runs, bare_runs, baton_paced, bare_paced, stored)


def load(
    base_url: str, bodies: list[bytes], args: argparse.Namespace, sender: ProcessPoolExecutor
) -> Result:
    """Run :func:`send_all` in the sender process against ``base_url``."""
    future = sender.submit(send_all, base_url + PATH, bodies, args.clients, args.warmup)
    wall, latencies, statuses = future.result()
    return Result(wall, latencies, Counter(statuses))


def load_paced(
    base_url: str, bodies: list[bytes], args: argparse.Namespace, sender: ProcessPoolExecutor
) -> Result:
    """Run :func:`send_paced` against ``base_url``."""
    future = sender.submit(send_paced, base_url + PATH, bodies, args.rate)
    wall, latencies, statuses = future.result()
    return Result(wall, latencies, Counter(statuses))


def _median(runs: list[Result]) -> Result:
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


def report(database: str, m: Measured, sent: int, rate: float) -> bool:
    """Print one database's figures (full speed: the median round of each, then fixed load);
    True when every timed and paced webhook got 200 and was stored once."""
    baton, bare = _median(m.baton), _median(m.bare)
    baton_paced, bare_paced, stored = m.baton_paced, m.bare_paced, m.stored
    print(f"\n== {database}: {database_facts(database)}")
    print(f"{'':8}{'webhooks/s':>12}{'p50 ms':>10}{'p99 ms':>10}  statuses")
    for name, r in (("baton", baton), ("bare", bare)):
        print(f"{name:8}{r.rate:12.0f}{r.p(0.50):10.2f}{r.p(0.99):10.2f}  {dict(r.statuses)}")
    for name, runs in (("baton", m.baton), ("bare", m.bare)):
        print(f"{name:8}rounds: {' '.join(f'{r.rate:.0f}/s' for r in runs)} (median shown)")
    print(
        f"ratio   rate {baton.rate / bare.rate:.2f} of bare, "
        f"p50 {baton.p(0.50) / bare.p(0.50):.1f}x, p99 {baton.p(0.99) / bare.p(0.99):.1f}x bare"
    )
    print(
        f"at a fixed offered load of {rate:g} webhooks/s "
        "(open loop, latency from the scheduled send time):"
    )
    print(f"{'':8}{'sent/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}  statuses")
    for name, r in (("baton", baton_paced), ("bare", bare_paced)):
        print(
            f"{name:8}{r.rate:12.0f}{r.p(0.50):10.2f}{r.p(0.99):10.2f}{r.p(1.0):10.2f}"
            f"  {dict(r.statuses)}"
        )
    paced = len(baton_paced.latencies)
    total = sent * len(m.baton) + paced
    ok = (
        stored == total
        and all(r.statuses == Counter({200: sent}) for r in m.baton)
        and baton_paced.statuses == Counter({200: paced})
    )
    verdict = "ok" if ok else "MISMATCH"
    print(f"inbox   {stored} new rows for {total} webhooks sent: {verdict}")
    return ok


def load_options(
    description: str,
    argv: list[str] | None,
    *,
    webhooks: int,
    warmup: int,
    paced: int | None = None,
) -> argparse.Namespace:
    """The command line of a webhook load benchmark: sizes, sender threads, database; with
    ``paced``, the fixed-load run's size and ``--rate`` too."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--webhooks", type=int, default=webhooks, help="timed webhooks per run")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed webhooks first")
    parser.add_argument("--clients", type=int, default=8, help="sender threads (keep-alive)")
    parser.add_argument("--database", choices=DATABASES, help="only this database")
    if paced is not None:
        parser.add_argument("--paced", type=int, default=paced, help="webhooks at fixed load")
        parser.add_argument("--rate", type=float, default=100.0, help="fixed load, per second")
        parser.add_argument("--rounds", type=int, default=3, help="full-speed runs of each")
    args = parser.parse_args(argv)
    for name in ("webhooks", "paced", "rate", "rounds"):
        if getattr(args, name, 1) <= 0:
            parser.error(f"--{name} must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = load_options(__doc__.split("\n\n")[0], argv, webhooks=2000, warmup=200, paced=1000)

    print(machine_facts())
    print(
        f"{args.rounds} rounds of {args.webhooks} timed webhooks after {args.warmup} warm-up "
        f"ones, {args.clients} sender threads, Baton and bare in turns; then {args.paced} at "
        f"{args.rate:g}/s on a schedule; the sender in a separate process; uvicorn (h11) in a "
        "thread of this process"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    size = args.warmup + args.webhooks
    everything = event_bodies(size * args.rounds + PACED_THREADS + args.paced)
    rounds = [everything[i * size : (i + 1) * size] for i in range(args.rounds)]
    paced = everything[size * args.rounds :]
    print(f"bodies: {min(map(len, everything))}-{max(map(len, everything))} bytes")
    ok = True
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as sender:
        for database in usable_databases(args.database):
            measured = measure(database, rounds, paced, args, sender)
            ok &= report(database, measured, args.webhooks, args.rate)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
