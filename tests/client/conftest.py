"""Fixtures for the client tests: the embedded default (the service with its delivery worker,
and every platform's sandbox) served over real HTTP by uvicorn, once for the package.

``embedded`` gives a :class:`Served`: its ``url``, ``api_key``, and ``tickets_for(id)``, the
Zendesk sandbox's tickets whose ``external_id`` is a handoff id (what a person would see).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from baton.connectors.zendesk.local import LocalZendesk
from baton.core.store import Store
from baton.sandbox.server import serve_in_thread
from baton.sandbox.zendesk.model import Ticket
from baton.webhooks.embedded import EmbeddedBaton, build_embedded, free_port
from tests.support.paths import MAPPINGS

API_KEY = "client-tests-api-key-0123456789"


@dataclass
class Served:
    """The embedded default, served on 127.0.0.1."""

    baton: EmbeddedBaton
    url: str
    api_key: str = API_KEY

    def tickets_for(self, handoff_id: str) -> list[Ticket]:
        """The Zendesk sandbox's tickets made for ``handoff_id``."""
        local = self.baton.sandboxes.running["zendesk"]
        assert isinstance(local, LocalZendesk)
        return [t for t in local.sandbox.state.tickets.values() if t.external_id == handoff_id]


@pytest.fixture(scope="package")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The embedded default with its worker, served by uvicorn (lifespan on)."""
    folder: Path = tmp_path_factory.mktemp("client-embedded")
    store = Store(f"sqlite:///{folder / 'baton.db'}")
    store.migrate()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    baton = build_embedded(
        store, MAPPINGS, public_url=url, env={"BATON_API_KEYS": API_KEY}, lease_seconds=10
    )
    server = serve_in_thread(baton.service.app, port=port, lifespan="on")
    try:
        yield Served(baton, url)
    finally:
        server.stop()
        baton.close()
        store.close()
