"""``baton report``: what became of the escalations, from the store (see core.learning).

Terminal tables, worst rows first, each with a one-line reading; ``--json`` writes the same
numbers as a document whose JSON Schema ``baton schema report`` prints.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TextIO

import typer

from baton.core.times import parse_time
from baton.webhooks.cli_core import (
    MappingsDir,
    OptionalPlatform,
    bad_input_exits_2,
    err,
    mappings_folder,
    out,
)

if TYPE_CHECKING:
    from rich.table import Table

    from baton.core.learning.metrics import GroupMetrics
    from baton.core.learning.report import Report

REPORT_HELP = """What became of the escalations: outcomes, response and resolution times, CSAT,
right-party, quick-fix and durable-resolution rates, per trigger, intent, route, group …

Computed from the store when it runs (BATON_DATABASE_URL); the definitions are in
core/learning/metrics.py. Rows are worst first: lowest right-party rate, then most reopened,
then slowest p90 resolution.
"""


def register(app: typer.Typer) -> None:
    """Add ``baton report`` and ``baton export feedback`` to ``app``."""
    app.command("report", help=REPORT_HELP)(report)
    export_app = typer.Typer(help="Export what Baton learned, for the agent's own tuning.")
    export_app.command("feedback")(feedback)
    app.add_typer(export_app, name="export")


@bad_input_exits_2
def feedback(
    since: Annotated[
        str | None, typer.Option(help="Handoffs created at or after (ISO-8601; UTC if no offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Handoffs created before.")] = None,
    platform: OptionalPlatform = None,
    file_format: Annotated[
        str, typer.Option("--format", help="jsonl (one JSON record a line) or csv.")
    ] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here instead of standard output.")
    ] = None,
    mappings: MappingsDir = None,
) -> None:
    """One record per handoff: the features the agent decided on and the outcome (with SLA
    verdicts). No transcript, summary or other free text. Schema: ``baton schema feedback``."""
    from baton.core.database import open_store
    from baton.core.errors import BatonError
    from baton.core.learning import escalations
    from baton.core.learning.feedback import as_csv, as_jsonl, feedback_records
    from baton.core.learning.sla import slas_in

    writers = {"jsonl": as_jsonl, "csv": as_csv}
    if file_format not in writers:
        raise BatonError(f"--format: {file_format!r} is not one of {', '.join(writers)}")
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    slas = slas_in(mappings_folder(mappings))
    store = open_store()
    written = 0
    try:
        found = escalations(store, since=start, until=end, platform=platform)
        records = feedback_records(found, now=datetime.now(UTC), slas=slas)
        with _sink(output) as sink:
            for chunk in writers[file_format](records):
                sink.write(chunk)
                written += 1
    finally:
        store.close()
    rows = written - 1 if file_format == "csv" else written
    where = output if output is not None else "standard output"
    err.print(f"exported {rows} handoff(s) as {file_format} to {where}", highlight=False)


@contextmanager
def _sink(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        yield handle


@bad_input_exits_2
def report(
    since: Annotated[
        str | None, typer.Option(help="Handoffs created at or after (ISO-8601; UTC if no offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Handoffs created before.")] = None,
    by: Annotated[
        str,
        typer.Option(
            help="Dimensions, comma-separated: trigger, intent, intent_family, route, group, "
            "platform, channel, language, tier, priority."
        ),
    ] = "trigger,intent,route,group",
    period: Annotated[
        str | None, typer.Option(help="Also split each dimension by 'day' or 'week'.")
    ] = None,
    platform: OptionalPlatform = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the report as JSON.")] = False,
    mappings: MappingsDir = None,
) -> None:
    """Print the learning report."""
    from baton.core.database import open_store
    from baton.core.errors import BatonError
    from baton.core.learning import escalations
    from baton.core.learning.report import build_report, report_document
    from baton.core.learning.sla import slas_in

    if period not in (None, "day", "week"):
        raise BatonError(f"--period: {period!r} is not 'day' or 'week'")
    chosen: Literal["day", "week"] | None = (
        "day" if period == "day" else ("week" if period == "week" else None)
    )
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    dimensions = [d.strip() for d in by.split(",") if d.strip()]
    slas = slas_in(mappings_folder(mappings))
    store = open_store()
    try:
        found = escalations(store, since=start, until=end, platform=platform)
        try:
            result = build_report(
                found,
                now=datetime.now(UTC),
                dimensions=dimensions,
                period=chosen,
                since=start,
                until=end,
                platform=platform,
                slas=slas,
            )
        except ValueError as exc:
            raise BatonError(f"--by: {exc}") from None
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(report_document(result), indent=2, ensure_ascii=False) + "\n")
        return
    _print(result)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f}m"
    hours = minutes / 60
    return f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f}d"


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


def _print(result: Report) -> None:
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
    _print_sla(result)


def _print_sla(result: Report) -> None:
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
