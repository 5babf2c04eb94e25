"""``baton serve``: the HTTP service with its background jobs (built by
:mod:`baton.webhooks.service`).

Only the command lives here, so that ``baton --help`` and the other commands do not pay for
importing the web framework, the store and the platform SDKs: they are imported when ``serve``
runs.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from baton.webhooks.cli_core import DEFAULT_BASE_PORT, SandboxPortsOption, bad_input_exits_2

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add ``baton serve`` to ``app``."""

    @app.command("serve")
    @bad_input_exits_2
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8600,
        worker: Annotated[
            bool,
            typer.Option(
                "--worker/--no-worker",
                help="Deliver handoffs in this process too (--no-worker: run `baton worker`).",
            ),
        ] = True,
        sandbox: Annotated[
            bool,
            typer.Option(
                "--sandbox",
                help="Embedded default: run the platform sandboxes here and point Baton at "
                "them (no credentials needed).",
            ),
        ] = False,
        sandbox_ports: SandboxPortsOption = str(DEFAULT_BASE_PORT),
    ) -> None:
        """Run the HTTP service: handoff intake, webhook receivers, health and metrics."""
        import uvicorn

        from baton.webhooks.observability import configure_logging, event
        from baton.webhooks.service import (
            build_service,
            open_store,
            service_with_worker,
        )
        from baton.webhooks.settings import ENV_NAMES, ServiceSettings

        configure_logging()
        if sandbox:
            _serve_embedded(host, port, sandbox_ports)
            return
        settings = ServiceSettings.from_env()
        event(log, logging.INFO, "settings.mappings", folder=settings.mappings_dir)
        if not os.environ.get(ENV_NAMES["public_url"], "").strip():
            event(
                log,
                logging.WARNING,
                "settings.default_public_url",
                public_url=settings.public_url,
                effect="signatures that cover the URL only verify for this address",
            )
        store = open_store()
        try:
            service = (
                service_with_worker(settings, store) if worker else build_service(settings, store)
            )
        except BaseException:
            store.close()
            raise
        try:
            uvicorn.run(service.app, host=host, port=port, log_config=None, access_log=False)
        finally:
            service.close()


def _serve_embedded(host: str, port: int, sandbox_ports: str) -> None:
    import uvicorn
    from rich.console import Console

    from baton.core.packaged import choose_examples
    from baton.core.settings import database_url, masked_url
    from baton.webhooks.embedded import build_embedded
    from baton.webhooks.sandboxes import parse_sandbox_ports
    from baton.webhooks.service import open_store
    from baton.webhooks.settings import ServiceSettings

    settings = ServiceSettings.from_env()
    ports = parse_sandbox_ports(sandbox_ports)
    public_url = f"http://{host}:{port}"
    store = open_store()
    try:
        embedded = build_embedded(
            store, settings.mappings_dir, public_url=public_url, sandbox_ports=ports
        )
    except BaseException:
        store.close()
        raise
    console = Console(stderr=True, highlight=False)
    for name, box in embedded.sandboxes.running.items():
        console.print(f"{name + ' sandbox':<17}{box.base_url}")
    console.print(f"Baton service    {public_url}   (OpenAPI: {public_url}/docs)")
    console.print(f"Database         {masked_url(database_url())}")
    console.print(f"Mappings         {settings.mappings_dir}")
    if not os.environ.get("BATON_API_KEYS"):
        console.print(f"API key          {embedded.api_key}   (made for this run)")
    example = choose_examples(None).path / "01-vip-refund-dispute.json"
    console.print(
        f"Post a handoff:  curl -H 'Authorization: Bearer <key>' -H 'Content-Type: "
        f"application/json' --data @{example} {public_url}/v1/handoffs"
    )
    try:
        uvicorn.run(embedded.service.app, host=host, port=port, log_config=None, access_log=False)
    finally:
        embedded.close()
