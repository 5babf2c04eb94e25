"""The whole ``baton`` command: core's commands plus those that need connectors or the service.

Commands live next to what they drive; this module only assembles them, so that ``core``
never imports the layers above it.
"""

from __future__ import annotations

from baton.core.cli import (
    ExamplesDir,
    MappingsDir,
    app,
    bad_input_exits_2,
    examples_folder,
    mappings_folder,
    out,
)
from baton.webhooks import cli_catalog, cli_jobs, cli_service

for _module in (cli_catalog, cli_jobs, cli_service):
    _module.register(app)


@app.command("demo")
@bad_input_exits_2
def demo(examples: ExamplesDir = None, mappings: MappingsDir = None) -> None:
    """Run the whole loop on the embedded default: sandbox, service, worker, webhooks, sync."""
    from baton.webhooks.demo import run_demo

    run_demo(examples_folder(examples), mappings_folder(mappings), out)


__all__ = ["app"]
