"""Every example handoff × platform renders requests that match each platform's documented
request shape, field by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from baton.connectors.hubspot.mapping import upsert_row
from baton.connectors.zendesk.facts import PRIORITIES, TICKET_TYPES
from baton.core.catalog import Catalog, load_catalog
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import Plan, load_mapping, plan_requests
from tests.support.paths import MAPPINGS, catalog_path, example_files

EXAMPLES = example_files()

# Where the shipped routing rules should send each example: Zendesk group, Salesforce owner
# (queue or user), HubSpot pipeline.
EXPECTED_ROUTES = {
    "01-vip-refund-dispute.json": ("VIP Billing", "Maya Okafor", "Priority Escalations"),
    "02-explicit-human-request.json": ("Tier 1 Support", "Tier 1 Support", "Support Pipeline"),
    "03-regulated-complaint.json": (
        "Compliance & Complaints",
        "Compliance & Complaints",
        "Priority Escalations",
    ),
    "04-failed-identity-check.json": (
        "Account Security",
        "Account Security",
        "Priority Escalations",
    ),
    "05-repeated-troubleshooting-bug.json": (
        "Technical Support L2",
        "Technical Support L2",
        "Support Pipeline",
    ),
    "06-spanish-speaking-customer.json": (
        "Soporte en Español",
        "Soporte en Español",
        "Support Pipeline",
    ),
    "07-cancellation-threat-high-value.json": ("Retention", "Retention", "Priority Escalations"),
    "08-howto-low-confidence.json": ("Tier 1 Support", "Tier 1 Support", "Support Pipeline"),
}


def test_every_example_has_an_expected_route() -> None:
    assert {p.name for p in EXAMPLES} == set(EXPECTED_ROUTES)


def _plan(platform: str, example: Path) -> tuple[Handoff, Plan, Catalog]:
    handoff = parse_handoff(example.read_bytes())
    mapping = load_mapping(MAPPINGS, platform)  # type: ignore[arg-type]
    catalog = load_catalog(catalog_path(platform))
    return handoff, plan_requests(mapping, handoff), catalog


def _options(catalog: Catalog, field: str) -> set[str]:
    found = catalog.field(field)
    assert found is not None
    return {o.value for o in found.options}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_zendesk_create_request(example: Path) -> None:
    handoff, plan, catalog = _plan("zendesk", example)
    [request] = plan.requests
    assert (request.method, request.path) == ("POST", "/api/v2/tickets.json")
    assert request.headers["Idempotency-Key"] == handoff.id
    ticket = request.json["ticket"]
    assert ticket["external_id"] == handoff.id
    assert ticket["comment"]["public"] is False
    assert "Summary" in ticket["comment"]["html_body"]
    assert ticket["priority"] in PRIORITIES
    assert ticket["priority"] == handoff.priority  # the shipped map is the identity
    assert ticket["type"] in TICKET_TYPES
    group = catalog.group(EXPECTED_ROUTES[example.name][0])
    assert group is not None
    assert ticket["group_id"] == group.id
    if "assignee_id" in ticket:
        assert ticket["assignee_id"] in {u.id for u in catalog.users}
    assert ticket["requester"]["email"] == handoff.customer.email
    assert "baton" in ticket["tags"]
    assert {f"trigger_{k}" for k in handoff.trigger_kinds} <= set(ticket["tags"])
    assert all(tag == tag.lower() and " " not in tag for tag in ticket["tags"])
    fields = {f.id: f for f in catalog.fields}
    for custom in ticket["custom_fields"]:
        field = fields[custom["id"]]
        if field.options:
            assert custom["value"] in {o.value for o in field.options}
    by_name = {fields[c["id"]].name: c["value"] for c in ticket["custom_fields"]}
    assert by_name["Handoff Intent"] == handoff.intent
    assert by_name["Conversation ID"] == handoff.conversation_id


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_salesforce_upsert_and_private_comment(example: Path) -> None:
    handoff, plan, catalog = _plan("salesforce", example)
    upsert, comment = plan.requests
    assert upsert.method == "PATCH"
    assert upsert.path == (
        f"/services/data/v61.0/sobjects/Case/Baton_Handoff_Id__c/{quote(handoff.id, safe='')}"
    )
    case = upsert.json
    assert "Baton_Handoff_Id__c" not in case  # the key travels in the URL only
    assert case["Priority"] in _options(catalog, "Priority")
    assert case["Origin"] in _options(catalog, "Origin")
    owner_name = EXPECTED_ROUTES[example.name][1]
    owner = catalog.group(owner_name) or catalog.user(owner_name)
    assert owner is not None
    assert case["OwnerId"] == owner.id
    assert upsert.headers["Sforce-Auto-Assign"] == "FALSE"
    known = {str(f.id) for f in catalog.fields} | {
        "Subject",
        "Description",
        "OwnerId",
        "SuppliedName",
        "SuppliedEmail",
        "SuppliedPhone",
    }
    assert set(case) <= known
    assert len(case["Subject"]) <= 255
    assert comment.method == "POST"
    assert comment.path.endswith("/sobjects/CaseComment")
    assert comment.json["IsPublished"] is False
    assert comment.json["ParentId"] == "@{case.id}"
    assert upsert.ref == "case"
    assert len(comment.json["CommentBody"].encode()) <= 4_000


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_hubspot_ticket_and_note(example: Path) -> None:
    handoff, plan, catalog = _plan("hubspot", example)
    ticket, note = plan.requests
    assert (ticket.method, ticket.path) == ("POST", "/crm/v3/objects/tickets")
    props = ticket.json["properties"]
    assert props["baton_handoff_id"] == handoff.id
    assert upsert_row(ticket.json, "baton_handoff_id") == {
        "id": handoff.id,
        "idProperty": "baton_handoff_id",
        "properties": {k: v for k, v in props.items() if k != "baton_handoff_id"},
    }
    assert all(isinstance(v, str) for v in props.values())
    assert props["hs_ticket_priority"] in _options(catalog, "hs_ticket_priority")
    pipeline = catalog.pipeline(EXPECTED_ROUTES[example.name][2])
    assert pipeline is not None
    assert props["hs_pipeline"] == pipeline.id
    assert props["hs_pipeline_stage"] in {s.id for s in pipeline.stages}
    if "hubspot_owner_id" in props:
        assert props["hubspot_owner_id"] in {str(u.id) for u in catalog.users}
    known = {str(f.id) for f in catalog.fields} | {
        "subject",
        "content",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hubspot_owner_id",
    }
    assert set(props) <= known
    assert (note.method, note.path) == ("POST", "/crm/v3/objects/notes")
    [association] = note.json["associations"]
    assert association["to"] == {"id": "@{ticket.id}"}
    assert association["types"] == [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}
    ]
    assert note.json["properties"]["hs_timestamp"] == handoff.model_dump(mode="json")["created_at"]
    assert "Summary" in note.json["properties"]["hs_note_body"]


def _all_text(plan: Plan) -> str:
    return json.dumps([r.as_dict() for r in plan.requests], ensure_ascii=False)


@pytest.mark.parametrize("platform", ["zendesk", "salesforce", "hubspot"])
def test_preview_masks_the_credential_header(platform: str) -> None:
    _, plan, _ = _plan(platform, EXAMPLES[0])
    headers: dict[str, Any] = plan.requests[0].as_dict()["headers"]
    assert headers["Authorization"].endswith("••••••")
