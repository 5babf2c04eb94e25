"""``baton volume``: the agent's conversation volume per day, for containment in the report.

``baton volume import FILE.csv`` stores the figures of a CSV file (header
``date,channel,conversations``; ``channel`` empty for all channels), all or none: every bad
cell is reported by line and column before anything is stored. ``baton volume list`` shows
what is stored. The service takes the same figures one at a time on ``POST /v1/volume``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from baton.core.times import parse_time
from baton.webhooks.cli_core import bad_input_exits_2, err, out

volume_app = typer.Typer(help="The agent's conversation volume per day: containment's denominator.")


def register(app: typer.Typer) -> None:
    """Add ``baton volume import`` and ``baton volume list`` to ``app``."""
    app.add_typer(volume_app, name="volume")


@volume_app.command("import")
@bad_input_exits_2
def import_volume(
    file: Annotated[Path, typer.Argument(help="CSV with the header date,channel,conversations.")],
) -> None:
    """Store each day's figure; a figure for a date and channel already stored is replaced."""
    from baton.core.database import open_store
    from baton.core.errors import BatonError
    from baton.core.volume import read_volume_csv, record_volume

    if not file.is_file():
        raise BatonError(f"{file}: file not found")
    figures = read_volume_csv(file)
    store = open_store()
    try:
        written = record_volume(store, figures)
    finally:
        store.close()
    counts = Counter(w.written for w in written)
    err.print(
        f"{file.name}: {len(written)} figure(s): {counts['created']} new, "
        f"{counts['replaced']} replaced, {counts['unchanged']} unchanged",
        highlight=False,
    )


@volume_app.command("list")
@bad_input_exits_2
def list_volume(
    since: Annotated[
        str | None, typer.Option(help="From this day (YYYY-MM-DD or ISO-8601).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this moment.")] = None,
) -> None:
    """The stored figures, one line per day and channel."""
    from baton.core.database import open_store
    from baton.core.volume import days_of, volume_between

    first, last = days_of(parse_time(since, "--since"), parse_time(until, "--until"))
    store = open_store()
    try:
        figures = volume_between(store, first, last)
    finally:
        store.close()
    if not figures:
        out.print("No volume stored in this range.")
        return
    for figure in figures:
        out.print(
            f"{figure.date.isoformat()}  {figure.channel or '(all)':<7} {figure.conversations:>9}",
            highlight=False,
        )
