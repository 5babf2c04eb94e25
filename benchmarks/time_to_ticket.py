"""Time to ticket under faults: Baton against a plain zenpy integration with tenacity retries.

What it measures: ``--handoffs`` handoffs (copies of examples/handoffs/*.json, each with its own
id) arrive at ``--rate`` a second, on a sandbox with Zendesk's default limit of 700 requests a
minute (Baton's client-side limiter at its default 600; keep the offered calls, retries and
look-ups included, under that or the limiter's queue is what gets measured). Baton gets each as
``POST /v1/handoffs`` on its real service (``build_service`` on a fresh SQLite store,
``ZendeskConnector.from_env`` pointed at a local Zendesk sandbox, ``--concurrency`` delivery
worker threads with the default retry policy, woken by the intake); with ``--baseline`` a second
Baton row waits as long after a lost response as after a 503 (``quick_unanswered =
quick_initial``, the behaviour before the tuning), for a comparison within one run. The plain
integration gets each as a call to a thread pool of the same size that creates the ticket with
zenpy (``tickets.create``, the handoff id as ``external_id``) wrapped in tenacity
(``--plain-tries`` tries, exponential wait from 1 s, retrying any error) — what an integration
written in an afternoon does.

Each system runs twice on a fresh sandbox: idle (no faults) and faulted, where the sandbox's
seeded random rules on ``POST /api/v2/tickets.json`` drop 1 in 7 responses after the ticket
was committed (``drop_after_commit``: the client sees a broken connection) and answer 1 in 11
of the rest 503 (without ``Retry-After`` unless ``--retry-after`` says so). Both systems see
the same fault draws in the same order (same seeds).

Times, from the arrival (just before the POST, or the submission to the pool):

``in sandbox``  when the handoff's first ticket exists in the sandbox (its ``created_at`` on
                the sandbox's real-time clock): what the agent sees
``confirmed``   when the system knows the ticket: Baton's ticket link (``GET /v1/handoffs``
                would show it), the plain integration's ``create`` returning

It prints handoffs, tickets, duplicates (handoff ids with more than one ticket: Baton must
make none), lost (no ticket), and p50/p99 of both times, idle and faulted, side by side. The
goal under faults with no ``Retry-After``: Baton's p99 below 3 s. The machine may be shared,
so compare figures within one run. Exit status 1 when Baton made a duplicate or lost one.

    .venv/bin/python benchmarks/time_to_ticket.py [--handoffs 140] [--rate 10]
        [--concurrency 4] [--retry-after SECONDS] [--only baton|plain]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from _common import ROOT, isolated_store, machine_facts, percentile
from delivery_ratelimit import backlog
from tenacity import retry, stop_after_attempt, wait_exponential
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket, User

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.delivery import BackgroundJob, delivery_workers
from baton.core.handoff import Handoff
from baton.core.mapping import load_mapping
from baton.core.retry import RetryPolicy
from baton.sandbox.faults import Fault, RandomFault
from baton.sandbox.server import serve_in_thread
from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState
from baton.webhooks.service import build_service
from baton.webhooks.settings import ServiceSettings

CREATE_PATH = r"^/api/v2/tickets\.json$"
DROP_ONE_IN = 7
ERROR_ONE_IN = 11
DROP_SEED, ERROR_SEED = 7, 11
API_KEY = "benchmark-api-key-0123456789"


@dataclass
class Outcome:
    """One run: arrival times and, per handoff, when its ticket was seen and confirmed."""

    system: str
    phase: str
    arrived: dict[str, datetime] = field(default_factory=dict)
    confirmed: dict[str, datetime] = field(default_factory=dict)
    in_sandbox: dict[str, datetime] = field(default_factory=dict)
    tickets: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0

    @property
    def duplicates(self) -> int:
        """Extra tickets beyond one per handoff."""
        return sum(n - 1 for hid, n in self.tickets.items() if hid in self.arrived and n > 1)

    @property
    def lost(self) -> int:
        """Handoffs without any ticket."""
        return sum(1 for hid in self.arrived if not self.tickets.get(hid))

    def seconds(self, times: dict[str, datetime]) -> list[float]:
        """Seconds from arrival to ``times`` for every handoff that has one."""
        return [(times[h] - t).total_seconds() for h, t in self.arrived.items() if h in times]


@contextmanager
def sandbox(faulted: bool, retry_after: int | None) -> Iterator[ZendeskSandbox]:
    """A fresh Zendesk sandbox (the mapping's catalog), with the fault mix when ``faulted``."""
    catalog = load_catalog(ROOT / "mappings" / "catalogs" / "zendesk.json")
    box = ZendeskSandbox(ZendeskState.from_catalog(catalog))
    if faulted:
        drop = Fault("drop_after_commit", method="POST", path_regex=CREATE_PATH)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = Fault("status", method="POST", path_regex=CREATE_PATH, status=503, headers=headers)
        box.state.faults.add_random(RandomFault(drop, 1 / DROP_ONE_IN, seed=DROP_SEED))
        box.state.faults.add_random(RandomFault(error, 1 / ERROR_ONE_IN, seed=ERROR_SEED))
    with box:
        yield box


def settle(box: ZendeskSandbox, outcome: Outcome) -> None:
    """Read the tickets and applied faults off the sandbox into ``outcome``."""
    for ticket in box.state.list_tickets():
        hid = ticket.external_id
        if hid is None:
            continue
        outcome.tickets[hid] += 1
        first = outcome.in_sandbox.get(hid)
        if first is None or ticket.created_at < first:
            outcome.in_sandbox[hid] = ticket.created_at
    outcome.faults.update(kind for kind, _, _ in box.state.faults.applied)


def arrive(handoffs: list[Handoff], rate: float, submit: Callable[[Handoff], object]) -> None:
    """Call ``submit`` for each handoff at its arrival time (``rate`` a second)."""
    start = time.perf_counter()
    for i, handoff in enumerate(handoffs):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        submit(handoff)


def wait_until(done: Callable[[], bool], timeout: float) -> None:
    """Poll ``done`` until it holds or ``timeout`` seconds pass."""
    deadline = time.perf_counter() + timeout
    while not done() and time.perf_counter() < deadline:
        time.sleep(0.05)


def run_baton(
    handoffs: list[Handoff],
    faulted: bool,
    args: argparse.Namespace,
    policy: RetryPolicy | None = None,
    name: str = "baton",
) -> Outcome:
    """Baton's service and worker (retrying by ``policy``) against a fresh sandbox."""
    outcome = Outcome(name, "faulted" if faulted else "idle")
    settings = ServiceSettings.from_env(
        {
            "BATON_API_KEYS": API_KEY,
            "BATON_PUBLIC_URL": "http://127.0.0.1:8600",
            "BATON_MAPPINGS_DIR": str(ROOT / "mappings"),
        }
    )
    with sandbox(faulted, args.retry_after) as box, isolated_store("sqlite") as store:
        env = sandbox_settings(box)
        connector = ZendeskConnector.from_env(load_mapping(ROOT / "mappings", "zendesk"), env)
        workers = delivery_workers(
            store, {"zendesk": connector}, concurrency=args.concurrency, policy=policy
        )
        job = BackgroundJob(workers)
        service = build_service(settings, store, connectors={"zendesk": connector}, jobs=[job])
        headers = {"Authorization": f"Bearer {API_KEY}"}
        local = threading.local()
        try:
            with serve_in_thread(service.app) as server, ThreadPoolExecutor(8) as senders:

                def post(handoff: Handoff) -> None:
                    if not hasattr(local, "http"):
                        local.http = httpx.Client(base_url=server.base_url, timeout=30)
                    outcome.arrived[handoff.id] = datetime.now(UTC)
                    body = handoff.model_dump(mode="json", exclude_none=True)
                    local.http.post("/v1/handoffs", json=body, headers=headers).raise_for_status()

                job.start()
                started = time.perf_counter()
                arrive(handoffs, args.rate, lambda h: senders.submit(post, h))
                senders.shutdown(wait=True)

                def linked() -> bool:
                    for handoff in handoffs:
                        if handoff.id not in outcome.confirmed:
                            link = store.ticket_link(handoff.id)
                            if link is None:
                                return False
                            outcome.confirmed[handoff.id] = link.created_at
                    return True

                wait_until(linked, args.timeout)
                outcome.wall = time.perf_counter() - started
        finally:
            job.stop()
            connector.close()
        settle(box, outcome)
    return outcome


def run_plain(handoffs: list[Handoff], faulted: bool, args: argparse.Namespace) -> Outcome:
    """zenpy + tenacity against a fresh sandbox, ``--concurrency`` threads."""
    outcome = Outcome("plain", "faulted" if faulted else "idle")
    with sandbox(faulted, args.retry_after) as box:
        os.environ[facts.ZENPY_FORCE_SCHEME] = "http"
        os.environ[facts.ZENPY_FORCE_NETLOC] = box.base_url.split("://", 1)[1]
        zenpy = Zenpy(**box.credentials, timeout=30, disable_cache=True)

        @retry(stop=stop_after_attempt(args.plain_tries), wait=wait_exponential(1, max=10))
        def create(handoff: Handoff) -> None:
            zenpy.tickets.create(
                Ticket(
                    subject=f"Handoff {handoff.id}",
                    comment=Comment(body=handoff.summary, public=False),
                    requester=User(name=handoff.customer.name, email=handoff.customer.email),
                    external_id=handoff.id,
                )
            )

        def handle(handoff: Handoff) -> None:
            try:
                create(handoff)
            except Exception as exc:  # a real integration would log and give up too
                logging.warning("plain: gave up on %s: %s", handoff.id, type(exc).__name__)
                return
            outcome.confirmed[handoff.id] = datetime.now(UTC)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:

            def submit(handoff: Handoff) -> None:
                outcome.arrived[handoff.id] = datetime.now(UTC)
                pool.submit(handle, handoff)

            arrive(handoffs, args.rate, submit)
        outcome.wall = time.perf_counter() - started
        settle(box, outcome)
    return outcome


def run_baseline(handoffs: list[Handoff], faulted: bool, args: argparse.Namespace) -> Outcome:
    """Baton waiting as long after a lost response as after a 503 (before the tuning)."""
    default = RetryPolicy()
    policy = RetryPolicy(quick_unanswered=default.quick_initial)
    return run_baton(handoffs, faulted, args, policy, name="baton-1s")


def _p(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction):6.2f}" if values else "     -"


