"""``baton demo``: the whole loop on the embedded default, in well under a minute.

Every registered platform's sandbox, the service and a worker start on 127.0.0.1 over a fresh
SQLite file. By default the demo plays a month (:mod:`.demo_month`): a few hundred handoffs
backdated across the last 30 days, worked by the sandboxes' agents on the sandboxes' own
clocks, brought back by the sync job, and a few solved live with webhooks; it ends with the
learning report over that month.

``--quick`` is the short loop: every example handoff is posted to every sandboxed platform; the
tickets appear in the sandboxes; sandbox agents reply, solve, re-open and re-assign; their
signed webhooks bring the dispositions back; one webhook is lost on purpose and a sync run
heals it; an outcome table per platform closes. Nothing is left running either way.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

from baton.core.disposition import Disposition
from baton.core.errors import BatonError
from baton.core.handoff import Handoff
from baton.core.learning import escalations
from baton.core.learning.assemble import MappingFacts, stored_report
from baton.core.learning.page import CHART_DIMENSIONS, report_html
from baton.core.plan_summary import load_examples
from baton.core.plugin import DemoAgents, registry
from baton.core.store import Store
from baton.core.sync import run_sync
from baton.sandbox.server import serve_in_thread
from baton.webhooks.demo_month import MONTH_RATE_LIMIT, MonthSummary, play_month
from baton.webhooks.demo_plan import HANDOFFS, SEED
from baton.webhooks.embedded import EmbeddedBaton, build_embedded, free_port
from baton.webhooks.report_terminal import print_report
from baton.webhooks.sandboxes import DEFAULT_RATE_LIMIT

WAIT_SECONDS = 30.0


class SandboxClock:
    """Real time plus an offset the demo moves forward, so that agents act "later".

    Kept under five minutes ahead: the service accepts webhook signatures within ±300 s.
    """

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: int) -> None:
        """Move the sandbox's time forward."""
        self.offset += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Delivered:
    """An example handoff and the sandbox ticket it became."""

    label: str
    handoff: Handoff
    ticket_id: str


@dataclass(frozen=True)
class Desk:
    """One sandboxed platform in the demo: its handoffs (labelled) and, once posted, tickets."""

    platform: str
    title: str
    examples: list[tuple[str, Handoff]]
    agents: DemoAgents | None

    def tickets(self, store: Store) -> list[Delivered]:
        """The ticket each handoff became."""
        delivered = []
        for name, handoff in self.examples:
            link = store.ticket_link(handoff.id)
            if link is None:
                raise BatonError(f"demo: {handoff.id} was not delivered")
            delivered.append(Delivered(name.split("-")[0], handoff, link.ticket_id))
        return delivered


def _desks(baton: EmbeddedBaton, examples: list[tuple[str, Handoff]]) -> list[Desk]:
    """Each sandboxed platform gets every example; all but the first under a suffixed id."""
    desks = []
    for index, (platform, sandbox) in enumerate(baton.sandboxes.running.items()):
        copies = [
            (
                name,
                handoff.model_copy(
                    update={
                        "id": handoff.id if index == 0 else f"{handoff.id}:{platform}",
                        "destination": platform,
                    }
                ),
            )
            for name, handoff in examples
        ]
        desks.append(Desk(platform, registry().get(platform).title, copies, sandbox.agents))
    return desks


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise BatonError(f"demo: timed out waiting for {what}")
        time.sleep(0.1)


def _post_all(baton: EmbeddedBaton, examples: list[Handoff], console: Console) -> None:
    headers = {"Authorization": f"Bearer {baton.api_key}"}
    with httpx.Client(base_url=baton.public_url, headers=headers, timeout=10) as client:
        codes = [
            client.post(
                "/v1/handoffs",
                content=handoff.model_dump_json(),
                headers={"Content-Type": "application/json"},
            ).status_code
            for handoff in examples
        ]
    console.print(f"Posted {len(codes)} handoffs to POST /v1/handoffs → {sorted(set(codes))}")


def _table(title: str) -> Table:
    # Borderless, so both tables fit an 80-column terminal.
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        show_edge=False,
    )


