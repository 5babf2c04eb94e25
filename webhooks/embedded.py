"""The embedded default: Baton wired to local platform sandboxes, with no credentials.

``baton serve --sandbox`` and ``baton demo`` run this: the Zendesk sandbox on 127.0.0.1, a
connector pointed at it, the HTTP service with its inbox processor and an in-process delivery
worker, and the sandbox sending its signed webhooks back to the service.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from baton.connectors.base import connector_for
from baton.core.catalog import load_catalog
from baton.core.delivery import BackgroundJob, delivery_workers
from baton.core.errors import ConfigError
from baton.core.mapping import load_mapping
from baton.core.store import Store
from baton.webhooks.observability import Metrics
from baton.webhooks.service import Service, build_service
from baton.webhooks.settings import ServiceSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from baton.sandbox.server import ZendeskSandbox

API_KEY_ENV = "BATON_API_KEYS"


@dataclass
class LocalZendesk:
    """A running Zendesk sandbox and the settings that point Baton at it."""

    sandbox: ZendeskSandbox
    signing_secret: str
    env: dict[str, str]

    def send_webhooks_to(self, url: str) -> None:
        """Subscribe ``url`` to the sandbox's signed event webhooks."""
        from baton.sandbox.zendesk import WebhookTarget

        self.sandbox.state.webhooks.add(WebhookTarget(url, self.signing_secret))

    def stop(self) -> None:
        """Stop serving and sending webhooks."""
        self.sandbox.stop()


def start_zendesk_sandbox(
    mappings: Path,
    *,
    port: int = 0,
    rate_limit: int = 700,
    clock: Callable[[], datetime] | None = None,
) -> LocalZendesk:
    """The Zendesk sandbox on 127.0.0.1:``port``, seeded from the shipped catalog."""
    from baton.sandbox.server import ZendeskSandbox
    from baton.sandbox.zendesk import ZendeskState, utcnow

    catalog = load_catalog(mappings / "catalogs" / "zendesk.json")
    state = ZendeskState.from_catalog(catalog, rate_limit=rate_limit, clock=clock or utcnow)
    try:
        sandbox = ZendeskSandbox(state, port=port).start()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = f"127.0.0.1:{port}"
        raise ConfigError(f"zendesk sandbox: cannot listen on {where} ({reason})") from None
    signing_secret = secrets.token_urlsafe(32)
    env = {**zendesk_env(sandbox), "BATON_ZENDESK_WEBHOOK_SECRETS": signing_secret}
    return LocalZendesk(sandbox, signing_secret, env)


def zendesk_env(sandbox: ZendeskSandbox) -> dict[str, str]:
    """The ``BATON_ZENDESK_*`` settings that point the connector at a running sandbox."""
    credentials = sandbox.credentials
    return {
        "BATON_ZENDESK_URL": sandbox.base_url,
        "BATON_ZENDESK_SUBDOMAIN": credentials["subdomain"],
        "BATON_ZENDESK_EMAIL": credentials["email"],
        "BATON_ZENDESK_TOKEN": credentials["token"],
    }


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class EmbeddedBaton:
    """Everything the embedded default runs; :meth:`close` stops it all."""

    zendesk: LocalZendesk
    service: Service
    api_key: str
    public_url: str

    def close(self) -> None:
        """Stop the sandbox, then release connectors and the store."""
        self.zendesk.stop()
        self.service.close()


def build_embedded(
    store: Store,
    mappings: Path,
    *,
    public_url: str,
    sandbox_port: int = 0,
    clock: Callable[[], datetime] | None = None,
    env: Mapping[str, str] | None = None,
    lease_seconds: float = 60,
) -> EmbeddedBaton:
    """The service over ``store`` with a Zendesk sandbox, a connector and a worker.

    An API key comes from ``BATON_API_KEYS`` when set, else a fresh one is made (print it).
    The app's lifespan starts the inbox processor and the worker; serve ``service.app``.
    """
    base = dict(os.environ if env is None else env)
    zendesk = start_zendesk_sandbox(mappings, port=sandbox_port, clock=clock)
    try:
        api_key = base.get(API_KEY_ENV, "").split(",")[0].strip() or secrets.token_urlsafe(24)
        settings_env = {
            **base,
            **zendesk.env,
            API_KEY_ENV: base.get(API_KEY_ENV) or api_key,
            "BATON_PUBLIC_URL": public_url,
            "BATON_MAPPINGS_DIR": str(mappings),
        }
        settings = ServiceSettings.from_env(settings_env)
        connector = connector_for("zendesk", load_mapping(mappings, "zendesk"), settings_env)
        metrics = Metrics()
        workers = delivery_workers(
            store, {"zendesk": connector}, lease_seconds=lease_seconds, metrics=metrics.delivery
        )
        worker = BackgroundJob(workers, poll_interval=0.2)
        service = build_service(
            settings, store, connectors={"zendesk": connector}, jobs=[worker], metrics=metrics
        )
    except BaseException:
        zendesk.stop()
        raise
    zendesk.send_webhooks_to(f"{public_url}/webhooks/zendesk")
    return EmbeddedBaton(zendesk, service, api_key, public_url)