def report(outcomes: list[Outcome]) -> None:
    """The side-by-side table."""
    print(
        f"{'system':8} {'phase':7} {'handoffs':>8} {'tickets':>7} {'dupl.':>5} {'lost':>4} "
        f"{'sandbox p50':>11} {'p99':>6} {'confirmed p50':>13} {'p99':>6} {'wall':>6}  faults"
    )
    for o in outcomes:
        made = sum(o.tickets[h] for h in o.arrived)
        sandbox_s, confirmed_s = o.seconds(o.in_sandbox), o.seconds(o.confirmed)
        faults = ", ".join(f"{k} {n}" for k, n in sorted(o.faults.items())) or "none"
        print(
            f"{o.system:8} {o.phase:7} {len(o.arrived):8} {made:7} {o.duplicates:5} {o.lost:4} "
            f"{_p(sandbox_s, 0.5):>11} {_p(sandbox_s, 0.99)} "
            f"{_p(confirmed_s, 0.5):>13} {_p(confirmed_s, 0.99)} {o.wall:6.1f}  {faults}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run each system idle then faulted; 0 unless Baton duplicated or lost a ticket."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=140)
    parser.add_argument("--rate", type=float, default=4.0, help="arrivals per second")
    parser.add_argument("--concurrency", type=int, default=4, help="threads on each side")
    parser.add_argument("--retry-after", type=int, help="Retry-After on the injected 503s")
    parser.add_argument("--plain-tries", type=int, default=5, help="tenacity tries (plain)")
    parser.add_argument("--only", choices=("baton", "plain"), help="run one system")
    parser.add_argument(
        "--baseline", action="store_true", help="also Baton with the untuned wait (1 s)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for links")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(machine_facts())
    hint = f"Retry-After {args.retry_after}" if args.retry_after is not None else "no Retry-After"
    print(
        f"{args.handoffs} handoffs at {args.rate:g}/s, {args.concurrency} threads each side; "
        f"faulted: 1 in {DROP_ONE_IN} creates dropped after commit, 1 in {ERROR_ONE_IN} of the "
        f"rest answered 503 ({hint}); times in seconds from arrival"
    )
    handoffs = backlog(args.handoffs)
    runners: dict[str, Callable[[list[Handoff], bool, argparse.Namespace], Outcome]] = {
        "baton": run_baton,
        "plain": run_plain,
    }
    if args.baseline:
        runners["baton-1s"] = run_baseline
    outcomes = [
        runner(handoffs, faulted, args)
        for name, runner in runners.items()
        if args.only in (None, name.split("-")[0])
        for faulted in (False, True)
    ]
    report(outcomes)
    bad = [o for o in outcomes if o.system.startswith("baton") and (o.duplicates or o.lost)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
