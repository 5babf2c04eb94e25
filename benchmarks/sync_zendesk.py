"""What a ``baton sync`` of Zendesk costs: API requests per 1,000 synced tickets, and memory.

What it measures: ``baton sync`` runs two jobs for Zendesk (webhooks/cli_jobs.py): the
incremental ticket export (``core.sync.run_sync``: dispositions) and the incremental ticket
events export (``core.sync.sync_replies``: public replies by staff, connectors/zendesk/replies.py).
Both run here, as the CLI runs them, with the real ``ZendeskConnector`` over HTTP against a
Zendesk sandbox, into a fresh SQLite store, from where a first run starts (the oldest handoff's
arrival, ``since_default``), with the CLI's reply redaction.

How it is set up: the sandbox runs in a child process started with ``spawn``, so the memory
figures are the sync's own. The child seeds ``--tickets`` Baton tickets straight into the
sandbox's state (external_id = a handoff id, an internal note from the requester each), every
``--solved-every``-th one given a public agent reply, solved and rated good; the sandbox clock
moves 0.5 s between tickets (the events export pages by the second) and then past the
exports' one-minute horizon. This process stores each ticket's handoff and ticket link, as
delivery would have left them (bulk inserts), so the replies have tickets to land on. The
requests are counted by the sandbox itself (its request log, ``GET /_sandbox/requests``,
cleared before each job).

How to read the output: ``requests per 1,000 synced tickets`` is printed for each job and in
total; the goal (``--goal``, default 5) applies to the TOTAL, what one ``baton sync`` costs.
The ticket export is one request per page of up to 1,000 tickets (``metric_sets`` sideloaded:
no per-ticket metrics read); the events export one per page of up to 1,000 events (every
comment is one: the notes and the replies), plus one user look-up per author not in the
catalog. ``peak RSS`` is this process's ``ru_maxrss`` after both jobs (goal ``--goal-mb``,
default 150), beside the peak before them (imports, the store's links); ``RSS per page`` is
sampled after each committed page of each job: the first, middle and last page, min..max,
and the change over the second half of the pages (past the allocator's warm-up on the first
pages) say whether memory stays flat or grows with the tickets. The exit status is 1
when the total is above ``--goal``, the peak is at or above ``--goal-mb``, a ticket was not
synced or a reply not stored. Wall times are for information only.

    .venv/bin/python benchmarks/sync_zendesk.py [--tickets 1000] [--solved-every 3]
        [--goal 5] [--goal-mb 150]
"""

from __future__ import annotations

import argparse
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import requests
import sqlalchemy as sa
from _common import (
    ROOT,
    ChildFailed,
    child_process,
    isolated_store,
    machine_facts,
    peak_rss_mb,
    rss_mb,
)

from baton.core.ports import ChangePage
from baton.core.store import Store
from baton.core.sync import SyncSummary

MAPPINGS = ROOT / "mappings"
TIER1, MAYA = 360002000001, 360003000001  # from mappings/catalogs/zendesk.json
SPACING_SECONDS = 0.5  # sandbox time between seeded tickets
SANDBOX_LIMIT = 10**9  # requests a minute: the sandbox never answers 429
RATE_LIMIT = "1000000"  # Baton's own limiter never paces the run
LINK_CHUNK = 5_000  # handoffs and links per insert: the setup's memory stays small


def handoff_id(n: int) -> str:
    """The handoff id (the ticket's external_id) of the ``n``-th seeded ticket."""
    return f"bench-sync-{n}"


# ---- the sandbox, in a child process --------------------------------------------------------


