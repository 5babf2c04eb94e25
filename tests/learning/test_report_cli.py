"""``baton report`` over a store: terminal tables worst first, JSON that matches its published
schema, and clear errors for bad options."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from baton.core.learning.report import report_json_schema
from baton.core.store import Store
from baton.core.tables import TicketLinkRow
from baton.webhooks.cli import app
from tests.learning.test_metrics import deliver, observed, record
from tests.support.paths import MAPPINGS


@pytest.fixture
def filled(cli_store: Store) -> Store:
    store = cli_store
    deliver(store, "1", intent="billing.refund")
    record(store, observed("1", "resolved", 30, resolution_seconds=1800, public_replies=1))
    deliver(store, "2", intent="account.access")
    record(
        store,
        observed("2", "transferred", 10, transfer_count=1),
        observed("2", "resolved", 200, resolution_seconds=12_000, transfer_count=1),
    )
    return store


def test_the_terminal_report_puts_the_worst_row_first_and_reads_it(filled: Store) -> None:
    result = CliRunner().invoke(app, ["report", "--by", "intent"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [line.split()[0] for line in lines if line.strip().startswith(("account", "billing"))]
    assert rows == ["account.access", "billing.refund"]  # 0 % right party before 100 %
    assert "intent account.access: right party only 0%; check the rule" in result.output


def test_the_json_report_matches_its_published_schema(filled: Store) -> None:
    result = CliRunner().invoke(app, ["report", "--json", "--by", "intent,trigger,route"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, report_json_schema())
    assert document["total"]["escalations"] == 2
    assert document["total"]["right_party_rate"] == 0.5
    assert [row["value"] for row in document["dimensions"]["route"]] == ["vip"]
    assert "do not sum to the total" in document["note"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--by", "colour"], "--by: unknown dimension 'colour'"),
        (["--period", "month"], "--period: 'month' is not 'day' or 'week'"),
        (["--since", "yesterday"], "--since: 'yesterday' is not an ISO-8601 time"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    filled: Store, options: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["report", *options])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_the_report_measures_the_routes_sla_targets_from_the_mappings(filled: Store) -> None:
    with filled.session() as session:  # ticket 1 was made on the shipped VIP billing rule
        session.get(TicketLinkRow, "h-1").route = "VIP billing"  # type: ignore[union-attr]
    result = CliRunner().invoke(
        app, ["report", "--by", "intent", "--mappings", str(MAPPINGS)], env={"COLUMNS": "120"}
    )
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if "VIP billing" in line]
    # resolved in 30 min against 8 h: attained; no first-response time reported: unmeasured
    assert ["zendesk", "VIP", "billing", "first", "response", "0", "0", "0", "1"] in rows
    assert ["zendesk", "VIP", "billing", "resolution", "1", "0", "0", "0"] in rows
