"""The HubSpot sandbox's CRM search: filters, one sort, after/limit paging, the 10,000 cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from baton.sandbox.clock import ManualClock
from baton.sandbox.hubspot import HubSpotState, create_app

URL = "/crm/v3/objects/tickets/search"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
def state(clock: ManualClock) -> HubSpotState:
    return HubSpotState(clock=clock)


@pytest.fixture
def client(state: HubSpotState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {state.access_token}"
        yield test_client


def _make(state: HubSpotState, count: int, **props: Any) -> list[str]:
    return [
        state.create("tickets", {"subject": f"t{i}", "hs_pipeline_stage": "1", **props}, "API").id
        for i in range(count)
    ]


def _filter(name: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    spec = {"propertyName": name, "operator": operator, **extra}
    if value is not None:
        spec["value"] = value
    return {"filterGroups": [{"filters": [spec]}]}


def test_filters_on_hs_lastmodifieddate_epoch_ms_and_iso(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    early = _make(state, 2)
    clock.advance(60)
    late = _make(state, 3)
    cut = str(int(clock().timestamp() * 1000))
    gte = client.post(URL, json={**_filter("hs_lastmodifieddate", "GTE", cut), "limit": 10}).json()
    assert sorted(r["id"] for r in gte["results"]) == sorted(late)
    assert gte["total"] == 3
    lt = client.post(URL, json=_filter("hs_lastmodifieddate", "LT", "2026-03-02T12:01:00Z")).json()
    assert sorted(r["id"] for r in lt["results"]) == sorted(early)
    by_id = client.post(URL, json=_filter("hs_object_id", "GT", early[-1])).json()
    assert by_id["total"] == 3
    inside = client.post(URL, json=_filter("hs_object_id", "IN", values=early)).json()
    assert inside["total"] == 2
    has = client.post(URL, json=_filter("hubspot_owner_id", "HAS_PROPERTY")).json()
    assert has["total"] == 0
    neq = client.post(URL, json=_filter("subject", "NEQ", "t0")).json()
    assert neq["total"] == 3


def test_sort_and_paging_with_after(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    ids = []
    for _ in range(5):
        ids += _make(state, 1)
        clock.advance(1)
    body: dict[str, Any] = {
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        "limit": 2,
    }
    seen: list[str] = []
    while True:
        page = client.post(URL, json=body).json()
        seen += [r["id"] for r in page["results"]]
        if "paging" not in page:
            break
        body["after"] = page["paging"]["next"]["after"]
    assert seen == list(reversed(ids))
    two = client.post(
        URL, json={"sorts": [{"propertyName": "subject"}, {"propertyName": "createdate"}]}
    )
    assert two.status_code == 400


def test_ties_on_hs_lastmodifieddate_keep_every_ticket_across_pages(
    client: TestClient, state: HubSpotState
) -> None:
    ids = _make(state, 7)  # one instant: every hs_lastmodifieddate is equal
    body: dict[str, Any] = {
        **_filter("hs_lastmodifieddate", "GTE", "0"),
        "limit": 3,
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
    }
    seen: list[str] = []
    while True:
        page = client.post(URL, json=body).json()
        seen += [r["id"] for r in page["results"]]
        if "paging" not in page:
            break
        body["after"] = page["paging"]["next"]["after"]
    assert seen == ids  # ties broken by hs_object_id, no duplicates, none lost


def test_limit_over_200_and_paging_past_10000_are_400(client: TestClient) -> None:
    over = client.post(URL, json={"limit": 201})
    assert over.status_code == 400
    assert over.json()["category"] == "VALIDATION_ERROR"
    assert client.post(URL, json={"limit": 200, "after": "9800"}).status_code == 200
    past = client.post(URL, json={"limit": 200, "after": "9900"})
    assert past.status_code == 400
    assert past.json()["status"] == "error"


def test_total_counts_beyond_the_cap_but_pages_stop_at_it(
    client: TestClient, state: HubSpotState
) -> None:
    _make(state, 10_050)
    page = client.post(URL, json={"limit": 200, "after": "9800"}).json()
    assert page["total"] == 10_050
    assert len(page["results"]) == 200
    assert page["paging"]["next"]["after"] == "10000"
    assert client.post(URL, json={"limit": 1, "after": "10000"}).status_code == 400


def test_archived_and_merged_tickets_are_not_found(client: TestClient, state: HubSpotState) -> None:
    a, b, c = _make(state, 3)
    state.archive("tickets", a, "API")
    state.merge("tickets", b, c, "API")
    found = client.post(URL, json={}).json()
    assert [r["id"] for r in found["results"]] == [b]


def test_default_and_requested_properties(client: TestClient, state: HubSpotState) -> None:
    _make(state, 1, hs_ticket_priority="HIGH")
    default = client.post(URL, json={}).json()["results"][0]["properties"]
    assert {"subject", "hs_pipeline_stage", "hs_object_id", "hs_lastmodifieddate"} <= set(default)
    chosen = client.post(URL, json={"properties": ["hs_ticket_priority"]}).json()
    assert set(chosen["results"][0]["properties"]) == {
        "hs_ticket_priority",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }
