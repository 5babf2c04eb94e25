"""The service's ``/metrics`` shows what its delivery worker did: one registry for the app and
the in-process worker, whichever way the service is assembled (``baton serve`` with its worker,
or the embedded default), on SQLite and PostgreSQL.

A handoff goes in through ``POST /v1/handoffs``, the worker delivers it to the Zendesk sandbox
through the real connector, and the exposition text of ``GET /metrics`` counts that delivery.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton.connectors.zendesk.local import start_local_zendesk
from baton.core.catalog import load_catalog
from baton.core.store import Store
from baton.sandbox.server import RunningServer, serve_in_thread
from baton.webhooks.embedded import build_embedded, free_port
from baton.webhooks.service import Service, service_with_worker
from baton.webhooks.settings import ServiceSettings
from tests.support.paths import MAPPINGS, catalog_path

API_KEY = "metrics-test-api-key-0123456789"
WAIT_SECONDS = 15.0


@dataclass
class Running:
    """A served Baton service with its delivery worker, and its base URL."""

    service: Service
    base_url: str


def _serve(service: Service, port: int = 0) -> RunningServer:
    return serve_in_thread(service.app, port=port, lifespan="on")  # lifespan starts the worker


@contextmanager
def serve_with_worker(
    store: Store, settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Running]:
    """``baton serve``: the service with its worker, Zendesk enabled through the environment
    (pointed at a local sandbox)."""
    zendesk = start_local_zendesk(load_catalog(catalog_path("zendesk")))
    try:
        for name, value in zendesk.env.items():
            monkeypatch.setenv(name, value)
        service = service_with_worker(settings, store)
        server = _serve(service)
        try:
            yield Running(service, server.base_url)
        finally:
            server.stop()
            service.close()
    finally:
        zendesk.stop()


@contextmanager
def embedded(store: Store) -> Iterator[Running]:
    """``baton serve --sandbox``: the embedded default, sandbox webhooks coming back."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    baton = build_embedded(store, MAPPINGS, public_url=public_url, env={"BATON_API_KEYS": API_KEY})
    try:
        server = _serve(baton.service, port)
        try:
            yield Running(baton.service, public_url)
        finally:
            server.stop()
    finally:
        baton.close()


@pytest.fixture(params=["serve_with_worker", "embedded"])
def running(
    request: pytest.FixtureRequest,
    store: Store,
    service_settings: Callable[..., ServiceSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Running]:
    """The served service with its worker, assembled each way the service can be."""
    if request.param == "embedded":
        with embedded(store) as served:
            yield served
        return
    settings = service_settings(api_keys=(API_KEY,))
    with serve_with_worker(store, settings, monkeypatch) as served:
        yield served


def deliveries_total(exposition: str, platform: str, result: str) -> float | None:
    """The value of ``baton_deliveries_total{platform=…, result=…}`` in the text, if any."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "baton_deliveries_total" and sample.labels == {
                "platform": platform,
                "result": result,
            }:
                return float(sample.value)
    return None


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` for up to WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {WAIT_SECONDS} s"
        time.sleep(0.05)


def test_metrics_count_the_delivery_made_by_the_services_own_worker(
    running: Running, handoff_doc: Callable[..., dict[str, Any]]
) -> None:
    store = running.service.store
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=running.base_url, headers=headers, timeout=10) as client:
        before = client.get("/metrics").text
        assert deliveries_total(before, "zendesk", "delivered") is None

        posted = client.post("/v1/handoffs", json=handoff_doc("h-metrics"))
        assert posted.status_code == 202, posted.text
        wait_for(lambda: store.ticket_link("h-metrics") is not None, "delivery")
        [delivery] = store.list_deliveries()
        assert (delivery.state, delivery.attempts) == ("delivered", 1)

        # The counter is bumped right after the delivery commits: allow that instant.
        wait_for(
            lambda: (
                deliveries_total(client.get("/metrics").text, "zendesk", "delivered") is not None
            ),
            "delivered count in /metrics",
        )
        exposition = client.get("/metrics").text
    assert deliveries_total(exposition, "zendesk", "delivered") == 1.0
    assert 'baton_deliveries_total{platform="zendesk",result="delivered"} 1.0' in exposition
    for result in ("retried", "dead", "paused", "lease_lost"):
        assert deliveries_total(exposition, "zendesk", result) is None
