"""A multi-process soak on PostgreSQL: replicas, workers and a sync loop killed at random.

What it runs: ``--replicas`` (3) ``baton serve --no-worker`` processes on ports of their own,
``--workers`` (2) ``baton worker`` processes and a ``baton sync --platform zendesk`` run every
few seconds (a run over 2 minutes is killed), all the installed CLI as separate processes on
ONE PostgreSQL database (a private schema, selected through ``search_path`` in the URL and
dropped afterwards), against the Zendesk sandbox (in this process, limited to ``--rate-limit``
requests a minute: 2,500 is Zendesk's High Volume API add-on) with seeded random faults on its
API: 503, 429, connection resets, and creates dropped after commit. Its signed webhooks go to
the replicas through a round-robin proxy (``_soak_fleet.WebhookProxy``, as a load balancer
would).

A client posts ``--handoffs`` handoffs (copies of examples/handoffs/*.json, each its own id)
with ``baton.client.BatonClient`` from ``--threads`` threads, paced to be posted within 60 % of
the time bound, each attempt to the next replica in turn (a retry keeps the id). An agent
solves one ticket in ``--solve-one-in`` a few seconds after it appears (the sandbox's control
API), which sends status-change webhooks. Every 2–5 s a worker or a replica, drawn at random,
is killed with SIGKILL and started again at once (a replica on its port).

At the end — when everything is posted, or at 70 % of ``--minutes`` — kills and faults stop,
the workers drain, the sandbox's webhook queue empties, one last sync runs, and it prints:
handoffs posted and accepted; tickets in the sandbox; duplicates (handoff ids with more than
one ticket); lost (accepted handoffs without a ticket whose delivery is not pending: a
delivery still waiting out its backoff or a dead worker's lease at the time bound is listed
apart, with its due time); webhooks acknowledged (event ids with
a 2xx in the sandbox's delivery log) against stored (their rows in the inbox, where the unique
(platform, event_id) absorbs the duplicates) and acknowledged but not stored; dispositions
matching the sandbox (Baton's latest outcome for each solved ticket, and for every ticket);
the share of 429s in the platform requests (sandbox request log, injected and the limiter's);
p50/p99 intake latency (one ``BatonClient.handoff`` call, retries included); kills; wall time.
Exit status 1 when anything is lost, duplicated, or acknowledged but not stored. The children's
logs stay in a temporary folder, printed at the end.

    .venv/bin/python benchmarks/soak.py [--handoffs 5000] [--minutes 8]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import database_facts, isolated_store, machine_facts, percentile, postgres_unreachable
from _soak_fleet import API_KEY, Fleet, Run, WebhookProxy, post_all
from delivery_ratelimit import MAPPINGS, RequestTally, backlog, states

from baton.connectors.zendesk.facts import DEFAULT_STATUSES
from baton.connectors.zendesk.local import LocalZendesk
from baton.core.catalog import load_catalog
from baton.core.plugin import registry
from baton.core.store import Store
from baton.sandbox.faults import Fault, RandomFault
from baton.webhooks.embedded import free_port

API = "^/api/v2/"
CREATE = r"^/api/v2/tickets\.json$"
# (fault, one request in N, seed): drawn in this order, the first hit applies.
FAULTS = (
    (Fault("drop_after_commit", method="POST", path_regex=CREATE), 12, 1),
    (Fault("status", path_regex=API, status=503), 20, 2),
    (Fault("rate_limit", path_regex=API, retry_after=1), 25, 3),
    (Fault("reset", path_regex=API), 40, 4),
)
UNSETTLED = (
    "SELECT handoff_id, state, attempts, CASE WHEN state = 'leased' THEN lease_expires_at "
    "ELSE next_attempt_at END, last_error FROM deliveries "
    "WHERE state IN ('pending', 'leased') ORDER BY id LIMIT 5"
)
SYNC_LOCKS = "SELECT name, owner, expires_at FROM sync_locks ORDER BY name"
LATEST_OUTCOMES = (
    "SELECT DISTINCT ON (handoff_id) handoff_id, outcome FROM dispositions "
    "WHERE handoff_id IS NOT NULL ORDER BY handoff_id, occurred_at DESC, id DESC"
)


def agent(
    local: LocalZendesk, ours: set[str], run: Run, one_in: int, stop: threading.Event
) -> None:
    """Solve one ticket in ``one_in`` of ours once it is two seconds old, until ``stop``."""
    seen: set[int] = set()
    while not stop.wait(1.0):
        old = datetime.now(UTC) - timedelta(seconds=2)
        for ticket in local.state.list_tickets():
            if ticket.id in seen or ticket.external_id not in ours or ticket.created_at > old:
                continue
            seen.add(ticket.id)
            if ticket.id % one_in == 0:
                try:
                    local.agents.solve(str(ticket.id))
                    run.solved.add(str(ticket.external_id))
                except httpx.HTTPError:
                    run.solve_errors += 1


def wait_for(done: Callable[[], object], until: float, every: float = 1.0) -> bool:
    """Poll ``done()`` until it holds (True) or the monotonic time ``until`` passes (False)."""
    while not done():
        if time.monotonic() > until:
            return False
        time.sleep(every)
    return True


def child_env(local: LocalZendesk, store: Store, proxy: WebhookProxy) -> dict[str, str]:
    """The settings every Baton process gets: the sandbox's, the schema's URL, an API key."""
    with store.engine.connect() as conn:
        schema = str(conn.exec_driver_sql("SHOW search_path").scalar())
    url = store.engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "ZENPY_"))}
    return {
        **env,
        **local.env,
        "BATON_DATABASE_URL": url.render_as_string(hide_password=False),
        "BATON_API_KEYS": API_KEY,
        "BATON_MAPPINGS_DIR": str(MAPPINGS),
        "BATON_PUBLIC_URL": proxy.url,
    }


def run_soak(args: argparse.Namespace) -> bool:
    """One soak; True when nothing was lost, duplicated, or acknowledged but not stored."""
    print(machine_facts())
    print(f"database: {database_facts('postgres')}")
    began = time.monotonic()
    budget_end = began + args.minutes * 60
    handoffs = backlog(args.handoffs)
    ours = {h.id for h in handoffs}
    catalog = load_catalog(MAPPINGS / "catalogs" / "zendesk.json")
    local = (
        registry()
        .get("zendesk")
        .start_sandbox(catalog, port=0, rate_limit=args.rate_limit, clock=None)
    )
    assert isinstance(local, LocalZendesk)
    logs = Path(tempfile.mkdtemp(prefix="baton-soak-"))
    run, stop_agent = Run(), threading.Event()
    fleet: Fleet | None = None
    proxy: WebhookProxy | None = None
    try:
        with isolated_store("postgres") as store, httpx.Client(base_url=local.base_url) as http:
            ports = [free_port() for _ in range(args.replicas)]
            proxy = WebhookProxy(ports).start()
            fleet = Fleet(
                child_env(local, store, proxy), logs, ports, args.workers, args.concurrency
            )
            try:
                local.send_webhooks_to(f"{proxy.url}/webhooks/zendesk")
                fleet.start()
                print(
                    f"fleet: {args.replicas} replicas (ports {fleet.ports}), {args.workers} "
                    f"workers x {args.concurrency} threads, sync loop; sandbox "
                    f"{args.rate_limit}/min; logs in {logs}"
                )
                for fault, one_in, seed in FAULTS:
                    local.state.faults.add_random(RandomFault(fault, 1 / one_in, seed=seed))
                tally = RequestTally(http, lambda path: False)
                tally.start()
                fleet.loop("sync", (3.0, 6.0), seed=args.seed)
                fleet.loop("kill", (2.0, 5.0), seed=args.seed + 1)
                agent_thread = threading.Thread(
                    target=agent,
                    args=(local, ours, run, args.solve_one_in, stop_agent),
                    daemon=True,
                )
                agent_thread.start()
                post_all(handoffs, fleet.ports, run, args, until=began + args.minutes * 60 * 0.7)
                load_seconds = time.monotonic() - began
                fleet.stop_loops()
                local.state.faults.clear()
                drained = wait_for(lambda: not pending(store), budget_end)
                stop_agent.set()
                agent_thread.join()
                local.wait_idle(max(5.0, budget_end - time.monotonic()))
                fleet.run_sync()
                processed = wait_for(lambda: not unprocessed(store), budget_end + 60)
                tally.stop()
                notes = [f"{name} had exited by itself" for name in fleet.exited()]
                wall = time.monotonic() - began
                figures = collect(local, store, run, ours, tally, fleet, proxy)
            finally:  # before the schema is dropped
                stop_agent.set()
                fleet.stop()
    finally:
        if proxy is not None:
            proxy.stop()
        local.stop()
    notes += [] if drained else ["deliveries still pending at the time bound"]
    notes += [] if processed else ["inbox rows still unprocessed at the time bound"]
    return report(figures, run, fleet, load_seconds, wall, notes, logs)


def pending(store: Store) -> int:
    """Deliveries not yet settled."""
    counts = states(store)
    return counts["pending"] + counts["leased"]


def unprocessed(store: Store) -> int:
    """Inbox rows not yet processed."""
    with store.engine.connect() as conn:
        query = "SELECT count(*) FROM inbound_events WHERE state = 'received'"
        return int(conn.exec_driver_sql(query).scalar() or 0)


def collect(
    local: LocalZendesk,
    store: Store,
    run: Run,
    ours: set[str],
    tally: RequestTally,
    fleet: Fleet,
    proxy: WebhookProxy,
) -> dict[str, Any]:
    """Every figure, read off the sandbox, the store and the counters."""
    tickets = [t for t in local.state.list_tickets() if t.external_id in ours]
    per_handoff = Counter(str(t.external_id) for t in tickets)
    status = {str(t.external_id): t.status for t in tickets}
    webhooks = local.state.webhooks
    deliveries = webhooks.recent_deliveries(len(webhooks.deliveries) + 1)
    acked = {d.event_id for d in deliveries if d.status is not None and 200 <= d.status < 300}
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, state FROM inbound_events")).all()
        inbox: dict[str, str] = {str(event_id): str(state) for event_id, state in rows}
        rows = conn.execute(sa.text("SELECT handoff_id, state FROM deliveries")).all()
        delivery: dict[str, str] = {str(handoff_id): str(state) for handoff_id, state in rows}
        unsettled = [tuple(row) for row in conn.execute(sa.text(UNSETTLED)).all()]
        locks = [
            f"{name} ({owner}) until {until:%H:%M:%S}"
            for name, owner, until in conn.execute(sa.text(SYNC_LOCKS)).all()
        ]
        rows = conn.execute(sa.text(LATEST_OUTCOMES)).all()
        latest: dict[str, str] = {str(handoff_id): str(outcome) for handoff_id, outcome in rows}
    missing = [h for h in run.accepted if h not in per_handoff]
    matching = [h for h in status if latest.get(h) == DEFAULT_STATUSES.get(status[h])]
    solved = [h for h in status if status[h] in ("solved", "closed")]
    return {
        "tickets": len(tickets),
        "duplicates": sum(1 for n in per_handoff.values() if n > 1),
        "extra_tickets": sum(n - 1 for n in per_handoff.values()),
        "lost": sorted(h for h in missing if delivery.get(h) not in ("pending", "leased")),
        "unsettled": unsettled,
        "locks": locks,
        "late": len([h for h in missing if delivery.get(h) in ("pending", "leased")]),
        "deliveries": states(store),
        "events": len(webhooks.events),
        "attempts": Counter(d.status for d in deliveries),
        "acked": len(acked),
        "stored": len(acked & inbox.keys()),
        "ack_not_stored": sorted(acked - inbox.keys()),
        "never_acked": len(webhooks.events.keys() - acked),
        "inbox": Counter(inbox.values()),
        "stored_unacked": len(inbox.keys() - acked),
        "solved": len(solved),
        "solved_matching": sum(1 for h in solved if latest.get(h) == "resolved"),
        "matching": len(matching),
        "faults": Counter(kind for kind, _, _ in local.state.faults.applied),
        "tally": tally,
        "proxy": dict(proxy.forwarded),
        "redelivered": proxy.duplicates,
    }


def report(
    f: dict[str, Any],
    run: Run,
    fleet: Fleet | None,
    load: float,
    wall: float,
    notes: list[str],
    logs: Path,
) -> bool:
    """Print the figures; True when the checks pass."""
    tally: RequestTally = f["tally"]
    calls, rejected = tally.calls, tally.by_status.get(429, 0)
    injected = f["faults"].get("rate_limit", 0)
    existing = sum(1 for again in run.accepted.values() if again)
    ms = [s * 1000 for s in run.latency]
    lost, ack_lost = f["lost"], f["ack_not_stored"]
    print(
        f"handoffs posted     {run.posted} in {load:.0f} s ({len(run.accepted)} accepted, "
        f"{existing} of them already there; failed: {dict(run.failed) or 0})"
    )
    print(f"tickets             {f['tickets']} in the sandbox; deliveries {dict(f['deliveries'])}")
    print(
        f"duplicates          {f['duplicates']} handoff ids with >1 ticket "
        f"({f['extra_tickets']} extra tickets)"
    )
    print(
        f"lost                {len(lost)} accepted handoffs without a ticket and no delivery "
        f"pending {lost[:5]}; {f['late']} still pending at the time bound"
    )
    print(
        f"webhooks            {f['events']} events sent; {f['acked']} acknowledged, "
        f"{f['stored']} of them stored; {f['never_acked']} never acknowledged"
    )
    print(f"  ack. not stored   {len(ack_lost)} {ack_lost[:5]}")
    print(f"  delivery attempts {dict(f['attempts'])} (proxy answers {f['proxy']})")
    print(
        f"  inbox             {sum(f['inbox'].values())} rows {dict(f['inbox'])}; "
        f"{f['stored_unacked']} stored but never acknowledged; {f['redelivered']} "
        f"redeliveries answered as duplicates"
    )
    print(
        f"dispositions        solved: {f['solved_matching']}/{f['solved']} resolved in Baton; "
        f"all: {f['matching']}/{f['tickets']} match the sandbox's status "
        f"({len(run.solved)} solved by the agent, {run.solve_errors} solve errors)"
    )
    print(
        f"platform requests   {calls}, by status {dict(tally.by_status)}; faults applied "
        f"{dict(f['faults'])}"
    )
    print(
        f"429 share           {rejected / calls if calls else 0:.2%} ({injected} injected, "
        f"{rejected - injected} from the rate limit)"
    )
    print(
        f"intake latency      p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} "
        f"ms (BatonClient.handoff, retries included)"
    )
    if fleet is not None:
        print(
            f"kills               {sum(fleet.kills.values())} ({dict(fleet.kills)}); "
            f"sync runs by exit code {dict(fleet.syncs)}"
        )
    for handoff_id, state, attempts, due, error in f["unsettled"]:
        when = "lease ends" if state == "leased" else "due"
        print(
            f"  unsettled         {handoff_id}: {state}, {attempts} attempts, "
            f"{when} {due:%H:%M:%S}, {error}"
        )
    print(f"sync locks held     {f['locks'] or 'none'} at {datetime.now(UTC):%H:%M:%S}")
    print(f"wall time           {wall:.0f} s")
    problems = [*notes]
    problems += [f"{len(lost)} lost"] if lost else []
    problems += [f"{f['duplicates']} duplicated"] if f["duplicates"] else []
    problems += [f"{len(ack_lost)} acknowledged but not stored"] if ack_lost else []
    problems += [f"the request log lost {tally.missed} entries"] if tally.missed else []
    print("result              " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    print(f"child logs          {logs}")
    failed = bool(lost or f["duplicates"] or ack_lost)
    return not failed


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the soak; 1 when it finds a loss or a duplicate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=8.0, help="bound on the wall time")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--rate-limit", type=int, default=2500, help="sandbox requests/min")
    parser.add_argument("--solve-one-in", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if reason := postgres_unreachable():
        print(f"skipped: {reason}")
        return 1
    return 0 if run_soak(args) else 1


if __name__ == "__main__":
    sys.exit(main())
