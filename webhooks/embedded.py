"""The embedded default: Baton wired to local platform sandboxes, with no credentials.

``baton serve --sandbox`` and ``baton demo`` run this: every registered platform's sandbox
(:mod:`baton.webhooks.sandboxes`) on 127.0.0.1, a connector pointed at each, the HTTP service
with its inbox processor and an in-process delivery worker, and each sandbox sending its
signed webhooks back to the service.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from baton.connectors.base import connector_for
from baton.core.delivery import BackgroundJob, delivery_workers
from baton.core.mapping import load_mapping
from baton.core.ports import Connector
from baton.core.store import Store
from baton.webhooks.observability import Metrics
from baton.webhooks.sandboxes import (
    ANY_FREE,
    DEFAULT_RATE_LIMIT,
    RunningSandboxes,
    SandboxPorts,
    start_sandboxes,
)
from baton.webhooks.service import Service, build_service
from baton.webhooks.settings import ServiceSettings

API_KEY_ENV = "BATON_API_KEYS"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class EmbeddedBaton:
    """Everything the embedded default runs; :meth:`close` stops it all."""

    sandboxes: RunningSandboxes
    service: Service
    api_key: str
    public_url: str

    def close(self) -> None:
        """Stop the sandboxes, then release connectors and the store."""
        self.sandboxes.stop()
        self.service.close()


def build_embedded(
    store: Store,
    mappings: Path,
    *,
    public_url: str,
    sandbox_ports: SandboxPorts = ANY_FREE,
    clock: Callable[[], datetime] | None = None,
    env: Mapping[str, str] | None = None,
    lease_seconds: float = 60,
    sandbox_rate_limit: int = DEFAULT_RATE_LIMIT,
) -> EmbeddedBaton:
    """The service over ``store`` with every sandbox, a connector for each and a worker.

    An API key comes from ``BATON_API_KEYS`` when set, else a fresh one is made (print it).
    The app's lifespan starts the inbox processor and the worker; serve ``service.app``.
    ``sandbox_rate_limit``: each sandbox's requests per minute (of its own clock).
    """
    base = dict(os.environ if env is None else env)
    sandboxes = start_sandboxes(mappings, sandbox_ports, clock=clock, rate_limit=sandbox_rate_limit)
    try:
        api_key = base.get(API_KEY_ENV, "").split(",")[0].strip() or secrets.token_urlsafe(24)
        settings_env = {
            **base,
            **sandboxes.env,
            API_KEY_ENV: base.get(API_KEY_ENV) or api_key,
            "BATON_PUBLIC_URL": public_url,
            "BATON_MAPPINGS_DIR": str(mappings),
        }
        settings = ServiceSettings.from_env(settings_env)
        connectors: dict[str, Connector] = {
            name: connector_for(name, load_mapping(mappings, name), settings_env)
            for name in sandboxes.running
        }
        metrics = Metrics()
        workers = delivery_workers(
            store, dict(connectors), lease_seconds=lease_seconds, metrics=metrics.delivery
        )
        worker = BackgroundJob(workers, poll_interval=0.2)
        service = build_service(
            settings, store, connectors=connectors, jobs=[worker], metrics=metrics, env=settings_env
        )
    except BaseException:
        sandboxes.stop()
        raise
    for name, box in sandboxes.running.items():
        box.send_webhooks_to(settings.webhook_url(name))
    return EmbeddedBaton(sandboxes, service, api_key, public_url)
