"""``baton backfill --platform P FILE.jsonl``: many handoffs at once (see core/backfill.py).

Each line goes through the intake path; the tickets are made through the platform's bulk
endpoints where its connector has them. A rerun of the same file creates nothing new. Exit 0
when every line became a ticket (or already had one), 1 when some lines were invalid or
conflicting or some tickets were left to the worker, 2 for bad input or configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from baton.webhooks.cli_core import (
    MappingsDir,
    PlatformName,
    bad_input_exits_2,
    err,
    mappings_folder,
    out,
)

if TYPE_CHECKING:
    from baton.core.backfill import BackfillSummary

SHOWN_PROBLEMS = 10


def register(app: typer.Typer) -> None:
    """Add ``baton backfill`` to ``app``."""
    app.command("backfill")(backfill)


@bad_input_exits_2
def backfill(
    file: Annotated[Path, typer.Argument(help="One handoff JSON per line (JSON Lines).")],
    platform: PlatformName,
    chunk: Annotated[
        int | None,
        typer.Option(min=1, help="Handoffs per platform call (default: the bulk endpoint's max)."),
    ] = None,
    mappings: MappingsDir = None,
) -> None:
    """Create the tickets of many handoffs, each through the intake path, in bulk."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from baton.connectors.base import configured_connector
    from baton.core.accept import HandoffGate
    from baton.core.backfill import Backfill, numbered_lines
    from baton.core.database import open_store
    from baton.core.delivery import default_owner
    from baton.core.errors import BatonError
    from baton.webhooks.intake import load_redactor

    if not file.is_file():
        raise BatonError(f"{file}: file not found")
    total = sum(1 for line in file.open(encoding="utf-8") if line.strip())
    folder = mappings_folder(mappings)
    connector = configured_connector(platform, folder)
    store = open_store()
    try:
        gate = HandoffGate(store, load_redactor(folder), frozenset({platform}), platform)
        job = Backfill(store, gate, connector, owner=f"backfill:{default_owner()}", chunk=chunk)
        with (
            file.open(encoding="utf-8") as lines,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task(f"backfill {platform}", total=total)
            summary = job.run(numbered_lines(lines), lambda n: progress.advance(task, n))
    finally:
        store.close()
        connector.close()
    _print(summary, file.name)
    if summary.invalid or summary.conflicts or summary.left_to_worker:
        raise typer.Exit(1)


def _print(summary: BackfillSummary, name: str) -> None:
    out.print(
        f"{name}: {summary.lines} handoff(s): {summary.accepted} new, {summary.existing} "
        f"already stored; {summary.tickets_created} ticket(s) created, "
        f"{summary.tickets_found} found from an earlier run",
        highlight=False,
    )
    for number, problems in summary.invalid[:SHOWN_PROBLEMS]:
        detail = "; ".join(str(p) for p in problems[:3])
        out.print(f"  line {number}: invalid: {detail}", highlight=False, markup=False)
    for number in summary.conflicts[:SHOWN_PROBLEMS]:
        out.print(f"  line {number}: another handoff with this id is stored", highlight=False)
    hidden = len(summary.invalid) + len(summary.conflicts) - 2 * SHOWN_PROBLEMS
    if hidden > 0:
        out.print(f"  … and {hidden} more line(s)", highlight=False)
    if summary.left_to_worker:
        out.print(
            f"{len(summary.left_to_worker)} ticket(s) left to the worker (back in the outbox; "
            "`baton deliveries` shows them)",
            highlight=False,
        )
    if summary.held_elsewhere:
        out.print(f"{summary.held_elsewhere} handoff(s) were being delivered by a worker")