def serve(conn: Connection, tickets: int, solved_every: int) -> None:
    """Child process: seed the sandbox's state, serve it, send its settings, stop when told."""
    from baton.connectors.zendesk.local import sandbox_settings
    from baton.core.catalog import load_catalog
    from baton.sandbox.clock import ManualClock
    from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState

    start = datetime.now(UTC) - timedelta(seconds=tickets * SPACING_SECONDS + 600)
    clock = ManualClock(start)
    state = ZendeskState.from_catalog(
        load_catalog(MAPPINGS / "catalogs" / "zendesk.json"), clock=clock, rate_limit=SANDBOX_LIMIT
    )
    started = time.perf_counter()
    ids = array("q")
    replied = 0
    for n in range(tickets):
        created = state.create_ticket(
            {
                "subject": f"Handoff {n}",
                "comment": {"body": "The customer asked for a person.", "public": False},
                "external_id": handoff_id(n),
                "group_id": TIER1,
                "assignee_id": MAYA,
            },
            "https://bench.invalid",
        )
        ticket_id = created["ticket"]["id"]
        ids.append(ticket_id)
        if solved_every > 0 and n % solved_every == 0:
            state.agent_reply(ticket_id, "Your refund is on its way.")  # public, by Maya
            state.solve(ticket_id)
            state.rate(ticket_id, "good")
            replied += 1
        clock.advance(SPACING_SECONDS)
    clock.advance(120)  # past the exports' one-minute horizon
    state.webhooks.events.clear()  # kept for redelivery only; no webhook target here
    comments = sum(len(t.comments) for t in state.tickets.values())
    seeded = time.perf_counter() - started
    sandbox = ZendeskSandbox(state).start()
    try:
        conn.send(
            {
                "env": sandbox_settings(sandbox),
                "base_url": sandbox.base_url,
                "start": start,
                "ids": ids.tobytes(),
                "replied": replied,
                "comments": comments,
                "seed_seconds": seeded,
            }
        )
        conn.recv()  # anything: stop
    finally:
        sandbox.stop()


# ---- this process: the store, the two jobs --------------------------------------------------


def link_tickets(store: Store, ticket_ids: array[int], at: datetime) -> None:
    """Each seeded ticket's handoff and ticket link, as a delivery leaves them."""
    from baton.core.tables import HandoffRow, TicketLinkRow

    for first in range(0, len(ticket_ids), LINK_CHUNK):
        chunk = range(first, min(first + LINK_CHUNK, len(ticket_ids)))
        with store.session() as session:
            session.execute(
                sa.insert(HandoffRow),
                [
                    {
                        "id": handoff_id(n),
                        "platform": "zendesk",
                        "body": "{}",
                        "body_sha256": "0" * 64,
                        "status": "delivered",
                        "received_at": at,
                        "updated_at": at,
                    }
                    for n in chunk
                ],
            )
            session.execute(
                sa.insert(TicketLinkRow),
                [
                    {
                        "handoff_id": handoff_id(n),
                        "platform": "zendesk",
                        "ticket_id": str(ticket_ids[n]),
                        "created_at": at,
                    }
                    for n in chunk
                ],
            )


@dataclass
class Job:
    """One sync job as measured: its summary, the requests the sandbox saw, RSS per page."""

    label: str
    summary: SyncSummary | None = None
    failure: BaseException | None = None
    seconds: float = 0.0
    received: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    refused: int = 0  # answers other than 200
    rss: list[float] = field(default_factory=list)


def measure(label: str, control: str, run: Callable[[Callable[[ChangePage], None]], Any]) -> Job:
    """Run one job (``run(on_page)``) with the sandbox's request log cleared before it."""
    job = Job(label)
    requests.delete(control, timeout=10)
    started = time.perf_counter()
    try:
        job.summary = run(lambda _page: job.rss.append(rss_mb()))
    except Exception as exc:
        job.failure = exc
    job.seconds = time.perf_counter() - started
    log = requests.get(control, params={"limit": 100_000}, timeout=60).json()
    job.received = int(log["received"])
    job.by_path = Counter(entry["path"] for entry in log["requests"])
    job.refused = sum(1 for entry in log["requests"] if entry.get("status") != 200)
    return job


