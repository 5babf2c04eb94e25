"""`baton demo` without --quick: a month played on the sandbox's clock, ending with the report."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from typer.testing import CliRunner

from baton.core.disposition import Disposition
from baton.core.learning import escalations
from baton.core.plan_summary import load_examples
from baton.core.plugin import registry
from baton.core.store import Store
from baton.webhooks.cli import app
from baton.webhooks.demo import run_demo
from baton.webhooks.demo_plan import SEED, SETTLED, plan_month
from tests.support.paths import EXAMPLES, MAPPINGS

END = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def test_the_plan_is_seeded_varied_and_plausible() -> None:
    examples = load_examples(EXAMPLES)
    plan = plan_month(examples, end=END)
    assert plan == plan_month(examples, end=END, seed=SEED)
    assert plan != plan_month(examples, end=END, seed=SEED + 1)
    handoffs = [p.handoff for p in plan]
    assert len({h.id for h in handoffs}) == len(plan) == 300
    assert all(END - timedelta(days=30) <= h.created_at <= END - SETTLED for h in handoffs)
    assert len({h.created_at.date() for h in handoffs}) >= 28
    assert len({h.intent for h in handoffs}) == 8
    assert len({h.channel for h in handoffs}) >= 5
    assert len({h.priority for h in handoffs}) == 4
    assert len({h.customer.tier for h in handoffs if h.customer}) >= 4
    for planned in plan:
        times = [planned.handoff.created_at, *(step.at for step in planned.steps)]
        assert times == sorted(times), planned.handoff.id
    acted = [Counter(step.action for step in p.steps) for p in plan]
    transferred = sum(1 for a in acted if a["transfer"]) / len(plan)
    reopened = sum(1 for a in acted if a["reopen"]) / len(plan)
    resolved = sum(1 for p in plan if p.resolved)
    rated = sum(1 for a in acted if a["rate"])
    assert 0.08 <= transferred <= 0.22
    assert 0.04 <= reopened <= 0.14
    assert 0.3 <= rated / resolved <= 0.5
    assert 3 <= len(plan) - resolved <= 40  # a few are still open at the end


def _measured(store: Store) -> dict[str, list[Disposition]]:
    return {e.handoff_id: list(e.history) for e in escalations(store)}


def test_the_month_plays_on_the_sandbox_clock_and_ends_with_the_report(tmp_path: Path) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    console = Console(record=True, width=160)
    page = tmp_path / "baton-report.html"
    month = run_demo(EXAMPLES, MAPPINGS, console, database=tmp_path / "demo.db", page=page)
    text = console.export_text()
    assert month is not None
    assert month.handoffs == 300
    assert dict(month.statuses) == {202: 300}
    assert month.live_webhooks > 0

    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        histories = _measured(store)
    finally:
        store.close()
    assert len(histories) == 300
    latest = {h: d[-1] for h, d in histories.items() if d}
    synced = [d for history in histories.values() for d in history if d.source == "sync"]
    resolution = [d.resolution_seconds for d in synced if d.resolution_seconds is not None]
    assert len(set(resolution)) > 100  # the sandbox's own metrics, not one value for all
    assert max(resolution) > 3 * 86_400
    assert min(resolution) < 3600
    assert min(d.occurred_at for d in synced) < datetime.now(UTC) - timedelta(days=25)
    assert any(d.transfer_count for d in synced)
    assert any(d.reopen_count for d in synced)
    assert sum(1 for d in latest.values() if d.csat is not None) > 60
    assert Counter(d.outcome for d in latest.values())["resolved"] > 240

    assert "Playing 300 handoffs over the 30 days" in text
    assert "All escalations" in text
    route_table = text.split("By route (worst first)")[1]
    assert "route Product defects:" in route_table.split("By ")[0]
    assert "Outcomes in" not in text  # the per-platform table is --quick's
    # The agent's volume went in over POST /v1/volume: containment is known, and plausible.
    containment = text.split("Containment: ")[1].split("%")[0]
    assert 80 <= int(containment) <= 92  # each day's escalations are 10–18 % of its volume
    assert f"{page}" in " ".join(text.split())
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 6
    assert "unknown: no conversation volume" not in html
    time.sleep(0.2)
    leftover = [
        t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()
    ]
    assert leftover == []


def _outcomes(database: Path) -> dict[str, tuple[Any, ...]]:
    store = Store(f"sqlite:///{database}")
    try:
        return {
            handoff_id: tuple(
                (d.outcome, d.first_response_seconds, d.resolution_seconds, d.csat_raw)
                for d in history
                if d.source == "sync"
            )
            for handoff_id, history in _measured(store).items()
        }
    finally:
        store.close()


def test_the_same_seed_and_end_play_the_same_month(tmp_path: Path) -> None:
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    quiet = Console(file=io.StringIO(), width=120)
    for name in ("a.db", "b.db"):
        run_demo(
            EXAMPLES,
            MAPPINGS,
            quiet,
            database=tmp_path / name,
            count=60,
            end=end,
            page=tmp_path / f"{name}.html",
        )
    first, second = _outcomes(tmp_path / "a.db"), _outcomes(tmp_path / "b.db")
    assert len(first) == 60
    assert first.keys() == second.keys()
    for handoff_id, played in first.items():
        assert _same_month(played, second[handoff_id]), (handoff_id, played, second[handoff_id])


# A ticket is made when the worker gets to it, a moment after its handoff arrives, so its
# times on the sandbox's clock may differ by that moment between two runs of one month.
_WORKER_SECONDS = 5


def _same_month(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two histories of one handoff are the same but for the worker's moment."""
    if len(a) != len(b):
        return False
    for (outcome_a, *seconds_a, csat_a), (outcome_b, *seconds_b, csat_b) in zip(a, b, strict=True):
        if (outcome_a, csat_a) != (outcome_b, csat_b):
            return False
        for x, y in zip(seconds_a, seconds_b, strict=True):
            if (x is None) != (y is None) or (x is not None and abs(x - y) > _WORKER_SECONDS):
                return False
    return True


def test_quick_runs_the_short_loop_over_the_examples() -> None:
    result = CliRunner().invoke(
        app, ["demo", "--quick", "--examples", str(EXAMPLES), "--mappings", str(MAPPINGS)]
    )
    assert result.exit_code == 0, result.output
    desks = [plugin for plugin in registry() if plugin.has_sandbox]
    posted = f"Posted {8 * len(desks)} handoffs to POST /v1/handoffs → [202]"
    assert posted in " ".join(result.output.split())
    for plugin in desks:  # every sandboxed platform got the eight examples
        assert f"Outcomes in {plugin.title}" in result.output
    assert "Playing" not in result.output
