"""The bridge (``connectors/salesforce/local.py``): the settings it hands the connector and the
demo agents' actions, through the sandbox's control and REST APIs only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.local import LocalSalesforce, start_local_salesforce
from baton.core.catalog import load_catalog

CATALOG = Path(__file__).parents[2] / "mappings" / "catalogs" / "salesforce.json"


@pytest.fixture
def local() -> Iterator[LocalSalesforce]:
    box = start_local_salesforce(load_catalog(CATALOG))
    try:
        yield box
    finally:
        box.stop()


def test_env_names_the_https_instance_and_the_host_override(local: LocalSalesforce) -> None:
    env = local.env
    assert env[facts.ENV_INSTANCE_URL] == "https://baton-sandbox.my.salesforce.com"
    assert env[facts.ENV_HOST_OVERRIDE] == local.base_url
    assert env[facts.ENV_ORGANIZATION_ID] == local.state.organization_id
    assert env[facts.ENV_WEBHOOK_PATHS] == local.webhook_path
    assert {facts.ENV_CLIENT_ID, facts.ENV_CLIENT_SECRET, facts.ENV_DOMAIN} <= set(env)


def test_agents_act_on_a_case(local: LocalSalesforce) -> None:
    with local.state.lock:
        case_id = local.state.create_case({"Subject": "demo", "Priority": "High"})["id"]
    agents = local.agents
    agents.reassign(case_id, "Billing")
    summary = agents.summary(case_id)
    assert (summary.group, summary.assignee, summary.priority) == ("Billing", None, "High")
    agents.reply(case_id, "On it")
    agents.solve(case_id)
    assert local.state.record("Case", case_id)["IsClosed"] is True
    agents.rate(case_id, good=True)
    assert local.state.record("Case", case_id)["Baton_CSAT__c"] == 5.0
    agents.reopen(case_id)
    assert local.state.record("Case", case_id)["IsClosed"] is False
    agents.clock_at(datetime(2026, 1, 5, tzinfo=UTC))
    assert local.state.clock().year == 2026


def test_webhooks_lost_switches_the_outbound_message_off_and_on(local: LocalSalesforce) -> None:
    local.send_webhooks_to("http://127.0.0.1:9/webhooks/salesforce")
    config = local.state.outbound.config
    assert config.url == f"http://127.0.0.1:9/webhooks/salesforce/{local.webhook_path}"
    assert "Baton_Handoff_Id__c" in config.fields
    with local.agents.webhooks_lost():
        assert local.state.outbound.config.enabled is False
    assert local.state.outbound.config.enabled is True


def test_the_plugin_starts_the_sandbox() -> None:
    from baton.connectors.salesforce.plugin import plugin

    assert plugin.has_sandbox
    box = plugin.start_sandbox(load_catalog(CATALOG), port=0, rate_limit=700, clock=None)
    try:
        assert box.base_url.startswith("http://127.0.0.1:")
    finally:
        box.stop()


def test_the_integration_user_never_takes_a_seeded_users_id(local: LocalSalesforce) -> None:
    """The org's own API user is made before the catalog's users are seeded with their ids;
    it must not end up sharing a key with one of them (it once shared Maya Okafor's)."""
    state = local.state
    with state.lock:
        users = list(state.records["User"].values())
    api = [u for u in users if u["Id"] == state.api_user]
    assert [u["Name"] for u in api] == ["Baton Integration"]
    assert len({u["Id"][:15] for u in users}) == len(users)
