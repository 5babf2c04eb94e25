"""Health, metrics, OpenAPI, settings, the app's lifespan and ``baton serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from baton.connectors import base
from baton.core.errors import ConfigError
from baton.webhooks import service
from baton.webhooks.app import create_app
from baton.webhooks.cli import app as cli_app
from baton.webhooks.service import build_service, enabled_connectors
from baton.webhooks.settings import ONE_MIB, ServiceSettings


def test_healthz_ok(harness: Any) -> None:
    """/healthz → 200 with the database reachable."""
    response = harness.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_metrics_count_results_and_latency(
    harness: Any, zendesk_event: Any, handoff_doc: Any, signer: Any
) -> None:
    """/metrics: Prometheus text with handoffs by result, webhooks by platform and result,
    inbox events, and the webhook latency histogram."""
    body = zendesk_event("evt-m")
    harness.post_event(body)
    harness.post_event(body)
    harness.post_event(body, secret="wrong")
    harness.post_event(b"unreadable")
    harness.post_event(b"x" * (ONE_MIB + 1))
    harness.post_handoff(handoff_doc("h-m"))
    harness.post_handoff(handoff_doc("h-m", priority="urgent"))
    harness.post_handoff(handoff_doc("h-m"), key=None)
    harness.inbox.counter = harness.app.state.metrics.inbox
    harness.inbox.drain()

    response = harness.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for result in ("verified", "duplicate", "unauthorized", "payload_error", "too_large"):
        assert f'baton_webhooks_received_total{{platform="zendesk",result="{result}"}} 1.0' in text
    for result in ("created", "conflict", "unauthorized"):
        assert f'baton_handoffs_received_total{{result="{result}"}} 1.0' in text
    # The event names a ticket no handoff is linked to: processed, counted apart.
    assert 'baton_inbox_events_total{platform="zendesk",result="unlinked"} 1.0' in text
    assert 'baton_webhook_handling_seconds_count{platform="zendesk"} 5.0' in text


def test_each_app_owns_its_registry(sqlite_store: Any, service_settings: Any) -> None:
    """Two apps in one process do not share (or collide on) metrics."""
    first = create_app(sqlite_store, {}, service_settings())
    second = create_app(sqlite_store, {}, service_settings())
    assert first.state.metrics.registry is not second.state.metrics.registry


def test_openapi_has_title_version_and_every_route(harness: Any) -> None:
    """OpenAPI at /openapi.json (docs at /docs) with a title, a description and a version."""
    spec = harness.client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Baton"
    assert spec["info"]["version"]
    assert "handoff" in spec["info"]["description"]
    assert set(spec["paths"]) == {
        "/v1/handoffs",
        "/v1/handoffs/{handoff_id}",
        "/webhooks/{platform}",
        "/webhooks/{platform}/{secret}",
        "/v1/report",
        "/report",
        "/v1/volume",
        "/healthz",
        "/metrics",
    }
    assert harness.client.get("/docs").status_code == 200


def test_unknown_platform_is_404_and_wrong_method_405(harness: Any) -> None:
    """A platform without a source → 404; GET on a webhook → 405; both JSON without input."""
    missing = harness.client.post("/webhooks/hubspot", content=b"[]")
    wrong = harness.client.get("/webhooks/zendesk")
    assert (missing.status_code, missing.json()) == (404, {"error": "not_found"})
    assert (wrong.status_code, wrong.json()) == (405, {"error": "method_not_allowed"})


class _Job:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


class _WakeableJob(_Job):
    def wake(self) -> None:
        self.log.append(f"wake {self.name}")


def test_lifespan_starts_and_stops_jobs_and_writes_wake_them(
    sqlite_store: Any, service_settings: Any, fake_source: Any, zendesk_event: Any, signer: Any
) -> None:
    """Background jobs start in order at startup and stop in reverse at shutdown; a durable
    write (new event, new handoff) wakes those that can be woken, a duplicate does not."""
    log: list[str] = []
    jobs = [_WakeableJob("inbox", log), _Job("worker", log)]
    app = create_app(sqlite_store, {"zendesk": fake_source()}, service_settings(), background=jobs)
    body = zendesk_event("evt-life")

    with TestClient(app) as client:
        assert log == ["start inbox", "start worker"]
        client.post("/webhooks/zendesk", content=body, headers=signer(body))
        client.post("/webhooks/zendesk", content=body, headers=signer(body))
    assert log == ["start inbox", "start worker", "wake inbox", "stop worker", "stop inbox"]


def test_a_job_that_fails_to_start_stops_the_ones_started(
    sqlite_store: Any, service_settings: Any
) -> None:
    """If a job cannot start, those already started are stopped again."""
    log: list[str] = []

    class Broken(_Job):
        def start(self) -> None:
            raise RuntimeError("cannot start")

    app = create_app(
        sqlite_store, {}, service_settings(), background=[_Job("a", log), Broken("b", log)]
    )
    with pytest.raises(RuntimeError), TestClient(app):
        pass
    assert log == ["start a", "stop a"]


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_parsing() -> None:
    """Defaults, comma-separated keys, trailing slash of the public URL, webhook URLs."""
    default = ServiceSettings.from_env({})
    assert default.api_keys == ()
    assert default.default_platform == "zendesk"
    assert (default.max_body_bytes, default.inbox_retention_days) == (ONE_MIB, 7)
    assert default.mappings_dir == Path("mappings")

    settings = ServiceSettings.from_env(
        {
            "BATON_API_KEYS": " a-key-0123456789abcdef ,, b-key-0123456789abcdef ",
            "BATON_DEFAULT_PLATFORM": "hubspot",
            "BATON_PUBLIC_URL": "https://baton.example.com/base/",
            "BATON_MAX_BODY_BYTES": "2048",
            "BATON_INBOX_RETENTION_DAYS": "10",
            "BATON_MAPPINGS_DIR": "/etc/baton/mappings",
        }
    )
    assert [k.get_secret_value() for k in settings.api_keys] == [
        "a-key-0123456789abcdef",
        "b-key-0123456789abcdef",
    ]
    assert settings.webhook_url("hubspot") == "https://baton.example.com/base/webhooks/hubspot"
    assert (settings.max_body_bytes, settings.inbox_retention_days) == (2048, 10)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BATON_API_KEYS", "short"),
        ("BATON_DEFAULT_PLATFORM", "freshdesk"),
        ("BATON_PUBLIC_URL", "baton.example.com"),
        ("BATON_PUBLIC_URL", "https://baton.example.com/?x=1"),
        ("BATON_MAX_BODY_BYTES", "lots"),
        ("BATON_MAX_BODY_BYTES", "0"),
        ("BATON_INBOX_RETENTION_DAYS", "3"),
    ],
)
def test_bad_settings_are_one_line_config_errors_naming_the_variable(
    variable: str, value: str
) -> None:
    """A bad value → ConfigError naming the variable in one line, never echoing the value."""
    with pytest.raises(ConfigError) as raised:
        ServiceSettings.from_env({variable: value})
    message = str(raised.value)
    assert message.startswith(variable)
    assert "\n" not in message
    if variable == "BATON_API_KEYS":
        assert value not in message


# --- baton serve -----------------------------------------------------------------------------


class _Connector:
    """Stands in for a connector: a webhook source with a close()."""

    platform = "zendesk"

    def __init__(self, source: Any) -> None:
        self.source = source
        self.closed = False

    def verify_webhook(self, *args: Any, **kwargs: Any) -> None:
        self.source.verify_webhook(*args, **kwargs)

    def parse_webhook(self, body: bytes) -> Any:
        return self.source.parse_webhook(body)

    def acknowledge(self, received: int, duplicates: int) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def test_build_service_is_the_seam_for_connectors_and_jobs(
    sqlite_store: Any, service_settings: Any, fake_source: Any, zendesk_event: Any, signer: Any
) -> None:
    """build_service takes ready connectors (the --sandbox seam) and extra jobs (the delivery
    worker seam), runs the inbox processor first and wires everything into the app."""
    log: list[str] = []
    connector = _Connector(fake_source())
    service = build_service(
        service_settings(), sqlite_store, connectors={"zendesk": connector}, jobs=[_Job("w", log)]
    )
    assert service.jobs[0] is service.inbox
    assert service.connectors == {"zendesk": connector}
    service.inbox.poll_interval = 0.01
    body = zendesk_event("evt-seam")
    with TestClient(service.app) as client:
        assert client.post("/webhooks/zendesk", content=body, headers=signer(body)).is_success
        assert log == ["start w"]
    assert log == ["start w", "stop w"]
    service.close()
    assert connector.closed


def test_build_service_without_any_platform_is_a_config_error(
    sqlite_store: Any, service_settings: Any
) -> None:
    """No platform with credentials → ConfigError (the command exits 2)."""
    with pytest.raises(ConfigError, match="no platform is enabled"):
        build_service(service_settings(), sqlite_store, env={})


def test_platforms_without_credentials_are_not_enabled(
    service_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only platforms with BATON_<PLATFORM>_* set are built; the others are skipped."""
    built: list[str] = []

    def fake_connector_for(platform: str, mapping: Any, env: Any) -> Any:
        built.append(platform)
        return _Connector(None)

    monkeypatch.setattr(base, "connector_for", fake_connector_for)
    env = {"BATON_ZENDESK_SUBDOMAIN": "acme", "BATON_HUBSPOT_": "", "OTHER": "x"}
    connectors = enabled_connectors(service_settings(), env)
    assert list(connectors) == ["zendesk"]
    assert built == ["zendesk"]


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(cli_app, args, env=env)


