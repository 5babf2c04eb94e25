"""The HubSpot sandbox's property history (``propertiesWithHistory`` on reads and batch reads)
and the ticket times it computes (time to close, first agent reply)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hubspot import HubSpot
from hubspot.crm.tickets import (
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

import baton.mappings
from baton.core.catalog import load_catalog
from baton.sandbox.clock import ManualClock
from baton.sandbox.hubspot import HubSpotSandbox, HubSpotState, create_app, facts

CATALOG = load_catalog(Path(baton.mappings.__file__).parent / "catalogs" / "hubspot.json")
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TIMES = (facts.TIME_TO_CLOSE, facts.FIRST_AGENT_REPLY_DATE, facts.TIME_TO_FIRST_AGENT_REPLY)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def state(clock: ManualClock) -> HubSpotState:
    return HubSpotState.from_catalog(CATALOG, clock=clock)


@pytest.fixture
def client(state: HubSpotState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {state.access_token}"
        yield test_client


def _ticket(client: TestClient, **props: Any) -> str:
    body = {
        "properties": {"subject": "Help", "hs_pipeline": "0", "hs_pipeline_stage": "1", **props}
    }
    answer = client.post("/crm/v3/objects/tickets", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _patch(client: TestClient, ticket_id: str, **props: Any) -> None:
    answer = client.patch(f"/crm/v3/objects/tickets/{ticket_id}", json={"properties": props})
    assert answer.status_code == 200, answer.text


def _history(client: TestClient, ticket_id: str, *names: str) -> dict[str, Any]:
    answer = client.get(
        f"/crm/v3/objects/tickets/{ticket_id}", params={"propertiesWithHistory": ",".join(names)}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["propertiesWithHistory"])


def _entry(value: str, at: str, source: str) -> dict[str, Any]:
    return {"value": value, "timestamp": at, "sourceType": source, "sourceId": None}


def test_history_lists_every_value_newest_first_with_its_source(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    ticket = _ticket(client, hs_ticket_priority="HIGH")
    clock.advance(5)
    _patch(client, ticket, hs_pipeline_stage="2", subject="Help")  # subject unchanged
    clock.advance(5)
    state.move_to_stage(ticket, "Closed")
    clock.advance(5)
    _patch(client, ticket, hs_ticket_priority="")
    answer = client.get(
        f"/crm/v3/objects/tickets/{ticket}",
        params=[
            ("properties", "subject"),
            ("propertiesWithHistory", "hs_pipeline_stage,subject"),
            ("propertiesWithHistory", "hs_ticket_priority"),
            ("propertiesWithHistory", "content,no_such_property"),
        ],
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["properties"]["subject"] == "Help"
    assert body["propertiesWithHistory"] == {
        "hs_pipeline_stage": [
            _entry("4", "2026-03-02T12:00:10.000Z", "CRM_UI"),
            _entry("2", "2026-03-02T12:00:05.000Z", "API"),
            _entry("1", "2026-03-02T12:00:00.000Z", "API"),
        ],
        "subject": [_entry("Help", "2026-03-02T12:00:00.000Z", "API")],
        "hs_ticket_priority": [
            _entry("", "2026-03-02T12:00:15.000Z", "API"),
            _entry("HIGH", "2026-03-02T12:00:00.000Z", "API"),
        ],
        "content": [],
    }
    plain = client.get(f"/crm/v3/objects/tickets/{ticket}").json()
    assert "propertiesWithHistory" not in plain


def test_batch_read_answers_history_for_each_record(client: TestClient, clock: ManualClock) -> None:
    first, second = _ticket(client, subject="One"), _ticket(client, subject="Two")
    clock.advance(1)
    _patch(client, second, subject="Two again")
    answer = client.post(
        "/crm/v3/objects/tickets/batch/read",
        json={
            "inputs": [{"id": first}, {"id": second}, {"id": "999"}],
            "properties": ["subject"],
            "propertiesWithHistory": ["subject"],
        },
    )
    assert answer.status_code == 207, answer.text
    rows = {row["id"]: row for row in answer.json()["results"]}
    assert [e["value"] for e in rows[first]["propertiesWithHistory"]["subject"]] == ["One"]
    assert [e["value"] for e in rows[second]["propertiesWithHistory"]["subject"]] == [
        "Two again",
        "Two",
    ]
    plain = client.post(
        "/crm/v3/objects/tickets/batch/read",
        json={"inputs": [{"id": first}], "properties": ["subject"]},
    )
    assert "propertiesWithHistory" not in plain.json()["results"][0]
    bad = client.post(
        "/crm/v3/objects/tickets/batch/read",
        json={"inputs": [{"id": first}], "propertiesWithHistory": "subject"},
    )
    assert bad.status_code == 400


def test_merged_records_keep_their_own_history(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    primary, merged = _ticket(client, subject="Primary"), _ticket(client, subject="Merged")
    clock.advance(1)
    _patch(client, merged, subject="Merged, edited", content="from the merged one")
    clock.advance(1)
    answer = client.post(
        "/crm/v3/objects/tickets/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": merged},
    )
    assert answer.status_code == 200, answer.text
    history = _history(client, primary, "subject", "content")
    assert [e["value"] for e in history["subject"]] == ["Primary"]
    assert history["content"] == [
        _entry("from the merged one", "2026-03-02T12:00:02.000Z", "API")
    ]  # moved onto the primary by the merge
    kept = state.records["tickets"][merged].history["subject"]
    assert [value for value, _, _ in kept] == ["Merged", "Merged, edited"]


def test_time_to_close_is_set_on_closing_and_cleared_on_reopening(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    ticket = _ticket(client)
    clock.advance(90.5)
    state.move_to_stage(ticket, "Closed")
    shown = client.get(
        f"/crm/v3/objects/tickets/{ticket}",
        params={"properties": f"closed_date,{facts.TIME_TO_CLOSE}"},
    ).json()["properties"]
    assert shown["closed_date"] == "2026-03-02T12:01:30.500Z"
    assert shown[facts.TIME_TO_CLOSE] == "90500"
    clock.advance(10)
    _patch(client, ticket, hs_pipeline_stage="3")
    props = state.records["tickets"][ticket].properties
    assert props["closed_date"] is None
    assert props[facts.TIME_TO_CLOSE] is None
    clock.advance(10)
    _patch(client, ticket, hs_pipeline_stage="4")
    assert [
        e["value"] for e in _history(client, ticket, facts.TIME_TO_CLOSE)[facts.TIME_TO_CLOSE]
    ] == [
        "110500",
        "",
        "90500",
    ]
    born_closed = _ticket(client, hs_pipeline_stage="4")
    assert state.records["tickets"][born_closed].properties[facts.TIME_TO_CLOSE] == "0"


def test_first_agent_reply_sets_the_reply_times_once(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    ticket = _ticket(client)
    clock.advance(30)
    state.agent_note(ticket, "not a reply")
    assert state.records["tickets"][ticket].properties.get(facts.FIRST_AGENT_REPLY_DATE) is None
    clock.advance(12.25)
    state.agent_reply(ticket, "On it")
    clock.advance(60)
    state.agent_reply(ticket, "Done")
    shown = client.get(
        f"/crm/v3/objects/tickets/{ticket}", params={"properties": ",".join(TIMES)}
    ).json()["properties"]
    assert shown[facts.FIRST_AGENT_REPLY_DATE] == "2026-03-02T12:00:42.250Z"
    assert shown[facts.TIME_TO_FIRST_AGENT_REPLY] == "42250"
    assert shown[facts.TIME_TO_CLOSE] is None
    history = _history(client, ticket, facts.TIME_TO_FIRST_AGENT_REPLY)
    assert history[facts.TIME_TO_FIRST_AGENT_REPLY] == [
        _entry("42250", "2026-03-02T12:00:42.250Z", "CRM_UI")
    ]


def test_time_properties_are_listed_and_read_only(client: TestClient) -> None:
    listed = {p["name"]: p for p in client.get("/crm/v3/properties/tickets").json()["results"]}
    assert listed[facts.TIME_TO_CLOSE]["type"] == "number"
    assert listed[facts.TIME_TO_FIRST_AGENT_REPLY]["type"] == "number"
    assert listed[facts.FIRST_AGENT_REPLY_DATE]["type"] == "datetime"
    for name in TIMES:
        assert listed[name]["modificationMetadata"]["readOnlyValue"] is True
    ticket = _ticket(client)
    for name, value in ((facts.TIME_TO_CLOSE, "5"), (facts.FIRST_AGENT_REPLY_DATE, "0")):
        refused = client.patch(
            f"/crm/v3/objects/tickets/{ticket}", json={"properties": {name: value}}
        )
        assert refused.status_code == 400
        assert facts.READ_ONLY_VALUE in refused.text
    created = client.post(
        "/crm/v3/objects/tickets",
        json={
            "properties": {
                "subject": "x",
                "hs_pipeline_stage": "1",
                facts.TIME_TO_FIRST_AGENT_REPLY: "1",
            }
        },
    )
    assert created.status_code == 400


def test_computed_times_send_property_change_events(
    state: HubSpotState, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, str, str, dict[str, Any]]] = []

    def record(subscription_type: str, object_id: str, source: str, **extra: Any) -> None:
        sent.append((subscription_type, object_id, source, extra))

    monkeypatch.setattr(state.webhooks, "emit", record)
    ticket = state.create(
        "tickets", {"subject": "s", "hs_pipeline_stage": "1"}, facts.CHANGE_SOURCE_API
    ).id
    clock.advance(2)
    state.agent_reply(ticket, "hi")
    state.move_to_stage(ticket, "Closed")
    changes = [
        (e["propertyName"], e["propertyValue"], source)
        for kind, oid, source, e in sent
        if kind == "ticket.propertyChange" and oid == ticket
    ]
    assert changes == [
        ("subject", "s", "INTEGRATION"),
        ("hs_pipeline_stage", "1", "INTEGRATION"),
        ("hs_pipeline", "0", "INTEGRATION"),
        (facts.LAST_ACTIVITY_DATE, "2026-03-02T12:00:02.000Z", "CRM_UI"),  # the logged e-mail
        (facts.FIRST_AGENT_REPLY_DATE, "2026-03-02T12:00:02.000Z", "CRM_UI"),
        (facts.TIME_TO_FIRST_AGENT_REPLY, "2000", "CRM_UI"),
        ("hs_pipeline_stage", "4", "CRM_UI"),
        ("closed_date", "2026-03-02T12:00:02.000Z", "CRM_UI"),
        (facts.TIME_TO_CLOSE, "2000", "CRM_UI"),
    ]


def test_the_real_sdk_reads_history() -> None:
    with HubSpotSandbox(HubSpotState()) as sandbox:
        client = HubSpot(access_token=sandbox.access_token, host=sandbox.base_url)
        tickets = client.crm.tickets
        created = tickets.basic_api.create(
            SimplePublicObjectInputForCreate(
                properties={"subject": "First", "hs_pipeline_stage": "1"}
            )
        )
        tickets.basic_api.update(
            created.id, SimplePublicObjectInput(properties={"subject": "Second"})
        )
        got = tickets.basic_api.get_by_id(
            created.id, properties_with_history=["subject", "hs_pipeline_stage"]
        )
        subject = got.properties_with_history["subject"]
        assert [v.value for v in subject] == ["Second", "First"]
        assert subject[0].source_type == "API"
        assert subject[0].timestamp >= subject[1].timestamp
        batch = tickets.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=created.id)],
                properties=["subject"],
                properties_with_history=["hs_pipeline_stage"],
            )
        )
        stage = batch.results[0].properties_with_history["hs_pipeline_stage"]
        assert [v.value for v in stage] == ["1"]
