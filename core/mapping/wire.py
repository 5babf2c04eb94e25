"""Ticket drafts → the exact HTTP requests each platform receives (PLATFORMS.md).

A later request may need an id from an earlier response: it says so with Salesforce's own
composite reference syntax, ``@{<ref>.id}``, and the earlier request carries that ``ref``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from baton.core.mapping import facts
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import HubspotMapping, SalesforceMapping

JSON = "application/json"


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request as it will be sent (less the credentials)."""

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any]
    ref: str | None = None
    auth: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The request as preview JSON, with the credential header masked."""
        headers = dict(self.headers)
        if self.auth:
            headers = {"Authorization": f"{self.auth} ••••••", **headers}
        return {"method": self.method, "path": self.path, "headers": headers, "json": self.json}


def zendesk_requester(draft: TicketDraft) -> dict[str, str] | None:
    """The ``requester`` object, only in a shape Zendesk accepts; None to send none.

    Zendesk creates a requester it does not know from a name and an email, both required (an
    existing user is found by email alone). Without an email the mapping's fallback requester
    is sent; without one, nothing, and Zendesk makes the submitter (the API user) the requester.
    """
    claimed = draft.requester
    if claimed is not None and claimed.email:
        return {"name": claimed.name or claimed.email, "email": claimed.email}
    fallback = draft.fallback_requester
    if fallback is not None and fallback.name and fallback.email:
        return {"name": fallback.name, "email": fallback.email}
    return None


def zendesk_requests(draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
    """One create carrying everything, idempotent through its key and external_id."""
    ticket: dict[str, Any] = {
        "subject": draft.subject,
        "comment": {"html_body": draft.note, "public": False},
        "priority": draft.priority,
        "type": draft.ticket_type,
        "tags": draft.tags,
        "external_id": draft.handoff_id,
        **draft.target.fields,
    }
    requester = zendesk_requester(draft)
    if requester is not None:
        ticket["requester"] = requester
    if draft.fields:
        ticket["custom_fields"] = [
            {"id": key, "value": value} for key, value in draft.fields.items()
        ]
    headers = {"Content-Type": JSON, "Idempotency-Key": draft.handoff_id}
    return [
        PlannedRequest(
            "POST", "/api/v2/tickets.json", headers, {"ticket": ticket}, "ticket", "Basic"
        )
    ]


def salesforce_requests(draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
    """An upsert on the external-id field, then the internal note as a private CaseComment."""
    spec = mapping.spec
    assert isinstance(spec, SalesforceMapping)
    base = f"/services/data/v{spec.api_version}/sobjects"
    case: dict[str, Any] = {
        "Subject": draft.subject[: facts.SALESFORCE_SUBJECT_MAX_CHARS],
        "Priority": draft.priority,
        **draft.target.fields,
        **{str(key): value for key, value in draft.fields.items()},
    }
    if draft.description:
        case["Description"] = draft.description[: facts.SALESFORCE_DESCRIPTION_MAX_CHARS]
    who = draft.requester or draft.fallback_requester
    if who is not None:
        supplied = (
            ("SuppliedName", who.name),
            ("SuppliedEmail", who.email),
            ("SuppliedPhone", who.phone),
        )
        case.update({key: value for key, value in supplied if value})
    headers = {"Content-Type": JSON}
    if "OwnerId" in case:
        headers["Sforce-Auto-Assign"] = "FALSE"  # else assignment rules may overwrite OwnerId
    upsert_path = f"{base}/Case/{spec.external_id_field}/{quote(draft.handoff_id, safe='')}"
    comment = {"ParentId": "@{case.id}", "CommentBody": draft.note, "IsPublished": False}
    return [
        PlannedRequest("PATCH", upsert_path, headers, case, "case", "Bearer"),
        PlannedRequest(
            "POST", f"{base}/CaseComment", {"Content-Type": JSON}, comment, None, "Bearer"
        ),
    ]


def hubspot_requests(draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
    """A batch upsert keyed on the unique handoff-id property, then a note on the ticket."""
    spec = mapping.spec
    assert isinstance(spec, HubspotMapping)
    properties: dict[str, Any] = {
        "subject": draft.subject,
        "hs_ticket_priority": draft.priority,
        **draft.target.fields,
        **{str(key): value for key, value in draft.fields.items()},
    }
    if draft.description:
        properties["content"] = draft.description
    # HubSpot's object inputs take every property value as a string.
    properties = {key: _hubspot_text(value) for key, value in properties.items()}
    upsert = {
        "inputs": [
            {"id": draft.handoff_id, "idProperty": spec.id_property, "properties": properties}
        ]
    }
    association = mapping.catalog.association_types.get(
        "note_to_ticket", facts.HUBSPOT_NOTE_TO_TICKET_DEFAULT
    )
    note = {
        "properties": {"hs_note_body": draft.note, "hs_timestamp": draft.created_at},
        "associations": [
            {
                "to": {"id": "@{ticket.id}"},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association}
                ],
            }
        ],
    }
    headers = {"Content-Type": JSON}
    return [
        PlannedRequest(
            "POST", "/crm/v3/objects/tickets/batch/upsert", headers, upsert, "ticket", "Bearer"
        ),
        PlannedRequest("POST", "/crm/v3/objects/notes", headers, note, None, "Bearer"),
    ]


def _hubspot_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


BUILDERS: dict[str, Callable[[TicketDraft, CompiledMapping], list[PlannedRequest]]] = {
    "zendesk": zendesk_requests,
    "salesforce": salesforce_requests,
    "hubspot": hubspot_requests,
}
