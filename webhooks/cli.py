"""The whole ``baton`` command: the engine's commands (:mod:`baton.webhooks.cli_core`) plus those
that need connectors or the service. This module only assembles them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from baton.webhooks import (
    cli_backfill,
    cli_callbacks,
    cli_catalog,
    cli_handoff,
    cli_inbox,
    cli_jobs,
    cli_mcp,
    cli_report,
    cli_service,
    cli_volume,
)
from baton.webhooks.cli_core import (
    ExamplesDir,
    MappingsDir,
    app,
    bad_input_exits_2,
    examples_folder,
    mappings_folder,
    out,
)

for _module in (
    cli_backfill,
    cli_callbacks,
    cli_catalog,
    cli_handoff,
    cli_inbox,
    cli_jobs,
    cli_mcp,
    cli_report,
    cli_service,
    cli_volume,
):
    _module.register(app)


@app.command("demo")
@bad_input_exits_2
def demo(
    examples: ExamplesDir = None,
    mappings: MappingsDir = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="The short loop: the examples, a few agent actions, webhooks, sync."
        ),
    ] = False,
) -> None:
    """Run the whole loop on the embedded default: sandbox, service, worker, webhooks, sync.

    By default it plays a month of handoffs on the sandbox's clock and ends with the learning
    report; ``--quick`` runs the short loop over the example handoffs.
    """
    from baton.webhooks.demo import run_demo

    run_demo(examples_folder(examples), mappings_folder(mappings), out, quick=quick)


__all__ = ["app"]
