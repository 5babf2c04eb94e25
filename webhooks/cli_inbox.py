"""``baton inbox``: the webhook events that did not become observations — list, put back.

Two kinds: an inbox event whose processing **failed** (the store or the connector refused its
slice after the ack; ``baton inbox retry ID`` puts it back for the inbox processor that runs in
``baton serve``), and a **quarantined** payload (signed but unreadable when it came;
``baton inbox retry --quarantined ID`` reads it again with the platform's connector, after an
upgrade that can, and moves its events into the inbox). Nothing here prints payload text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from baton.webhooks.cli_core import MappingsDir, bad_input_exits_2, err, mappings_folder, out

if TYPE_CHECKING:
    from baton.core.store import Store

EXIT_BAD_INPUT = 2

inbox_app = typer.Typer(
    help="Webhook events that failed or were quarantined: list them, put them back.",
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    """Add ``baton inbox`` and ``baton inbox retry`` to ``app``."""
    app.add_typer(inbox_app, name="inbox")


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@inbox_app.callback(invoke_without_command=True)
@bad_input_exits_2
def inbox(ctx: typer.Context) -> None:
    """List failed inbox events and quarantined payloads (kind, id, platform, event id,
    received, size, why)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from baton.core.database import open_store

    store = open_store()
    try:
        problems = store.inbox_problems()
    finally:
        store.close()
    if not problems:
        out.print("no failed or quarantined webhook events")
        return
    table = Table(title=f"{len(problems)} webhook events to look at", title_justify="left")
    for name in ("kind", "id", "platform", "event id", "received (UTC)", "bytes"):
        table.add_column(name, overflow="fold")
    table.add_column("why", overflow="fold", ratio=1)
    for problem in problems:
        table.add_row(
            problem.kind,
            str(problem.id),
            problem.platform,
            problem.event_id or "—",
            _when(problem.received_at),
            str(problem.size),
            problem.error,
        )
    out.print(table)


@inbox_app.command("retry")
@bad_input_exits_2
def retry(
    row_id: Annotated[int, typer.Argument(metavar="ID", help="The id `baton inbox` shows.")],
    quarantined: Annotated[
        bool,
        typer.Option(
            "--quarantined",
            help="ID is a quarantined payload: read it again and move its events to the inbox.",
        ),
    ] = False,
    mappings: MappingsDir = None,
) -> None:
    """Put a failed event back in the inbox, or (--quarantined) read a quarantined payload
    again with the platform's connector."""
    from baton.core.database import open_store

    store = open_store()
    try:
        if not quarantined:
            if store.requeue_inbound_event(row_id):
                out.print(f"inbox event {row_id} requeued", highlight=False)
                return
            err.print(f"error: {row_id} is not a failed inbox event", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT)
        _release(store, row_id, mappings)
    finally:
        store.close()


def _release(store: Store, row_id: int, mappings: Path | None) -> None:
    from baton.connectors.base import configured_connector
    from baton.core.errors import PayloadError
    from baton.core.inbox import inbox_body
    from baton.webhooks.receivers import checked_events

    kept = store.quarantined_payload(row_id)
    if kept is None:
        err.print(f"error: no quarantined payload {row_id}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    platform, body = kept
    connector = configured_connector(platform, mappings_folder(mappings))
    try:
        events = checked_events(connector.parse_webhook(body))
    except PayloadError as exc:
        err.print(f"error: payload {row_id} still does not read: {exc}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        connector.close()
    new = store.release_quarantined(row_id, [(e.event_id, inbox_body(e)) for e in events])
    out.print(
        f"quarantined payload {row_id}: {len(events)} events, {new} new in the inbox",
        highlight=False,
    )
