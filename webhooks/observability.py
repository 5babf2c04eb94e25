"""Metrics, one-line logs and the error descriptions that are safe to put in them.

Each app owns its :class:`Metrics` (its own Prometheus registry), so several apps in one
process — tests, a replica per thread — never collide. The delivery worker the service runs
records into the same registry (``Metrics.delivery``), so ``/metrics`` shows its counts too.
Logs are one line each, ``event key=value …``; bodies, secrets, API keys and transcript text
never go in them (RELIABILITY C2): callers pass ids, counts and short codes only.
"""

from __future__ import annotations

import logging
import sys

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from baton.core.delivery import DeliveryMetrics

WEBHOOK_RESULTS = (
    "verified",
    "duplicate",
    "unauthorized",
    "payload_error",
    "too_large",
    "unavailable",
    "bad_request",
)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_MAX_VALUE_CHARS = 200


class Metrics:
    """The service's Prometheus metrics, in a registry owned by one app.

    ``delivery`` holds the delivery worker's metrics on that registry: pass it to the
    service's workers (``delivery_workers(..., metrics=metrics.delivery)``).
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.handoffs = Counter(
            "baton_handoffs_received",
            "Handoff submissions by result (created, existing, conflict, invalid, "
            "unauthorized, unsupported_media_type, too_large, unavailable, unstorable).",
            ["result"],
            registry=self.registry,
        )
        self.normalisations = Counter(
            "baton_handoff_normalisations",
            "Unknown words in accepted handoffs taken as 'other', by field (channel, "
            "triggers, transcript).",
            ["field"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "baton_webhooks_received",
            "Webhook requests by platform and result (" + ", ".join(WEBHOOK_RESULTS) + ").",
            ["platform", "result"],
            registry=self.registry,
        )
        self.inbox = Counter(
            "baton_inbox_events",
            "Inbox events handled after the acknowledgement, by platform and result "
            "(processed; unlinked: about a ticket no handoff is linked to, e.g. one Baton did not "
            "make; failed).",
            ["platform", "result"],
            registry=self.registry,
        )
        self.webhook_seconds = Histogram(
            "baton_webhook_handling_seconds",
            "Time from the start of a webhook request to its answer.",
            ["platform"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.delivery = DeliveryMetrics(self.registry)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def _value(value: object) -> str:
    text = str(value)[:_MAX_VALUE_CHARS]
    if not text or any(c in text for c in ' "=\n\r\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'
    return text


def event(logger: logging.Logger, level: int, name: str, **fields: object) -> None:
    """Log one line ``name key=value …``. Pass ids, counts and codes, never payload text."""
    if logger.isEnabledFor(level):
        pairs = " ".join(f"{key}={_value(val)}" for key, val in fields.items())
        if pairs:
            logger.log(level, "%s %s", name, pairs, stacklevel=2)
        else:
            logger.log(level, "%s", name, stacklevel=2)


def describe(exc: BaseException) -> str:
    """A short, log-safe description of an exception.

    SQLAlchemy's own messages carry the statement's parameters (bodies, ids); only the class
    and the first line of the driver's message are kept.
    """
    origin = getattr(exc, "orig", None)
    detail = str(origin if origin is not None else exc).splitlines()
    first = detail[0][:_MAX_VALUE_CHARS] if detail else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def configure_logging(level: int | str = logging.INFO) -> None:
    """One-line logs on stderr (used by ``baton serve``); leaves logging alone when the
    process has already configured it."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
