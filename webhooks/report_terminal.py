"""The learning report as terminal tables (``baton report``, and the end of ``baton demo``):
worst rows first, each dimension's worst rows read out in a line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.core.times import readable_duration

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from baton.core.learning.metrics import GroupMetrics
    from baton.core.learning.report import Report


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _duration(seconds: float | None) -> str:
    return readable_duration(seconds, compact=True)


def _cells(metrics: GroupMetrics) -> list[str]:
    reopened = None if metrics.durable_rate is None else 1 - metrics.durable_rate
    return [
        str(metrics.escalations),
        str(metrics.resolved),
        _pct(metrics.right_party_rate),
        _pct(metrics.quick_fix_rate),
        _pct(reopened),
        f"{_duration(metrics.first_response.median)}/{_duration(metrics.first_response.p90)}",
        f"{_duration(metrics.resolution.median)}/{_duration(metrics.resolution.p90)}",
        "—" if metrics.csat_mean is None else f"{metrics.csat_mean:.2f} ({metrics.csat_responses})",
    ]


# Short headings so that a table fits 80 columns; README's "The learning report" explains them.
_COLUMNS = ("n", "resolved", "right", "quick", "reopen", "reply p50/90", "fix p50/90", "CSAT")


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False
    )


def print_report(result: Report, out: Console) -> None:
    """The report as terminal tables on ``out``, worst rows first, with the readings."""
    if not result.total.escalations:
        out.print("No escalations in this range yet.")
        return
    total = _table("All escalations")
    for column in _COLUMNS:
        total.add_column(column, justify="right")
    total.add_row(*_cells(result.total))
    out.print(total)
    never = result.total.never_resolvable
    if never:
        out.print(f"{never} deleted or merged: left out of every rate.")
    out.print(containment_line(result), highlight=False)
    if result.value_unit is not None and result.total.value is not None:
        out.print(value_line(result.total, result.value_unit), highlight=False)
    for dimension, rows in result.dimensions.items():
        table = _table(f"By {dimension} (worst first)")
        table.add_column(dimension)
        if any(row.period for row in rows):
            table.add_column("period")
        for column in _COLUMNS:
            table.add_column(column, justify="right")
        for row in rows:
            lead = [row.value, row.period] if row.period else [row.value]
            table.add_row(*lead, *_cells(row.metrics))
        out.print(table)
        for row in rows[:3]:
            out.print(f"  {row.reading}", highlight=False, markup=False)
    if result.note:
        out.print(result.note, highlight=False)
    _print_sla(result, out)


def containment_line(result: Report) -> str:
    """One line on containment over the range: the rate and what it is made of, or unknown."""
    overall = next((c for c in result.containment if c.channel is None), None)
    if overall is None or overall.rate is None:
        return (
            "Containment: unknown (no conversation volume reported: "
            "POST /v1/volume or `baton volume import FILE.csv`)."
        )
    return (
        f"Containment: {overall.rate:.0%} ({overall.escalations} escalation(s) of "
        f"{overall.conversations:,} conversations on the {overall.days} day(s) with a volume)"
    )


def value_line(metrics: GroupMetrics, unit: str) -> str:
    """The value at stake and how much of it sits in each outcome, largest first."""
    parts = sorted(metrics.value_by_outcome.items(), key=lambda item: -item[1])
    spread = ", ".join(f"{value:,.0f} {outcome}" for outcome, value in parts)
    return (
        f"Value at stake: {metrics.value or 0:,.0f} {unit} on {metrics.value_carried} "
        f"handoff(s) ({spread})"
    )


def _print_sla(result: Report, out: Console) -> None:
    if not result.sla:
        out.print("SLA: no route with an `sla:` target has escalations in this range.")
        return
    table = _table("SLA attainment per route")
    for column in ("platform", "route", "target", "attained", "breached", "pending", "unmeasured"):
        table.add_column(column)
    for rule in result.sla:
        for kind, counts in rule.counts.items():
            row = [str(counts.get(v, 0)) for v in ("attained", "breached", "pending", "unmeasured")]
            table.add_row(rule.platform, rule.route, kind.replace("_", " "), *row)
    out.print(table)
    for breach in result.open_breaches[:10]:
        overdue = _duration(breach.overdue_seconds)
        what = breach.kind.replace("_", " ")
        out.print(
            f"  open breach: {breach.handoff_id} ({breach.route}) {what} overdue by {overdue}"
        )
