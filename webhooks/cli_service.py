"""``baton serve``: the HTTP service with its background jobs.

:func:`build_service` is the seam everything that runs the service goes through: it takes the
settings, an open store and optionally ready-made connectors (``--sandbox`` passes connectors
pointed at local sandboxes) and extra background jobs (the delivery worker), and returns the
app with everything it will start. Without ready-made connectors, a platform is enabled when
any ``BATON_<PLATFORM>_*`` variable is set; its mapping and connector must then load, or the
command stops with exit code 2.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from baton.connectors.base import Connector, connector_for, has_settings
from baton.core.cli import bad_input_exits_2
from baton.core.errors import ConfigError, StoreUnavailable
from baton.core.handoff import PLATFORMS, Platform
from baton.core.mapping import load_mapping
from baton.core.ports import WebhookSource
from baton.core.settings import database_url, masked_url
from baton.core.store import Store
from baton.webhooks.app import BackgroundJob, create_app
from baton.webhooks.inbox import InboxProcessor
from baton.webhooks.intake import load_redactor
from baton.webhooks.observability import Metrics, configure_logging, describe, event
from baton.webhooks.settings import ENV_NAMES, ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class Service:
    """What ``baton serve`` runs: the app and everything its lifespan starts."""

    app: FastAPI
    store: Store
    settings: ServiceSettings
    connectors: dict[Platform, Connector]
    inbox: InboxProcessor
    metrics: Metrics
    jobs: list[BackgroundJob] = field(default_factory=list)

    def close(self) -> None:
        """Release the connectors and the store (after the app has stopped)."""
        for connector in self.connectors.values():
            connector.close()
        self.store.close()


def enabled_connectors(
    settings: ServiceSettings, env: Mapping[str, str] | None = None
) -> dict[Platform, Connector]:
    """A connector for each platform with settings in ``env`` (default: the environment).

    A platform with no ``BATON_<PLATFORM>_*`` variable is not enabled; one with some set must
    build (ConfigError names what is wrong).
    """
    env = os.environ if env is None else env
    connectors: dict[Platform, Connector] = {}
    for platform in PLATFORMS:
        if not has_settings(platform, env):
            event(log, logging.INFO, "platform.disabled", platform=platform, reason="no settings")
            continue
        mapping = load_mapping(settings.mappings_dir, platform)
        connectors[platform] = connector_for(platform, mapping, env)
        event(log, logging.INFO, "platform.enabled", platform=platform)
    return connectors


def build_service(
    settings: ServiceSettings,
    store: Store,
    *,
    connectors: Mapping[Platform, Connector] | None = None,
    jobs: Sequence[BackgroundJob] = (),
    env: Mapping[str, str] | None = None,
    metrics: Metrics | None = None,
) -> Service:
    """The app over ``store`` with the inbox processor and ``jobs`` as background jobs.

    ``connectors`` (e.g. pointed at sandboxes) replace those built from ``env``. ``jobs``
    (e.g. the delivery worker) start after the inbox processor and stop before it.
    ``metrics`` is what ``/metrics`` serves (default: new): build delivery workers on its
    ``metrics.delivery`` so their counts show there.
    Raises ConfigError when no platform is enabled or a mapping or connector cannot load.
    """
    enabled = enabled_connectors(settings, env) if connectors is None else dict(connectors)
    if not enabled:
        raise ConfigError(
            "no platform is enabled: set the BATON_<PLATFORM>_* credentials of at least one "
            f"of {', '.join(PLATFORMS)}"
        )
    if settings.default_platform not in enabled:
        event(
            log,
            logging.WARNING,
            "platform.default_disabled",
            platform=settings.default_platform,
            effect="handoffs without destination are refused",
        )
    sources: dict[str, WebhookSource] = dict(enabled.items())
    metrics = metrics if metrics is not None else Metrics()
    inbox = InboxProcessor(
        store, sources, retention_days=settings.inbox_retention_days, metrics=metrics
    )
    background: list[BackgroundJob] = [inbox, *jobs]
    app = create_app(
        store,
        sources,
        settings,
        background=background,
        redactor=load_redactor(settings.mappings_dir),
        metrics=metrics,
    )
    return Service(app, store, settings, enabled, inbox, metrics, background)


def open_store(url: str | None = None) -> Store:
    """The store at ``url`` (default ``BATON_DATABASE_URL``), migrated to the newest schema.

    An unreachable database is StoreUnavailable, with the URL's password masked.
    """
    url = url or database_url()
    store = Store(url)
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        store.close()
        raise StoreUnavailable(f"cannot reach {masked_url(url)}: {describe(exc)}") from None
    return store


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
        sandbox_port: Annotated[
            int, typer.Option(help="Zendesk sandbox port with --sandbox.", min=1, max=65535)
        ] = 8601,
    ) -> None:
        """Run the HTTP service: handoff intake, webhook receivers, health and metrics."""
        configure_logging()
        if sandbox:
            _serve_embedded(host, port, sandbox_port)
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


def service_with_worker(settings: ServiceSettings, store: Store) -> Service:
    """``baton serve``'s service with an in-process delivery worker for the platforms enabled
    in the environment, recording into the registry ``/metrics`` serves."""
    from baton.core.delivery import BackgroundJob as DeliveryJob
    from baton.core.delivery import delivery_workers

    connectors = enabled_connectors(settings)
    metrics = Metrics()
    workers = delivery_workers(store, dict(connectors.items()), metrics=metrics.delivery)
    return build_service(
        settings, store, connectors=connectors, jobs=[DeliveryJob(workers)], metrics=metrics
    )


def _serve_embedded(host: str, port: int, sandbox_port: int) -> None:
    from rich.console import Console

    from baton.webhooks.embedded import build_embedded

    settings = ServiceSettings.from_env()
    public_url = f"http://{host}:{port}"
    store = open_store()
    try:
        embedded = build_embedded(
            store, settings.mappings_dir, public_url=public_url, sandbox_port=sandbox_port
        )
    except BaseException:
        store.close()
        raise
    console = Console(stderr=True, highlight=False)
    console.print(f"Zendesk sandbox  {embedded.zendesk.sandbox.base_url}")
    console.print(f"Baton service    {public_url}   (OpenAPI: {public_url}/docs)")
    console.print(f"Database         {masked_url(database_url())}")
    console.print(f"Mappings         {settings.mappings_dir}")
    if not os.environ.get("BATON_API_KEYS"):
        console.print(f"API key          {embedded.api_key}   (made for this run)")
    console.print(
        f"Post a handoff:  curl -H 'Authorization: Bearer <key>' -H 'Content-Type: "
        f"application/json' --data @examples/handoffs/01-vip-refund-dispute.json "
        f"{public_url}/v1/handoffs"
    )
    try:
        uvicorn.run(embedded.service.app, host=host, port=port, log_config=None, access_log=False)
    finally:
        embedded.close()
