"""The whole ``baton`` command: core's commands plus those that need connectors or the service.

Commands live next to what they drive; this module only assembles them, so that ``core``
never imports the layers above it.
"""

from __future__ import annotations

from core.cli import app
from webhooks import cli_catalog, cli_jobs, cli_service

for _module in (cli_catalog, cli_jobs, cli_service):
    _module.register(app)

__all__ = ["app"]
