"""A running embedded Baton (sandboxes, service, worker) and ``baton mcp`` subprocesses that talk
to it over stdio with the MCP SDK's own client.

``running_baton`` is module-scoped: the tests of a module share one service and its sandboxes,
each test using conversations of its own.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.support.embedded import RunningBaton, running_embedded
from tests.support.paths import MAPPINGS, ROOT

API_KEY = "mcp-test-key-0123456789"
TICKET_WAIT = "15"  # seconds; the sandbox makes the ticket in well under one


@pytest.fixture(scope="module")
def running_baton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBaton]:
    """The embedded default on free ports, with ``API_KEY`` accepted."""
    with running_embedded(tmp_path_factory.mktemp("mcp"), API_KEY) as running:
        yield running


def mcp_parameters(url: str, api_key: str = API_KEY, *extra: str) -> StdioServerParameters:
    """How to start ``baton mcp`` over stdio against the service at ``url``."""
    env = {
        **os.environ,
        "BATON_URL": url,
        "BATON_API_KEY": api_key,
        "BATON_MAPPINGS_DIR": str(MAPPINGS),
    }
    return StdioServerParameters(
        command=sys.executable,
        args=["-c", "from baton.webhooks.cli import app; app()", "mcp", *extra],
        env=env,
        cwd=str(ROOT),
    )


@asynccontextmanager
async def mcp_client(url: str, *extra: str) -> AsyncIterator[Client]:
    """An MCP SDK client connected to a fresh ``baton mcp`` subprocess (one MCP session)."""
    async with Client(
        mcp_parameters(url, API_KEY, "--ticket-wait", TICKET_WAIT, *extra),
        read_timeout_seconds=30,
    ) as client:
        yield client


def example_arguments(path: Path) -> dict[str, Any]:
    """An example handoff as tool arguments: without ``id`` and ``created_at``."""
    document: dict[str, Any] = json.loads(path.read_text())
    document.pop("id")
    document.pop("created_at")
    return document
