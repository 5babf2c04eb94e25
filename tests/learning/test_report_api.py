"""``GET /v1/report``: the report's JSON behind the intake's bearer key; bad parameters are
422 naming them."""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from baton.core.learning.report import report_json_schema
from baton.core.store import Store
from baton.core.tables import TicketLinkRow
from baton.webhooks.app import create_app
from baton.webhooks.settings import ServiceSettings
from tests.learning.test_metrics import deliver, observed, record
from tests.support.paths import MAPPINGS

KEY = "report-api-key-0123456789"


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    deliver(store, "1", intent="billing.refund")
    record(store, observed("1", "resolved", 30, resolution_seconds=1800))
    with store.session() as session:
        session.get(TicketLinkRow, "h-1").route = "VIP billing"  # type: ignore[union-attr]
    settings = ServiceSettings(api_keys=(SecretStr(KEY),), mappings_dir=MAPPINGS)
    with TestClient(create_app(store, {}, settings)) as running:
        yield running


def test_the_report_needs_the_bearer_key(client: TestClient) -> None:
    assert client.get("/v1/report").status_code == 401
    wrong = client.get("/v1/report", headers={"Authorization": "Bearer not-the-key-at-all"})
    assert wrong.status_code == 401


def test_the_report_is_the_documented_json_with_the_sla_of_the_stored_route(
    client: TestClient,
) -> None:
    answer = client.get(
        "/v1/report",
        params={"by": "intent", "period": "week"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert answer.status_code == 200
    document = answer.json()
    jsonschema.validate(document, report_json_schema())
    assert document["total"]["escalations"] == 1
    [row] = document["dimensions"]["intent"]
    assert (row["value"], row["period"]) == ("billing.refund", "2026-W10")
    [rule] = document["sla"]
    assert (rule["route"], rule["counts"]["resolution"]) == ("VIP billing", {"attained": 1})


@pytest.mark.parametrize(
    ("params", "named"),
    [({"period": "month"}, "period"), ({"by": "colour"}, "by"), ({"since": "soon"}, "since")],
)
def test_a_bad_parameter_is_422_naming_it(
    client: TestClient, params: dict[str, str], named: str
) -> None:
    answer = client.get("/v1/report", params=params, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 422
    assert answer.json()["message"].startswith(f"{named}:")
