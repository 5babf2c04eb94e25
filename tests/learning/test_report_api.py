"""``GET /v1/report``: the report's JSON behind the intake's bearer key; ``GET /report``: the HTML
page behind HTTP Basic with the key as password, never a key in the query. Bad parameters are
422 naming them."""

from __future__ import annotations

import base64
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


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_the_page_asks_a_browser_for_the_key_with_a_basic_challenge(client: TestClient) -> None:
    for headers in ({}, _basic("anyone", "not-the-key-at-all"), _basic(KEY, "")):
        answer = client.get("/report", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith('Basic realm="baton report"')
    in_the_query = client.get("/report", params={"key": KEY, "api_key": KEY, "password": KEY})
    assert in_the_query.status_code == 401


@pytest.mark.parametrize("user", ["", "ops", "someone@example.com"])
def test_the_page_takes_the_key_as_the_basic_password_with_any_user(
    client: TestClient, user: str
) -> None:
    answer = client.get("/report", headers=_basic(user, KEY))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert "<svg" in answer.text
    assert "billing.refund" in answer.text
    assert KEY not in answer.text


def test_the_page_charts_by_route_and_trigger_whatever_by_asks(client: TestClient) -> None:
    answer = client.get("/report", params={"by": "intent"}, headers=_basic("ops", KEY))
    assert answer.status_code == 200
    assert "VIP billing" in answer.text  # the route chart's row, though `by` named only intent
    bad = client.get("/report", params={"period": "month"}, headers=_basic("ops", KEY))
    assert bad.status_code == 422
