"""The whole ``baton`` command: the engine's commands (:mod:`baton.webhooks.cli_core`) plus those
that need connectors or the service. This module only assembles them.
"""

from __future__ import annotations

from baton.webhooks import cli_catalog, cli_jobs, cli_report, cli_service
from baton.webhooks.cli_core import (
    ExamplesDir,
    MappingsDir,
    app,
    bad_input_exits_2,
    examples_folder,
    mappings_folder,
    out,
)

for _module in (cli_catalog, cli_jobs, cli_report, cli_service):
    _module.register(app)


@app.command("demo")
@bad_input_exits_2
def demo(examples: ExamplesDir = None, mappings: MappingsDir = None) -> None:
    """Run the whole loop on the embedded default: sandbox, service, worker, webhooks, sync."""
    from baton.webhooks.demo import run_demo

    run_demo(examples_folder(examples), mappings_folder(mappings), out)


__all__ = ["app"]
