"""``baton demo``: the whole loop on the embedded default, in under a minute.

Sandbox + service + worker start on 127.0.0.1 over a fresh SQLite file; every example handoff
is posted over HTTP; the tickets appear in the Zendesk sandbox; sandbox agents reply, solve,
re-open and re-assign; their signed webhooks bring the dispositions back; one webhook is lost
on purpose and a sync run heals it; an outcome table closes. Nothing is left running.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
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
from baton.core.plan_summary import load_examples
from baton.core.store import Store
from baton.core.sync import run_sync
from baton.sandbox.server import serve_in_thread
from baton.sandbox.zendesk import ZendeskState
from baton.webhooks.embedded import EmbeddedBaton, build_embedded, free_port

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
    ticket_id: int


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise BatonError(f"demo: timed out waiting for {what}")
        time.sleep(0.1)


def _post_all(baton: EmbeddedBaton, examples: list[tuple[str, Handoff]], console: Console) -> None:
    headers = {"Authorization": f"Bearer {baton.api_key}"}
    with httpx.Client(base_url=baton.public_url, headers=headers, timeout=10) as client:
        codes = [
            client.post(
                "/v1/handoffs",
                content=handoff.model_dump_json(),
                headers={"Content-Type": "application/json"},
            ).status_code
            for _, handoff in examples
        ]
    console.print(f"Posted {len(codes)} handoffs to POST /v1/handoffs → {sorted(set(codes))}")


def _tickets(store: Store, examples: list[tuple[str, Handoff]]) -> list[Delivered]:
    delivered = []
    for name, handoff in examples:
        link = store.ticket_link(handoff.id)
        if link is None:
            raise BatonError(f"demo: {handoff.id} was not delivered")
        delivered.append(Delivered(name.split("-")[0], handoff, int(link.ticket_id)))
    return delivered


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


def _ticket_table(state: ZendeskState, delivered: list[Delivered]) -> Table:
    table = _table("Tickets created in the Zendesk sandbox")
    for column in ("#", "ticket", "group", "assignee", "priority", "tags"):
        table.add_column(column, overflow="fold")
    for item in delivered:
        ticket = state.tickets[item.ticket_id]
        group = state.groups[ticket.group_id].name if ticket.group_id else "—"
        agent = state.users[ticket.assignee_id].name if ticket.assignee_id else "—"
        tags = ", ".join(
            t.split("_", 1)[1] for t in ticket.tags if t.startswith(("trigger_", "tier_"))
        )
        table.add_row(item.label, str(ticket.id), group, agent, ticket.priority or "—", tags)
    return table


def _group_id(state: ZendeskState, name: str) -> int:
    return next(g.id for g in state.groups.values() if g.name == name)


def _act(state: ZendeskState, clock: SandboxClock, tickets: dict[str, int]) -> list[str]:
    """What the sandbox agents do; the last action's webhook is lost on purpose."""
    done = []
    clock.advance(45)
    for label in ("01", "02", "04", "06", "07", "08"):
        state.agent_reply(tickets[label], "Thanks, I'm on it.")
    state.reassign(tickets["05"], group_id=_group_id(state, "General Support"))
    done.append("replied on 6 tickets; #05 re-assigned to General Support")
    clock.advance(90)
    for label in ("01", "02", "06"):
        state.solve(tickets[label])
    state.rate(tickets["01"], "good")
    state.rate(tickets["06"], "bad", "Second refund still missing")
    done.append("solved #01, #02, #06; CSAT good on #01, bad on #06")
    clock.advance(30)
    state.reopen(tickets["02"])
    done.append("customer on #02 wrote back: re-opened")
    state.webhooks.wait_idle(10)
    targets = list(state.webhooks.targets)
    state.webhooks.targets.clear()  # the service is "unreachable" for this one change
    state.solve(tickets["08"])
    state.webhooks.targets.extend(targets)
    done.append("solved #08 while its webhook was lost (only sync can see it)")
    return done


def _outcome_table(store: Store, delivered: list[Delivered]) -> Table:
    table = _table("Outcomes")
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


def run_demo(examples_dir: Path, mappings: Path, console: Console) -> None:
    """Run the whole loop once and print what happened at each step."""
    started = time.monotonic()
    examples = load_examples(examples_dir)
    clock = SandboxClock()
    with tempfile.TemporaryDirectory(prefix="baton-demo-") as folder:
        store = Store(f"sqlite:///{folder}/baton.db")
        store.migrate()
        port = free_port()
        baton = build_embedded(
            store, mappings, public_url=f"http://127.0.0.1:{port}", clock=clock, env={}
        )
        server = serve_in_thread(baton.service.app, port=port, lifespan="on")
        try:
            _run_steps(baton, store, examples, clock, console)
        finally:
            server.stop()
            baton.close()
    console.print(f"[bold]Done in {time.monotonic() - started:.1f} s[/]; nothing left running.")


def _run_steps(
    baton: EmbeddedBaton,
    store: Store,
    examples: list[tuple[str, Handoff]],
    clock: SandboxClock,
    console: Console,
) -> None:
    state = baton.zendesk.sandbox.state
    console.print(
        f"Zendesk sandbox {baton.zendesk.sandbox.base_url} · Baton {baton.public_url} · "
        "worker in-process · SQLite in a temporary folder"
    )
    _post_all(baton, examples, console)
    _wait(lambda: all(store.ticket_link(h.id) for _, h in examples), "the tickets")
    delivered = _tickets(store, examples)
    console.print(_ticket_table(state, delivered))
    tickets = {item.label: item.ticket_id for item in delivered}
    for line in _act(state, clock, tickets):
        console.print(f"  agents: {line}")
    state.webhooks.wait_idle(10)
    baton.service.inbox.drain()
    webhooks = sum(len(store.dispositions(h.id)) for _, h in examples)
    console.print(f"Webhooks brought back {webhooks} dispositions (signed, verified, deduped).")
    clock.advance(75)  # the incremental export leaves out the last minute
    summary = run_sync(
        store,
        baton.service.connectors["zendesk"],
        name="zendesk",
        since=datetime.now(UTC) - timedelta(hours=1),
    )
    console.print(
        f"Sync: {summary.pages} page(s), {summary.examined} tickets examined, "
        f"{summary.applied} new observations applied, {summary.duplicates} already known"
    )
    console.print(_outcome_table(store, delivered))
