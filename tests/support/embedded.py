"""A running embedded Baton (service, delivery worker and every sandbox) on free ports, for the
tests that drive it from outside over HTTP: ``baton mcp`` and the agent recipes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from baton.core.store import Store
from baton.sandbox.server import serve_in_thread
from baton.webhooks.embedded import EmbeddedBaton, build_embedded, free_port
from tests.support.paths import MAPPINGS


@dataclass(frozen=True)
class RunningBaton:
    """The embedded service's URL and the sandbox Zendesk behind it."""

    url: str
    embedded: EmbeddedBaton

    @property
    def zendesk_url(self) -> str:
        """The sandbox Zendesk's base URL (its API and its ``/_sandbox/`` control API)."""
        return str(self.embedded.sandboxes.running["zendesk"].base_url)

    def zendesk_tickets(self, external_id: str) -> list[dict[str, Any]]:
        """The sandbox Zendesk's tickets whose external_id is ``external_id`` (a handoff id)."""
        env = self.embedded.sandboxes.running["zendesk"].env
        login = f"{env['BATON_ZENDESK_EMAIL']}/token:{env['BATON_ZENDESK_TOKEN']}"
        auth = "Basic " + base64.b64encode(login.encode()).decode()
        response = httpx.get(
            f"{self.zendesk_url}/api/v2/tickets.json",
            params={"external_id": external_id},
            headers={"Authorization": auth},
            timeout=5,
        )
        response.raise_for_status()
        tickets: list[dict[str, Any]] = response.json()["tickets"]
        return tickets


@contextmanager
def running_embedded(
    folder: Path, api_key: str, env: Mapping[str, str] | None = None
) -> Iterator[RunningBaton]:
    """The embedded default on a SQLite file in ``folder``, tickets going to the sandbox
    Zendesk, ``api_key`` accepted; ``env``: more settings (``BATON_CALLBACK_URL`` …)."""
    store = Store(f"sqlite:///{folder / 'baton.db'}")
    store.migrate()
    port = free_port()
    embedded = build_embedded(
        store,
        MAPPINGS,
        public_url=f"http://127.0.0.1:{port}",
        env={"BATON_API_KEYS": api_key, "BATON_DEFAULT_PLATFORM": "zendesk", **(env or {})},
    )
    server = serve_in_thread(embedded.service.app, port=port, lifespan="on")
    try:
        yield RunningBaton(f"http://127.0.0.1:{port}", embedded)
    finally:
        server.stop()
        embedded.close()
        store.close()