def _ticket_table(desk: Desk, delivered: list[Delivered]) -> Table:
    table = _table(f"Tickets created in the {desk.title} sandbox")
    for column in ("#", "ticket", "group", "assignee", "priority", "tags"):
        table.add_column(column, overflow="fold")
    for item in delivered:
        if desk.agents is None:
            table.add_row(item.label, item.ticket_id, "—", "—", "—", "—")
            continue
        ticket = desk.agents.summary(item.ticket_id)
        tags = ", ".join(
            t.split("_", 1)[1] for t in ticket.tags if t.startswith(("trigger_", "tier_"))
        )
        table.add_row(
            item.label,
            item.ticket_id,
            ticket.group or "—",
            ticket.assignee or "—",
            ticket.priority or "—",
            tags,
        )
    return table


def _act(desks: list[tuple[DemoAgents, dict[str, str]]], clock: SandboxClock) -> Iterator[str]:
    """What the sandbox agents do on every platform; the last action's webhook is lost."""
    clock.advance(45)
    for agents, tickets in desks:
        for label in ("01", "02", "04", "06", "07", "08"):
            agents.reply(tickets[label], "Thanks, I'm on it.")
        agents.reassign(tickets["05"], "General Support")
    yield "replied on 6 tickets; #05 re-assigned to General Support"
    clock.advance(90)
    for agents, tickets in desks:
        for label in ("01", "02", "06"):
            agents.solve(tickets[label])
        agents.rate(tickets["01"], good=True)
        agents.rate(tickets["06"], good=False, comment="Second refund still missing")
    yield "solved #01, #02, #06; CSAT good on #01, bad on #06"
    clock.advance(30)
    for agents, tickets in desks:
        agents.reopen(tickets["02"])
    yield "customer on #02 wrote back: re-opened"
    with ExitStack() as lost:
        for agents, _ in desks:
            lost.enter_context(agents.webhooks_lost())  # the service is "unreachable"
        for agents, tickets in desks:
            agents.solve(tickets["08"])
    yield "solved #08 while its webhook was lost (only sync can see it)"


def _outcome_table(store: Store, title: str, delivered: list[Delivered]) -> Table:
    table = _table(f"Outcomes in {title}")
    for column in ("#", "intent", "outcome", "via", "resolved", "reopens", "CSAT"):
        table.add_column(column, no_wrap=True)
    for item in delivered:
        history = store.dispositions(item.handoff.id)
        current = store.current_disposition(item.handoff.id)
        measured = _last_measured(history)
        table.add_row(
            item.label,
            item.handoff.intent,
            current.outcome if current else "—",
            current.source if current else "—",
            _duration(measured.resolution_seconds if measured else None),
            str(measured.reopen_count) if measured else "—",
            (measured.csat_raw or "—") if measured and measured.csat is not None else "—",
        )
    return table


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def _last_measured(history: list[Disposition]) -> Disposition | None:
    synced = [d for d in history if d.source == "sync" or d.csat_raw or d.reopen_count]
    return synced[-1] if synced else (history[-1] if history else None)


def run_demo(
    examples_dir: Path,
    mappings: Path,
    console: Console,
    *,
    quick: bool = False,
    database: Path | None = None,
    seed: int = SEED,
    count: int = HANDOFFS,
    end: datetime | None = None,
    page: Path = Path("baton-report.html"),
) -> MonthSummary | None:
    """Run the demo once and print what happened at each step: the month (``count`` handoffs
    to ``end``, default now, planned from ``seed``) and its report, or with ``quick`` the short
    loop. ``database``: the SQLite file to use (kept afterwards) instead of a temporary one;
    ``page``: where the month's report page is written."""
    started = time.monotonic()
    examples = load_examples(examples_dir)
    clock = SandboxClock() if quick else None
    month: MonthSummary | None = None
    with tempfile.TemporaryDirectory(prefix="baton-demo-") as folder:
        store = Store(f"sqlite:///{database or Path(folder) / 'baton.db'}")
        store.migrate()
        port = free_port()
        baton = build_embedded(
            store,
            mappings,
            public_url=f"http://127.0.0.1:{port}",
            clock=clock,
            env={},
            # The month's requests are spread over a month of the sandbox's time but sent in
            # seconds: a sandbox that allows that lets the connector's own pacing allow it too.
            sandbox_rate_limit=DEFAULT_RATE_LIMIT if quick else MONTH_RATE_LIMIT,
        )
        server = serve_in_thread(baton.service.app, port=port, lifespan="on")
        try:
            _introduce(baton, console)
            if clock is not None:
                _run_steps(baton, store, examples, clock, console)
            else:
                month = play_month(
                    baton, store, examples, mappings, console, seed=seed, count=count, end=end
                )
                _post_volume(baton, store, seed, console)
        finally:
            server.stop()
            baton.close()
        if month is not None:
            _closing_report(store, mappings, console, page)
        store.close()
    console.print(f"[bold]Done in {time.monotonic() - started:.1f} s[/]; nothing left running.")
    return month