def report(job: Job, synced: int) -> float:
    """Print one job's figures; its requests per 1,000 synced tickets."""
    per_thousand = job.received * 1000 / max(synced, 1)
    s = job.summary
    if job.failure is not None:
        print(f"{job.label}: FAILED after {job.seconds:.1f} s: {job.failure!r}")
    elif s is not None:
        print(
            f"{job.label}: {s.pages} pages, {s.examined} examined, {s.applied} applied, "
            f"{s.duplicates} duplicates, {s.skipped} skipped in {job.seconds:.1f} s"
        )
    refused = f", {job.refused} not answered 200" if job.refused else ""
    print(f"  requests: {job.received}{refused}; per 1,000 synced tickets: {per_thousand:.2f}")
    for path, count in job.by_path.most_common():
        print(f"    {count:6d}  {path}")
    if job.rss:
        samples = job.rss
        middle = samples[len(samples) // 2]
        print(
            f"  RSS per page: {samples[0]:.0f} -> {middle:.0f} -> {samples[-1]:.0f} MB (first, "
            f"middle, last of {len(samples)} pages; min..max {min(samples):.0f}.."
            f"{max(samples):.0f} MB; second half {samples[-1] - middle:+.1f} MB)"
        )
    return per_thousand


def main() -> int:
    """Seed (child), sync both jobs (here), count; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--solved-every", type=int, default=3, help="0: none replied to")
    parser.add_argument("--goal", type=float, default=5.0, help="requests per 1,000 tickets")
    parser.add_argument("--goal-mb", type=float, default=150.0, help="peak RSS goal")
    args = parser.parse_args()

    print(machine_facts())
    try:
        with child_process(serve, args.tickets, args.solved_every) as info:
            return run(args, info)
    except ChildFailed as exc:
        print(f"the sandbox process failed: {exc}")
        return 1


def run(args: argparse.Namespace, info: dict[str, Any]) -> int:
    """Both sync jobs against the sandbox ``info`` describes; 0 when every goal holds."""
    from baton.connectors.zendesk.connector import ZendeskConnector
    from baton.connectors.zendesk.http import ZendeskSettings
    from baton.core.mapping import load_mapping
    from baton.core.sync import run_sync, since_default, sync_replies
    from baton.webhooks.intake import load_redactor

    print(
        f"seeded {args.tickets} tickets ({info['replied']} with a public agent reply, solved "
        f"and rated; {info['comments']} comments) in {info['seed_seconds']:.1f} s"
    )
    control = f"{info['base_url']}/_sandbox/requests"
    ticket_ids = array("q")
    ticket_ids.frombytes(info["ids"])
    with isolated_store("sqlite") as store:
        link_tickets(store, ticket_ids, info["start"])
        del ticket_ids
        store.reply_redactor = load_redactor(MAPPINGS)
        env = {**info["env"], "BATON_ZENDESK_RATE_LIMIT": RATE_LIMIT}
        connector = ZendeskConnector(
            ZendeskSettings.from_env(env), load_mapping(MAPPINGS, "zendesk")
        )
        since = since_default(store, "zendesk")
        rss_before, peak_before = rss_mb(), peak_rss_mb()
        try:
            tickets = measure(
                "ticket export (run_sync)",
                control,
                lambda on_page: run_sync(
                    store, connector, name="zendesk", since=since, on_page=on_page
                ),
            )
            replies = measure(
                "ticket events export (sync_replies)",
                control,
                lambda on_page: sync_replies(
                    store, connector, name="zendesk", since=since, on_page=on_page
                ),
            )
        finally:
            connector.close()
        peak = peak_rss_mb()

    synced = tickets.summary.examined if tickets.summary else 0
    per_tickets = report(tickets, synced)
    print(f"  metric fallbacks (per-ticket metric reads): {connector.metrics_fallbacks}")
    per_replies = report(replies, synced)
    total = per_tickets + per_replies
    print(
        f"requests per 1,000 synced tickets, both jobs: {total:.2f} "
        f"({per_tickets:.2f} + {per_replies:.2f}; goal <= {args.goal:g}, on the total)"
    )
    print(
        f"peak RSS: {peak:.0f} MB (goal under {args.goal_mb:g} MB; {peak_before:.0f} MB before "
        f"the jobs, RSS {rss_before:.0f} MB)"
    )
    print(f"wall time: {tickets.seconds + replies.seconds:.1f} s for both jobs (information only)")
    applied = tickets.summary.applied if tickets.summary else 0
    stored = replies.summary.applied if replies.summary else 0
    ok = synced == applied == args.tickets and stored == info["replied"]
    ok = ok and total <= args.goal and peak < args.goal_mb
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
