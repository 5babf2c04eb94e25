"""The Zendesk part of a mapping: its YAML shape, its routing targets and the request it makes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from baton.connectors.zendesk import facts
from baton.core.catalog import Catalog
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, Name, RoutingBase, RuleBase, Spec, TargetBase
from baton.core.mapping.targets import Report, Target, unknown
from baton.core.mapping.wire import JSON, PlannedRequest

TicketType = Literal["problem", "incident", "question", "task"]


class ZendeskTarget(TargetBase):
    """Where a Zendesk ticket goes: a group, an agent, or both."""

    group: Name | None = None
    assignee: Name | None = Field(default=None, description="Agent name or email.")

    @model_validator(mode="after")
    def _some_target(self) -> ZendeskTarget:
        if self.group is None and self.assignee is None:
            raise ValueError("name a group, an assignee, or both")
        return self


class ZendeskRule(ZendeskTarget, RuleBase):
    """A Zendesk routing rule."""


class ZendeskRouting(RoutingBase):
    """Zendesk routing: rules, first match wins; `default` when none matches."""

    rules: list[ZendeskRule] = Field(default_factory=list)
    default: ZendeskTarget
    backup: ZendeskTarget | None = Field(
        default=None, description="Used when the platform refuses the chosen target."
    )


class ZendeskTicketType(Spec):
    """The Zendesk ticket type, by intent glob; first match wins."""

    default: TicketType = "question"
    by_intent: dict[str, TicketType] = Field(default_factory=dict)


class ZendeskMapping(MappingBase):
    """A mapping to Zendesk Support tickets."""

    platform: Literal["zendesk"]
    ticket_type: ZendeskTicketType = Field(default_factory=ZendeskTicketType)
    routing: ZendeskRouting


def zendesk_target(spec: Any, path: list[str | int], catalog: Catalog, report: Report) -> Target:
    """group → group_id, assignee → assignee_id."""
    fields: dict[str, str | int] = {}
    labels = []
    if spec.group is not None:
        group = catalog.group(spec.group)
        if group is None:
            report([*path, "group"], unknown("group", spec.group, [g.name for g in catalog.groups]))
        else:
            fields["group_id"] = group.id
            labels.append(f"group {group.name}")
    if spec.assignee is not None:
        user = catalog.user(spec.assignee)
        if user is None:
            names = [u.name for u in catalog.users]
            report([*path, "assignee"], unknown("agent", spec.assignee, names))
        else:
            fields["assignee_id"] = user.id
            labels.append(f"agent {user.name}")
    return Target(fields, ", ".join(labels))


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
        PlannedRequest("POST", facts.TICKETS_PATH, headers, {"ticket": ticket}, "ticket", "Basic")
    ]
