"""``baton demo`` without ``--quick``: a month played on the sandboxes' own clocks.

The month is planned in advance (:mod:`.demo_plan`) and played in time order. Each sandbox's
clock is set back to the month's start through its control API and moved forward to every
planned moment: a handoff is posted (and the worker creates its ticket then), an agent replies,
transfers, solves, a customer reopens or rates. So the platform's own timestamps and metrics
(first reply, full resolution) are the month's. Webhooks stay off meanwhile, as the service
refuses signatures a month old; the sync job, run every few hours of sandbox time from a start a
month ago, brings the history back, as it would for a desk Baton was just connected to. Then the
clocks come back to the present and webhooks on, and a few tickets are solved live.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console

from baton.core.catalog import load_catalog
from baton.core.errors import BatonError
from baton.core.handoff import Handoff
from baton.core.plugin import DemoAgents
from baton.core.store import Store
from baton.core.sync import run_sync
from baton.webhooks.demo_plan import DAYS, HANDOFFS, SEED, Planned, Step, plan_month
from baton.webhooks.embedded import EmbeddedBaton

SYNC_EVERY = timedelta(hours=6)
MONTH_RATE_LIMIT = 100_000
"""The sandboxes' requests per minute while the month plays (their default is 700)."""
LIVE_TICKETS = 3
WAIT_SECONDS = 30.0


@dataclass
class MonthSummary:
    """What the month did, counted as it was played."""

    start: datetime
    end: datetime
    handoffs: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    sync_runs: int = 0
    synced: int = 0
    live_webhooks: int = 0


@dataclass(frozen=True)
class _Desk:
    platform: str
    agents: DemoAgents
    groups: tuple[str, ...]


def _desks(baton: EmbeddedBaton, mappings: Path) -> list[_Desk]:
    desks = []
    for platform, sandbox in baton.sandboxes.running.items():
        agents = sandbox.agents
        if agents is None:
            continue
        catalog = load_catalog(mappings / "catalogs" / f"{platform}.json")
        # Where a transfer goes: the groups (queues), or the pipelines where teams work those.
        teams = catalog.groups or catalog.pipelines
        desks.append(_Desk(platform, agents, tuple(t.name for t in teams)))
    if not desks:
        raise BatonError("demo: no sandbox has agents to play the month")
    return desks


def play_month(
    baton: EmbeddedBaton,
    store: Store,
    examples: Sequence[tuple[str, Handoff]],
    mappings: Path,
    console: Console,
    *,
    seed: int = SEED,
    count: int = HANDOFFS,
    end: datetime | None = None,
) -> MonthSummary:
    """Plan the month to ``end`` (default: now) and play it on every sandbox with agents; say
    what happened. The same seed and end give the same month."""
    desks = _desks(baton, mappings)
    end = end or datetime.now(UTC).replace(second=0, microsecond=0)
    plan = plan_month(examples, end=end, seed=seed, count=count)
    planned = [
        (
            desks[n % len(desks)],
            p.handoff.model_copy(update={"destination": desks[n % len(desks)].platform}),
            p,
        )
        for n, p in enumerate(plan)
    ]
    summary = MonthSummary(start=end - timedelta(days=DAYS), end=end)
    console.print(
        f"Playing {len(plan)} handoffs over the {DAYS} days to {end:%Y-%m-%d %H:%M} UTC on the "
        f"sandbox clock (seed {seed}) …"
    )
    headers = {"Authorization": f"Bearer {baton.api_key}", "Content-Type": "application/json"}
    with ExitStack() as stack:
        client = stack.enter_context(
            httpx.Client(base_url=baton.public_url, headers=headers, timeout=10)
        )
        for desk in desks:
            stack.enter_context(desk.agents.webhooks_lost())  # a month-old signature is stale
        _play(baton, store, client, desks, planned, summary)
        for desk in desks:
            desk.agents.clock_at(datetime.now(UTC))
    _report_month(summary, console)
    _live(baton, store, planned, summary, console)
    _final_sync(baton, store, desks, summary, console)
    return summary


