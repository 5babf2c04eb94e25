"""connectors.hubspot's settings (``BATON_HUBSPOT_*``: errors name the variable, never a
secret), its record links, and the live catalog read from a sandbox seeded with the shipped
catalog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.connector import HubSpotConnector
from baton.connectors.hubspot.settings import HubSpotSettings
from baton.core.catalog import Catalog, load_catalog
from baton.core.errors import ConfigError
from baton.core.mapping import load_mapping
from baton.sandbox.clock import ManualClock
from baton.sandbox.hubspot import HubSpotSandbox, HubSpotState
from tests.support.paths import MAPPINGS

TOKEN = "pat-na1-7d3f0c1e-never-print-me"
SECRET = "client-secret-never-print-me"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def shipped() -> Catalog:
    return load_catalog(MAPPINGS / "catalogs" / "hubspot.json")


def settings(**env: str) -> HubSpotSettings:
    return HubSpotSettings.from_env({facts.ENV_ACCESS_TOKEN: TOKEN, **env})


# ---- record links --------------------------------------------------------------------------


def test_ticket_url_points_into_the_portal() -> None:
    connector = HubSpotConnector(settings(BATON_HUBSPOT_PORTAL_ID="4471234"), None)
    assert connector.ticket_url("123") == "https://app.hubspot.com/contacts/4471234/record/0-5/123"


def test_ticket_url_honours_the_app_url() -> None:
    env = {"BATON_HUBSPOT_PORTAL_ID": "99", "BATON_HUBSPOT_APP_URL": "https://app-eu1.hubspot.com/"}
    connector = HubSpotConnector(settings(**env), None)
    assert connector.ticket_url("7") == "https://app-eu1.hubspot.com/contacts/99/record/0-5/7"


def test_settings_read_every_variable() -> None:
    read = settings(
        BATON_HUBSPOT_PORTAL_ID="123",
        BATON_HUBSPOT_CLIENT_SECRETS=f" old-secret , {SECRET} ",
        BATON_HUBSPOT_LEGACY_SIGNATURES="V1, v2",
        BATON_HUBSPOT_HOST_OVERRIDE="http://127.0.0.1:8605/",
        BATON_HUBSPOT_RATE_LIMIT="150",
        BATON_HUBSPOT_TIMEOUT="2.5",
    )
    assert [s.get_secret_value() for s in read.client_secrets] == ["old-secret", SECRET]
    assert read.legacy_signatures == ("v1", "v2")
    assert read.api_host == "http://127.0.0.1:8605"
    assert (read.rate_limit, read.timeout, read.portal_id) == (150.0, 2.5, "123")
    assert settings().api_host == "https://api.hubapi.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (facts.ENV_PORTAL_ID, f"portal-{TOKEN}"),
        (facts.ENV_LEGACY_SIGNATURES, f"v3,{TOKEN}"),
        (facts.ENV_APP_URL, f"https://{TOKEN}@evil.example/path"),
        (facts.ENV_HOST_OVERRIDE, f"ftp://{TOKEN}"),
        (facts.ENV_RATE_LIMIT, TOKEN),
        (facts.ENV_RATE_LIMIT, "-5"),
        (facts.ENV_TIMEOUT, "inf"),
    ],
)
def test_a_bad_setting_names_the_variable_and_never_a_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as bad:
        settings(**{name: value})
    message = str(bad.value)
    assert name in message
    assert TOKEN not in message
    assert value not in message


def test_a_missing_token_names_the_variable() -> None:
    for env in ({}, {facts.ENV_ACCESS_TOKEN: "   "}):
        with pytest.raises(ConfigError, match=facts.ENV_ACCESS_TOKEN):
            HubSpotSettings.from_env(env)


def test_the_connector_never_shows_its_secrets() -> None:
    connector = HubSpotConnector.from_env(
        None,
        {
            facts.ENV_ACCESS_TOKEN: TOKEN,
            facts.ENV_CLIENT_SECRETS: SECRET,
            facts.ENV_PORTAL_ID: "77",
        },
    )
    try:
        shown = f"{connector!r} {connector.settings!r} {connector.settings.where()}"
        assert TOKEN not in shown
        assert SECRET not in shown
        assert "77" in shown
    finally:
        connector.close()


def test_creating_without_a_mapping_is_a_config_error() -> None:
    from tests.contract.helpers import new_handoff

    connector = HubSpotConnector(settings(), None)
    with pytest.raises(ConfigError):
        connector.create_ticket(new_handoff())


# ---- the live catalog ----------------------------------------------------------------------


@pytest.fixture
def live() -> Iterator[tuple[HubSpotState, Catalog, str]]:
    state = HubSpotState.from_catalog(
        shipped(), clock=ManualClock(NOW), ten_second_limit=10**6, daily_limit=10**9
    )
    with HubSpotSandbox(state) as sandbox:
        env = {
            facts.ENV_ACCESS_TOKEN: sandbox.access_token,
            facts.ENV_PORTAL_ID: str(state.portal_id),
            facts.ENV_HOST_OVERRIDE: sandbox.base_url,
            facts.ENV_RATE_LIMIT: "100000",
        }
        connector = HubSpotConnector(
            HubSpotSettings.from_env(env), load_mapping(MAPPINGS, "hubspot"), clock=lambda: NOW
        )
        try:
            yield state, connector.refresh_catalog(), sandbox.base_url
        finally:
            connector.close()


def test_refresh_catalog_reads_the_shipped_pipelines_and_closed_stages(live) -> None:
    _, catalog, _ = live

    def pipelines(c: Catalog) -> list[tuple[str, str, list[tuple[str, str, bool]]]]:
        return [(p.id, p.name, [(s.id, s.name, s.closed) for s in p.stages]) for p in c.pipelines]

    assert pipelines(catalog) == pipelines(shipped())
    assert catalog.platform == "hubspot"
    assert catalog.refreshed_at is not None


def test_refresh_catalog_reads_the_owners(live) -> None:
    _, catalog, _ = live

    def owners(c: Catalog) -> list[tuple[str, str, str | None]]:
        return sorted((str(u.id), u.name, u.email) for u in c.users)

    assert owners(catalog) == owners(shipped())


def test_refresh_catalog_reads_the_association_types(live) -> None:
    _, catalog, _ = live
    assert catalog.association_types == shipped().association_types
    assert catalog.association_types == {"note_to_ticket": 228, "ticket_to_contact": 16}


def test_refresh_catalog_reads_the_ticket_properties_and_their_options(live) -> None:
    _, catalog, _ = live
    fields = {str(f.id): f for f in catalog.fields}
    expected = {str(f.id): f for f in shipped().fields}
    priority = fields["hs_ticket_priority"]
    assert [(o.name, o.value) for o in priority.options] == [
        (o.name, o.value) for o in expected["hs_ticket_priority"].options
    ]
    assert {o.value for o in priority.options} >= {"LOW", "MEDIUM", "HIGH", "URGENT"}
    assert set(expected) <= set(fields)
    for name, spec in expected.items():
        assert fields[name].type == spec.type, name


def test_the_catalog_is_read_live_not_from_the_shipped_file(live) -> None:
    state, _, base_url = live
    with state.lock:
        state.owners = [o for o in state.owners if o.id != "81000002"]
        state.pipelines[1].stages[-1].closed = False
    connector = HubSpotConnector(
        HubSpotSettings.from_env(
            {
                facts.ENV_ACCESS_TOKEN: state.access_token,
                facts.ENV_HOST_OVERRIDE: base_url,
                facts.ENV_RATE_LIMIT: "100000",
            }
        ),
        None,
    )
    try:
        catalog = connector.refresh_catalog()
    finally:
        connector.close()
    assert "81000002" not in {str(u.id) for u in catalog.users}
    assert len(catalog.users) == len(shipped().users) - 1
    assert [s.closed for s in catalog.pipelines[1].stages] == [False] * 4
