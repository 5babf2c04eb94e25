"""``baton callbacks``: the callback outbox to the agent platform — list it, retry dead ones.

Like ``baton deliveries`` for tickets: ``baton callbacks`` lists every event (``--failed``:
the dead ones), ``baton callbacks retry ID`` puts a dead one back, due now. The sender itself
runs inside ``baton serve`` when ``BATON_CALLBACK_URL`` is set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from baton.webhooks.cli_core import bad_input_exits_2, err, out

EXIT_BAD_INPUT = 2  # as every command exits on bad input

callbacks_app = typer.Typer(
    help="The callback outbox to the agent platform: list events, retry dead ones.",
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    """Add ``baton callbacks`` and ``baton callbacks retry`` to ``app``."""
    app.add_typer(callbacks_app, name="callbacks")


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@callbacks_app.callback(invoke_without_command=True)
@bad_input_exits_2
def callbacks(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only dead callbacks.")] = False,
) -> None:
    """List callbacks (id, handoff, order, event, state, attempts, next attempt, last error)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from baton.core.database import open_store

    store = open_store()
    try:
        rows = store.list_callbacks("dead" if failed else None)
    finally:
        store.close()
    if not rows:
        out.print("no failed callbacks" if failed else "no callbacks")
        return
    table = Table(title=f"{len(rows)} {'failed ' if failed else ''}callbacks", title_justify="left")
    for name in ("id", "handoff", "#", "event", "state", "attempts", "next attempt (UTC)"):
        table.add_column(name, overflow="fold")
    table.add_column("last error", overflow="fold", ratio=1)
    for row in rows:
        waiting = row.state in ("pending", "leased")
        table.add_row(
            str(row.id),
            row.handoff_id,
            str(row.seq),
            row.event_type,
            row.state,
            str(row.attempts),
            _when(row.next_attempt_at) if waiting else "—",
            row.last_error or "",
        )
    out.print(table)


@callbacks_app.command("retry")
@bad_input_exits_2
def retry(
    callback_id: Annotated[int, typer.Argument(metavar="ID", help="A dead callback's id.")],
) -> None:
    """Put a dead callback back in the queue, due now, with its attempts reset."""
    from baton.core.database import open_store

    store = open_store()
    try:
        requeued = store.requeue_callback(callback_id)
    finally:
        store.close()
    if requeued:
        out.print(f"callback {callback_id} requeued", highlight=False)
        return
    err.print(f"error: callback {callback_id} is not a dead callback", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)
