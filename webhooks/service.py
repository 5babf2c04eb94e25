"""The service as a library: :func:`build_service` and what it needs.

:func:`build_service` is the seam everything that runs the service goes through (``baton
serve``, the embedded default, tests, benchmarks): it takes the settings, an open store and
optionally ready-made connectors (``--sandbox`` passes connectors pointed at local sandboxes)
and extra background jobs (the delivery worker), and returns the app with everything it will
start. Without ready-made connectors, a platform is enabled when any ``BATON_<PLATFORM>_*``
variable is set; its mapping and connector must then load, or ConfigError says why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fastapi import FastAPI

from baton.connectors.base import configured_connector
from baton.core.callback_sender import CallbackSender, CallbackSettings
from baton.core.database import open_store
from baton.core.errors import ConfigError, NotConfigured
from baton.core.inbox import InboxProcessor
from baton.core.plugin import registry
from baton.core.ports import Connector, WebhookSource
from baton.core.store import Store
from baton.webhooks.app import BackgroundJob, create_app
from baton.webhooks.intake import load_redactor
from baton.webhooks.observability import Metrics, event
from baton.webhooks.settings import ServiceSettings

log = logging.getLogger(__name__)

__all__ = [
    "Service",
    "build_service",
    "enabled_connectors",
    "open_store",
    "service_with_worker",
]


@dataclass
class Service:
    """What ``baton serve`` runs: the app and everything its lifespan starts."""

    app: FastAPI
    store: Store
    settings: ServiceSettings
    connectors: dict[str, Connector]
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
) -> dict[str, Connector]:
    """A connector for each platform with settings in ``env`` (default: the environment).

    A platform with no ``BATON_<PLATFORM>_*`` variable is not enabled; one with some set must
    build (ConfigError names what is wrong).
    """
    env = os.environ if env is None else env
    connectors: dict[str, Connector] = {}
    for platform in registry().names:
        try:
            connectors[platform] = configured_connector(platform, settings.mappings_dir, env)
        except NotConfigured:
            event(log, logging.INFO, "platform.disabled", platform=platform, reason="no settings")
            continue
        event(log, logging.INFO, "platform.enabled", platform=platform)
    return connectors


def build_service(
    settings: ServiceSettings,
    store: Store,
    *,
    connectors: Mapping[str, Connector] | None = None,
    jobs: Sequence[BackgroundJob] = (),
    env: Mapping[str, str] | None = None,
    metrics: Metrics | None = None,
) -> Service:
    """The app over ``store`` with the inbox processor and ``jobs`` as background jobs.

    ``connectors`` (e.g. pointed at sandboxes) replace those built from ``env``. ``jobs``
    (e.g. the delivery worker) start after the inbox processor and stop before it.
    ``metrics`` is what ``/metrics`` serves (default: new): build delivery workers on its
    ``metrics.delivery`` so their counts show there. With ``BATON_CALLBACK_URL`` set the
    store writes the callback outbox and a callback sender runs beside the other jobs.
    Raises ConfigError when no platform is enabled or a mapping or connector cannot load.
    """
    enabled = enabled_connectors(settings, env) if connectors is None else dict(connectors)
    if not enabled:
        raise ConfigError(
            "no platform is enabled: set the BATON_<PLATFORM>_* credentials of at least one "
            f"of {', '.join(registry().names)}"
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
    callbacks = CallbackSettings.from_env(os.environ if env is None else env)
    if callbacks is not None:
        store.callbacks_enabled = True
        jobs = [*jobs, CallbackSender(store, callbacks)]
    redactor = load_redactor(settings.mappings_dir)
    store.reply_redactor = redactor  # replies are masked like everything else leaving Baton
    inbox = InboxProcessor(
        store, sources, retention_days=settings.inbox_retention_days, counter=metrics.inbox
    )
    background: list[BackgroundJob] = [inbox, *jobs]
    app = create_app(
        store,
        sources,
        settings,
        background=background,
        redactor=redactor,
        metrics=metrics,
    )
    return Service(app, store, settings, enabled, inbox, metrics, background)


def service_with_worker(settings: ServiceSettings, store: Store) -> Service:
    """``baton serve``'s service with an in-process delivery worker for the platforms enabled
    in the environment (retrying by :func:`~webhooks.settings.worker_policy`), recording into
    the registry ``/metrics`` serves."""
    from baton.core.delivery import BackgroundJob as DeliveryJob
    from baton.core.delivery import delivery_workers
    from baton.webhooks.settings import worker_policy

    policy = worker_policy()
    connectors = enabled_connectors(settings)
    metrics = Metrics()
    workers = delivery_workers(
        store, dict(connectors.items()), policy=policy, metrics=metrics.delivery
    )
    return build_service(
        settings, store, connectors=connectors, jobs=[DeliveryJob(workers)], metrics=metrics
    )