def _introduce(baton: EmbeddedBaton, console: Console) -> None:
    for platform, sandbox in baton.sandboxes.running.items():
        console.print(f"{registry().get(platform).title} sandbox {sandbox.base_url}")
    console.print(f"Baton {baton.public_url} · worker in-process · SQLite in a temporary folder")


def _post_volume(baton: EmbeddedBaton, store: Store, seed: int, console: Console) -> None:
    """The agent's conversations per day of the month, over ``POST /v1/volume``, so that the
    report can show containment: each day's escalations are a seeded 10–18 % of them."""
    chance = random.Random(seed)  # noqa: S311 (made-up figures, not secrets)
    per_day = Counter(e.created_at.astimezone(UTC).date() for e in escalations(store))
    headers = {"Authorization": f"Bearer {baton.api_key}"}
    with httpx.Client(base_url=baton.public_url, headers=headers, timeout=10) as client:
        for day, escalated in sorted(per_day.items()):
            figure = {
                "date": day.isoformat(),
                "conversations": round(escalated / chance.uniform(0.10, 0.18)),
            }
            client.post("/v1/volume", json=figure).raise_for_status()
    console.print(
        f"The agent reported its conversations for {len(per_day)} days (POST /v1/volume)."
    )


def _closing_report(store: Store, mappings: Path, console: Console, page: Path) -> None:
    """The learning report over everything the demo stored, as ``baton report`` prints it, and
    its HTML page written to ``page``."""
    result = stored_report(
        store, MappingFacts.load(mappings), now=datetime.now(UTC), dimensions=CHART_DIMENSIONS
    )
    console.print()
    console.print("[bold]The learning report over the month[/] (as `baton report` prints it)")
    print_report(result, console)
    try:
        page.write_text(report_html(result), encoding="utf-8")
    except OSError as exc:
        console.print(f"Could not write the report page to {page}: {exc.strerror or exc}")
        return
    console.print(f"The report as a page with charts: [bold]{page.resolve()}[/] (opens offline)")


def _run_steps(
    baton: EmbeddedBaton,
    store: Store,
    examples: list[tuple[str, Handoff]],
    clock: SandboxClock,
    console: Console,
) -> None:
    desks = _desks(baton, examples)
    handoffs = [handoff for desk in desks for _, handoff in desk.examples]
    _post_all(baton, handoffs, console)
    _wait(lambda: all(store.ticket_link(h.id) for h in handoffs), "the tickets")
    delivered = {desk.platform: desk.tickets(store) for desk in desks}
    for desk in desks:
        console.print(_ticket_table(desk, delivered[desk.platform]))
    acting = [
        (desk.agents, {item.label: item.ticket_id for item in delivered[desk.platform]})
        for desk in desks
        if desk.agents is not None
    ]
    for line in _act(acting, clock):
        console.print(f"  agents: {line}")
    for sandbox in baton.sandboxes.running.values():
        sandbox.wait_idle(10)
    baton.service.inbox.drain()
    webhooks = sum(len(store.dispositions(h.id)) for h in handoffs)
    console.print(f"Webhooks brought back {webhooks} dispositions (signed, verified, deduped).")
    clock.advance(75)  # an incremental export may leave out the last minute
    for desk in desks:
        summary = run_sync(
            store,
            baton.service.connectors[desk.platform],
            name=desk.platform,
            since=datetime.now(UTC) - timedelta(hours=1),
        )
        console.print(
            f"Sync {desk.platform}: {summary.pages} page(s), {summary.examined} tickets "
            f"examined, {summary.applied} new observations applied, "
            f"{summary.duplicates} already known"
        )
    for desk in desks:
        console.print(_outcome_table(store, desk.title, delivered[desk.platform]))