def _play(
    baton: EmbeddedBaton,
    store: Store,
    client: httpx.Client,
    desks: list[_Desk],
    planned: list[tuple[_Desk, Handoff, Planned]],
    summary: MonthSummary,
) -> None:
    # (time, order, what): creations sort before steps at the same time, syncs last.
    events: list[tuple[datetime, int, int, int]] = []
    for index, (_, handoff, plan) in enumerate(planned):
        events.append((handoff.created_at, 0, index, -1))
        events.extend((step.at, 1, index, n) for n, step in enumerate(plan.steps))
    tick = summary.start + SYNC_EVERY
    while tick <= summary.end:
        events.append((tick, 2, -1, -1))
        tick += SYNC_EVERY
    heapq.heapify(events)
    tickets: dict[int, str] = {}
    since = summary.start - timedelta(hours=1)
    while events:
        at, kind, index, step = heapq.heappop(events)
        if kind == 2:
            for desk in desks:
                desk.agents.clock_at(at)
                _sync(baton, store, desk, since, summary)
            continue
        desk, handoff, plan = planned[index]
        desk.agents.clock_at(at)
        if kind == 0:
            tickets[index] = _post(client, store, handoff, summary)
        else:
            _act(desk, tickets[index], plan.steps[step], summary)


def _post(client: httpx.Client, store: Store, handoff: Handoff, summary: MonthSummary) -> str:
    """Post one handoff and wait until the worker has made its ticket (at the sandbox's time)."""
    answer = client.post("/v1/handoffs", content=handoff.model_dump_json())
    summary.statuses[answer.status_code] += 1
    summary.handoffs += 1
    deadline = time.monotonic() + WAIT_SECONDS
    while (link := store.ticket_link(handoff.id)) is None:
        if time.monotonic() > deadline:
            raise BatonError(f"demo: timed out waiting for the ticket of {handoff.id}")
        time.sleep(0.002)
    return link.ticket_id


def _act(desk: _Desk, ticket_id: str, step: Step, summary: MonthSummary) -> None:
    agents = desk.agents
    if step.action == "reply":
        agents.reply(ticket_id, "Thanks for your patience, I'm looking into this now.")
    elif step.action == "transfer":
        ticket = agents.summary(ticket_id)
        others = [g for g in desk.groups if g != ticket.group]
        if ticket.assignee is not None or not others:
            return  # an assigned ticket stays with its agent
        agents.reassign(ticket_id, others[step.pick % len(others)])
    elif step.action == "solve":
        agents.solve(ticket_id)
    elif step.action == "reopen":
        agents.reopen(ticket_id)
    else:
        agents.rate(ticket_id, good=step.good, comment=step.comment)
    summary.actions[step.action] += 1


def _sync(
    baton: EmbeddedBaton, store: Store, desk: _Desk, since: datetime, summary: MonthSummary
) -> int:
    connector = baton.service.connectors[desk.platform]
    result = run_sync(store, connector, name=desk.platform, since=since)
    summary.sync_runs += 1
    summary.synced += result.applied
    return result.applied


def _report_month(summary: MonthSummary, console: Console) -> None:
    codes = sorted(summary.statuses)
    acts = summary.actions
    console.print(
        f"  posted {summary.handoffs} handoffs to POST /v1/handoffs → {codes}; the worker made "
        "each ticket at its handoff's time"
    )
    console.print(
        f"  agents: {acts['reply']} replies, {acts['transfer']} transfers, {acts['solve']} "
        f"solves, {acts['reopen']} reopens, {acts['rate']} CSAT ratings"
    )
    console.print(
        f"  sync ran {summary.sync_runs} times on the sandbox clock (every "
        f"{SYNC_EVERY.total_seconds() / 3600:.0f} h, from a month ago) and brought back "
        f"{summary.synced} observations"
    )


def _live(
    baton: EmbeddedBaton,
    store: Store,
    planned: list[tuple[_Desk, Handoff, Planned]],
    summary: MonthSummary,
    console: Console,
) -> None:
    """Back to the present, webhooks on: agents solve a few of the newest open tickets."""
    open_now = [(desk, handoff) for desk, handoff, plan in reversed(planned) if not plan.resolved][
        :LIVE_TICKETS
    ]
    for desk, handoff in open_now:
        link = store.ticket_link(handoff.id)
        if link is None:
            continue
        desk.agents.reply(link.ticket_id, "Sorted now, thanks for bearing with us.")
        desk.agents.solve(link.ticket_id)
    for sandbox in baton.sandboxes.running.values():
        sandbox.wait_idle(10)
    baton.service.inbox.drain()
    summary.live_webhooks = sum(
        1
        for _, handoff in open_now
        for d in store.dispositions(handoff.id)
        if d.source == "webhook"
    )
    console.print(
        f"Today, live: agents solved {len(open_now)} open tickets; signed webhooks brought back "
        f"{summary.live_webhooks} dispositions."
    )


def _final_sync(
    baton: EmbeddedBaton,
    store: Store,
    desks: list[_Desk],
    summary: MonthSummary,
    console: Console,
) -> None:
    for desk in desks:
        applied = _sync(baton, store, desk, summary.start, summary)
        console.print(f"Sync {desk.platform} now: {applied} new observations applied.")
