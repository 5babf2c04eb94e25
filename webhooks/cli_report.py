"""``baton report``: what became of the escalations, from the store (see core.learning).

Terminal tables, worst rows first, each with a one-line reading; ``--json`` writes the same
numbers as a document whose JSON Schema ``baton schema report`` prints; ``--html FILE`` writes
them as one self-contained page of charts and tables (core/learning/page.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, TextIO

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
from baton.webhooks.report_terminal import print_report

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
        str,
        typer.Option(
            "--format",
            help="jsonl (one JSON record a line), csv, or parquet (needs --output and the "
            "optional extra: pip install 'baton-handoff[parquet]').",
        ),
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
    if file_format not in (*writers, "parquet"):
        raise BatonError(f"--format: {file_format!r} is not one of jsonl, csv, parquet")
    if file_format == "parquet" and output is None:
        raise BatonError("--format parquet needs --output FILE (Parquet is not written to a pipe)")
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    slas = slas_in(mappings_folder(mappings))
    store = open_store()
    written = 0
    try:
        found = escalations(store, since=start, until=end, platform=platform)
        records = feedback_records(found, now=datetime.now(UTC), slas=slas)
        if file_format == "parquet" and output is not None:
            from baton.core.learning.feedback_parquet import write_parquet

            written = write_parquet(records, output)
        else:
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
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the report as one self-contained HTML page with charts (opens offline).",
        ),
    ] = None,
    mappings: MappingsDir = None,
) -> None:
    """Print the learning report."""
    from baton.core.database import open_store
    from baton.core.errors import BatonError
    from baton.core.learning.assemble import MappingFacts, stored_report
    from baton.core.learning.page import CHART_DIMENSIONS, report_html
    from baton.core.learning.report import report_document

    if period not in (None, "day", "week"):
        raise BatonError(f"--period: {period!r} is not 'day' or 'week'")
    if html is not None and as_json:
        raise BatonError("--html: choose --html FILE or --json, not both (run twice for both)")
    if html is not None and period is not None:
        raise BatonError("--html: the page charts the whole range (and each week); drop --period")
    chosen: Literal["day", "week"] | None = (
        "day" if period == "day" else ("week" if period == "week" else None)
    )
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    dimensions = [d.strip() for d in by.split(",") if d.strip()]
    if html is not None:  # the page's charts need these, whatever --by says
        dimensions = list(dict.fromkeys([*dimensions, *CHART_DIMENSIONS]))
    facts = MappingFacts.load(mappings_folder(mappings))
    store = open_store()
    try:
        result = stored_report(
            store,
            facts,
            now=datetime.now(UTC),
            dimensions=dimensions,
            period=chosen,
            since=start,
            until=end,
            platform=platform,
        )
    except ValueError as exc:
        raise BatonError(f"--by: {exc}") from None
    finally:
        store.close()
    if html is not None:
        try:
            html.write_text(report_html(result), encoding="utf-8")
        except OSError as exc:
            raise BatonError(f"--html: cannot write {html}: {exc.strerror or exc}") from None
        err.print(f"wrote the report page to {html}", highlight=False, soft_wrap=True)
        return
    if as_json:
        sys.stdout.write(json.dumps(report_document(result), indent=2, ensure_ascii=False) + "\n")
        return
    print_report(result, out)
