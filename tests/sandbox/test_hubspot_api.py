"""The HubSpot sandbox's CRM API: auth, tickets, batch upsert, notes, associations, contacts,
schema reads, rate limits (in-process, through the ASGI app)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import baton.mappings
from baton.core.catalog import load_catalog
from baton.sandbox.clock import ManualClock
from baton.sandbox.hubspot import HubSpotState, create_app, facts

CATALOG = load_catalog(Path(baton.mappings.__file__).parent / "catalogs" / "hubspot.json")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
def state(clock: ManualClock) -> HubSpotState:
    return HubSpotState.from_catalog(CATALOG, clock=clock)


@pytest.fixture
def client(state: HubSpotState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {state.access_token}"
        yield test_client


def _ticket(client: TestClient, **props: Any) -> dict[str, Any]:
    body = {
        "properties": {"subject": "Help", "hs_pipeline": "0", "hs_pipeline_stage": "1", **props}
    }
    answer = client.post("/crm/v3/objects/tickets", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_missing_or_wrong_token_is_401_in_hubspots_shape(state: HubSpotState) -> None:
    with TestClient(create_app(state)) as anonymous:
        for headers in ({}, {"Authorization": "Bearer pat-na1-wrong"}):
            answer = anonymous.get("/crm/v3/objects/tickets/1", headers=headers)
            assert answer.status_code == 401
            body = answer.json()
            assert body["status"] == "error"
            assert body["category"] == "INVALID_AUTHENTICATION"
            assert body["correlationId"]
            assert body["message"]


def test_create_get_update_archive(client: TestClient, clock: ManualClock) -> None:
    created = _ticket(client, hs_ticket_priority="HIGH", baton_handoff_id="h-1")
    assert created["properties"]["hs_object_id"] == created["id"]
    assert created["properties"]["createdate"] == "2026-03-02T12:00:00.000Z"
    got = client.get(
        f"/crm/v3/objects/tickets/{created['id']}",
        params={"properties": "subject,baton_handoff_id"},
    ).json()
    assert got["properties"]["baton_handoff_id"] == "h-1"
    by_unique = client.get("/crm/v3/objects/tickets/h-1", params={"idProperty": "baton_handoff_id"})
    assert by_unique.json()["id"] == created["id"]
    clock.advance(5)
    patched = client.patch(
        f"/crm/v3/objects/tickets/{created['id']}", json={"properties": {"hs_pipeline_stage": "4"}}
    )
    assert patched.status_code == 200
    assert patched.json()["properties"]["hs_lastmodifieddate"] == "2026-03-02T12:00:05.000Z"
    assert patched.json()["properties"]["closed_date"] == "2026-03-02T12:00:05.000Z"
    assert client.delete(f"/crm/v3/objects/tickets/{created['id']}").status_code == 204
    assert client.get(f"/crm/v3/objects/tickets/{created['id']}").status_code == 404
    archived = client.get(f"/crm/v3/objects/tickets/{created['id']}", params={"archived": "true"})
    assert archived.json()["archived"] is True


def test_unknown_enum_option_is_a_validation_error(client: TestClient) -> None:
    answer = client.post(
        "/crm/v3/objects/tickets",
        json={
            "properties": {"subject": "x", "hs_pipeline_stage": "1", "hs_ticket_priority": "SUPER"}
        },
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    problems = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert problems[0]["error"] == "INVALID_OPTION"
    assert problems[0]["name"] == "hs_ticket_priority"
    stage = client.post(
        "/crm/v3/objects/tickets",
        json={"properties": {"subject": "x", "hs_pipeline": "0", "hs_pipeline_stage": "61000011"}},
    )
    assert stage.status_code == 400  # a stage of another pipeline
    unknown = client.post(
        "/crm/v3/objects/tickets",
        json={"properties": {"subject": "x", "hs_pipeline_stage": "1", "nope": "1"}},
    )
    assert "PROPERTY_DOESNT_EXIST" in unknown.json()["message"]


def test_unique_value_conflicts(client: TestClient) -> None:
    _ticket(client, baton_handoff_id="dup")
    answer = client.post(
        "/crm/v3/objects/tickets",
        json={"properties": {"subject": "x", "hs_pipeline_stage": "1", "baton_handoff_id": "dup"}},
    )
    assert answer.status_code == 409
    assert answer.json()["category"] == "CONFLICT"


def test_batch_upsert_new_then_updated(client: TestClient) -> None:
    inputs = [
        {
            "id": "h-7",
            "idProperty": "baton_handoff_id",
            "properties": {"subject": "First", "hs_pipeline_stage": "1"},
        }
    ]
    first = client.post("/crm/v3/objects/tickets/batch/upsert", json={"inputs": inputs})
    assert first.status_code == 200, first.text
    row = first.json()["results"][0]
    assert row["new"] is True
    assert first.json()["status"] == "COMPLETE"
    inputs[0]["properties"] = {"subject": "Second"}
    again = client.post("/crm/v3/objects/tickets/batch/upsert", json={"inputs": inputs})
    assert again.json()["results"][0] == {
        **again.json()["results"][0],
        "new": False,
        "id": row["id"],
    }
    assert again.json()["results"][0]["properties"]["subject"] == "Second"


def test_batch_upsert_207_with_a_bad_enum(client: TestClient) -> None:
    inputs = [
        {
            "id": "ok",
            "idProperty": "baton_handoff_id",
            "properties": {"subject": "Fine", "hs_pipeline_stage": "1"},
        },
        {
            "id": "bad",
            "idProperty": "baton_handoff_id",
            "properties": {
                "subject": "Bad",
                "hs_pipeline_stage": "1",
                "hs_ticket_priority": "NOPE",
            },
        },
    ]
    answer = client.post("/crm/v3/objects/tickets/batch/upsert", json={"inputs": inputs})
    assert answer.status_code == 207
    body = answer.json()
    assert [r["properties"]["baton_handoff_id"] for r in body["results"]] == ["ok"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["context"] == {"ids": ["bad"]}


def test_batch_upsert_refuses_a_non_unique_id_property_and_over_100(client: TestClient) -> None:
    bad = client.post(
        "/crm/v3/objects/tickets/batch/upsert",
        json={"inputs": [{"id": "x", "idProperty": "subject", "properties": {}}]},
    )
    assert bad.status_code == 400
    many = [{"id": f"h{i}", "idProperty": "baton_handoff_id", "properties": {}} for i in range(101)]
    assert (
        client.post("/crm/v3/objects/tickets/batch/upsert", json={"inputs": many}).status_code
        == 400
    )


def test_notes_with_inline_and_v4_associations_and_labels(client: TestClient) -> None:
    ticket = _ticket(client)
    note = client.post(
        "/crm/v3/objects/notes",
        json={
            "properties": {"hs_note_body": "<p>hi</p>", "hs_timestamp": "2026-03-02T12:00:00Z"},
            "associations": [
                {
                    "to": {"id": ticket["id"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}],
                }
            ],
        },
    )
    assert note.status_code == 201, note.text
    listed = client.get(f"/crm/v4/objects/tickets/{ticket['id']}/associations/notes").json()
    assert listed["results"][0]["toObjectId"] == int(note.json()["id"])
    assert listed["results"][0]["associationTypes"][0]["typeId"] == 227
    wrong = client.post(
        "/crm/v3/objects/notes",
        json={
            "properties": {"hs_note_body": "x"},
            "associations": [
                {
                    "to": {"id": ticket["id"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
                }
            ],
        },
    )
    assert wrong.status_code == 400
    other = client.post("/crm/v3/objects/notes", json={"properties": {"hs_note_body": "y"}}).json()
    put = client.put(
        f"/crm/v4/objects/notes/{other['id']}/associations/tickets/{ticket['id']}",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}],
    )
    assert put.status_code == 201
    assert put.json()["fromObjectTypeId"] == "0-46"
    assert put.json()["toObjectId"] == int(ticket["id"])
    default = client.put(
        f"/crm/v4/objects/notes/{other['id']}/associations/default/tickets/{ticket['id']}"
    )
    assert default.json()["results"][0]["associationSpec"]["associationTypeId"] == 228
    labels = client.get("/crm/v4/associations/notes/tickets/labels").json()
    assert labels == {"results": [{"category": "HUBSPOT_DEFINED", "typeId": 228, "label": None}]}
    labels = client.get("/crm/v4/associations/tickets/contacts/labels").json()
    assert labels["results"][0]["typeId"] == 16


def test_contacts_create_search_and_conflict(client: TestClient) -> None:
    made = client.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "Ada@example.com", "firstname": "Ada"}},
    )
    assert made.status_code == 201
    again = client.post(
        "/crm/v3/objects/contacts", json={"properties": {"email": "ada@example.com"}}
    )
    assert again.status_code == 409
    assert again.json()["message"] == f"Contact already exists. Existing ID: {made.json()['id']}"
    found = client.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "email", "operator": "EQ", "value": "ada@example.com"}
                    ]
                }
            ]
        },
    ).json()
    assert found["total"] == 1
    assert found["results"][0]["properties"]["firstname"] == "Ada"
    ticket = client.post(
        "/crm/v3/objects/tickets",
        json={
            "properties": {"subject": "s", "hs_pipeline_stage": "1"},
            "associations": [
                {
                    "to": {"id": made.json()["id"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
                }
            ],
        },
    )
    assert ticket.status_code == 201
    read = client.get(
        f"/crm/v3/objects/tickets/{ticket.json()['id']}", params={"associations": "contacts"}
    ).json()
    assert read["associations"]["contacts"]["results"][0]["id"] == made.json()["id"]


def test_pipelines_owners_properties_from_the_catalog(client: TestClient) -> None:
    pipes = client.get("/crm/v3/pipelines/tickets").json()["results"]
    assert [p["id"] for p in pipes] == ["0", "61000001"]
    assert pipes[0]["stages"][3]["metadata"]["ticketState"] == "CLOSED"
    owners = client.get("/crm/v3/owners/").json()["results"]
    assert owners[0]["id"] == "81000001"
    assert owners[0]["firstName"] == "Maya"
    by_email = client.get("/crm/v3/owners", params={"email": "daniel.reyes@baton-sandbox.example"})
    assert [o["id"] for o in by_email.json()["results"]] == ["81000002"]
    props = {p["name"]: p for p in client.get("/crm/v3/properties/tickets").json()["results"]}
    assert props["baton_handoff_id"]["hasUniqueValue"] is True
    assert "URGENT" in [o["value"] for o in props["hs_ticket_priority"]["options"]]
    assert client.get("/crm/v3/properties/tickets/nope").status_code == 404


def test_merge(client: TestClient) -> None:
    a, b = _ticket(client), _ticket(client, baton_intent="refund")
    merged = client.post(
        "/crm/v3/objects/tickets/merge",
        json={"primaryObjectId": a["id"], "objectIdToMerge": b["id"]},
    )
    assert merged.status_code == 200
    assert merged.json()["properties"]["hs_merged_object_ids"] == b["id"]
    assert merged.json()["properties"]["baton_intent"] == "refund"
    assert client.get(f"/crm/v3/objects/tickets/{b['id']}").json()["id"] == a["id"]


def test_rate_limit_headers_and_429_after_the_ten_second_allowance(
    client: TestClient, state: HubSpotState, clock: ManualClock
) -> None:
    state.limits.ten_second = 3
    answers = [client.get("/crm/v3/owners") for _ in range(3)]
    assert [a.headers[facts.HEADER_REMAINING] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers[facts.HEADER_MAX] == "3"
    assert answers[0].headers[facts.HEADER_INTERVAL] == "10000"
    assert answers[0].headers[facts.HEADER_DAILY] == str(facts.DAILY_LIMIT)
    assert answers[2].headers[facts.HEADER_DAILY_REMAINING] == str(facts.DAILY_LIMIT - 3)
    refused = client.get("/crm/v3/owners")
    assert refused.status_code == 429
    body = refused.json()
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["status"] == "error"
    assert body["correlationId"]
    clock.advance(10)
    assert client.get("/crm/v3/owners").status_code == 200


def test_daily_limit(client: TestClient, state: HubSpotState) -> None:
    state.limits.daily = 1
    assert client.get("/crm/v3/owners").status_code == 200
    refused = client.get("/crm/v3/owners")
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.headers[facts.HEADER_DAILY_REMAINING] == "0"


def test_control_api_agent_actions_and_clock(client: TestClient, clock: ManualClock) -> None:
    ticket = _ticket(client)
    tid = ticket["id"]
    assert (
        client.post(f"/_sandbox/tickets/{tid}/stage", json={"stage": "Waiting on us"}).json()[
            "ticket"
        ]["properties"]["hs_pipeline_stage"]
        == "3"
    )
    owner = client.post(f"/_sandbox/tickets/{tid}/owner", json={"owner": "Priya Natarajan"})
    assert owner.json()["ticket"]["properties"]["hubspot_owner_id"] == "81000003"
    rated = client.post(f"/_sandbox/tickets/{tid}/rate", json={"score": 4})
    assert rated.json()["ticket"]["properties"]["baton_csat_score"] == "4"
    note = client.post(f"/_sandbox/tickets/{tid}/note", json={"body": "internal"}).json()["note"]
    reply = client.post(f"/_sandbox/tickets/{tid}/reply", json={"body": "hello"}).json()["email"]
    notes = client.get(f"/crm/v4/objects/tickets/{tid}/associations/notes").json()["results"]
    emails = client.get(f"/crm/v4/objects/tickets/{tid}/associations/emails").json()["results"]
    assert notes[0]["toObjectId"] == int(note["id"])
    assert emails[0]["toObjectId"] == int(reply["id"])
    bad = client.post(
        f"/_sandbox/tickets/{tid}/properties", json={"properties": {"hs_ticket_priority": "NOPE"}}
    )
    assert bad.status_code == 400
    assert bad.json()["hubspot"]["category"] == "VALIDATION_ERROR"
    moved = client.post("/_sandbox/clock", json={"advance_seconds": 60}).json()
    assert moved["now"].startswith("2026-03-02T12:01:00")
    assert client.delete(f"/_sandbox/tickets/{tid}").status_code == 200
    assert client.get(f"/crm/v3/objects/tickets/{tid}").status_code == 404
    assert client.post(f"/_sandbox/tickets/{tid}/restore").status_code == 200
    assert client.get(f"/crm/v3/objects/tickets/{tid}").status_code == 200
    assert client.post("/_sandbox/tickets/999/stage", json={"stage": "New"}).status_code == 404


def test_faults_apply_to_the_crm_api(client: TestClient) -> None:
    client.post("/_sandbox/faults", json={"kind": "status", "status": 502, "path_regex": "owners"})
    assert client.get("/crm/v3/owners").status_code == 502
    assert client.get("/crm/v3/owners").status_code == 200