def test_serve_with_bad_settings_exits_2_with_one_line(tmp_path: Path) -> None:
    """`baton serve` with a bad setting → one message on stderr, exit code 2, no traceback."""
    result = _run(
        ["serve"],
        {
            "BATON_INBOX_RETENTION_DAYS": "2",
            "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        },
    )
    assert result.exit_code == 2
    assert "BATON_INBOX_RETENTION_DAYS" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_without_credentials_exits_2(tmp_path: Path) -> None:
    """`baton serve` with no platform enabled → exit 2 saying so."""
    env = {"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    for name in ("ZENDESK", "SALESFORCE", "HUBSPOT"):
        for suffix in ("SUBDOMAIN", "EMAIL", "TOKEN", "WEBHOOK_SECRETS", "URL"):
            env[f"BATON_{name}_{suffix}"] = ""
    result = _run(["serve"], env)
    assert result.exit_code == 2
    assert "no platform is enabled" in result.stderr


def test_serve_runs_uvicorn_with_the_built_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_source: Any
) -> None:
    """`baton serve --host --port` migrates the store, builds the service and hands the app
    to uvicorn; the store is closed afterwards."""
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        seen.update(options, app=app)
        with TestClient(app) as client:
            seen["health"] = client.get("/healthz").json()

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.setattr(
        service, "enabled_connectors", lambda *_: {"zendesk": _Connector(fake_source())}
    )
    env = {"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    result = _run(["serve", "--host", "0.0.0.0", "--port", "8700"], env)  # noqa: S104

    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("0.0.0.0", 8700)  # noqa: S104
    assert seen["health"] == {"status": "ok", "database": "ok"}
    assert (tmp_path / "serve.db").exists()
