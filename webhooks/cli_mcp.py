"""``baton mcp``: Baton's escalation tool for MCP hosts (:mod:`baton.webhooks.mcp_server`).

It talks to a running Baton service: ``BATON_URL`` (default ``http://127.0.0.1:8600``, where
``baton serve`` listens) and ``BATON_API_KEY``, one of the service's ``BATON_API_KEYS``. The key
is read from the environment (or ``.env``) only, never from an option a process list shows.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

import typer

from baton.core.errors import ConfigError
from baton.webhooks.cli_core import MappingsDir, bad_input_exits_2, mappings_folder

URL_ENV = "BATON_URL"
API_KEY_ENV = "BATON_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8600"
DEFAULT_MCP_PORT = 8700


class McpTransport(StrEnum):
    """How an MCP host reaches the server."""

    stdio = "stdio"
    http = "http"


def register(app: typer.Typer) -> None:
    """Add ``baton mcp`` to ``app``."""

    @app.command("mcp")
    @bad_input_exits_2
    def mcp(
        transport: Annotated[
            McpTransport,
            typer.Option(help="stdio (the host starts this command) or streamable HTTP."),
        ] = McpTransport.stdio,
        host: Annotated[str, typer.Option(help="Interface to listen on (http).")] = "127.0.0.1",
        port: Annotated[
            int, typer.Option(help="Port to listen on (http); MCP is at /mcp.", min=1, max=65535)
        ] = DEFAULT_MCP_PORT,
        url: Annotated[
            str, typer.Option("--url", envvar=URL_ENV, help="The Baton service's base URL.")
        ] = DEFAULT_URL,
        ticket_wait: Annotated[
            float,
            typer.Option(
                help="Seconds escalate_to_human waits for the ticket link.", min=0, max=60
            ),
        ] = 5.0,
        mappings: MappingsDir = None,
    ) -> None:
        """Serve the MCP tools escalate_to_human and handoff_status, and the escalation policy
        (from the mappings), over stdio or streamable HTTP."""
        import anyio

        from baton.webhooks.mcp_policy import load_policy_mappings, policy_text
        from baton.webhooks.mcp_server import BatonMcp, serve_http, serve_stdio
        from baton.webhooks.settings import MIN_API_KEY_CHARS

        base_url = _checked_url(url)
        api_key = os.environ.get(API_KEY_ENV, "").strip()
        if len(api_key) < MIN_API_KEY_CHARS:
            raise ConfigError(
                f"{API_KEY_ENV}: set it to one of the service's BATON_API_KEYS "
                f"(at least {MIN_API_KEY_CHARS} characters)"
            )
        policy = policy_text(load_policy_mappings(mappings_folder(mappings)))
        baton = BatonMcp(base_url, api_key, policy, ticket_wait=ticket_wait)
        if transport is McpTransport.stdio:
            anyio.run(serve_stdio, baton)
        else:
            serve_http(baton, host, port)


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{URL_ENV}: must be an absolute http(s) URL such as {DEFAULT_URL}")
    return url.strip().rstrip("/")
