"""The ToyDesk part of a mapping: its YAML shape, its queue targets and the request it makes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from baton.core.catalog import Catalog
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, Name, RoutingBase, RuleBase, TargetBase
from baton.core.mapping.targets import Report, Target, unknown
from baton.core.mapping.wire import JSON, PlannedRequest
from tests.support.toydesk import facts


class ToydeskTarget(TargetBase):
    """Where a ToyDesk ticket goes: one queue, by name."""

    queue: Name


class ToydeskRule(ToydeskTarget, RuleBase):
    """A ToyDesk routing rule."""


class ToydeskRouting(RoutingBase):
    """ToyDesk routing: rules, first match wins; `default` when none matches."""

    rules: list[ToydeskRule] = Field(default_factory=list)
    default: ToydeskTarget
    backup: ToydeskTarget | None = Field(
        default=None, description="Used when the platform refuses the chosen queue."
    )


class ToydeskMapping(MappingBase):
    """A mapping to ToyDesk tickets."""

    platform: Literal["toydesk"]
    routing: ToydeskRouting


def toydesk_target(
    spec: TargetBase | RuleBase, path: list[str | int], catalog: Catalog, report: Report
) -> Target:
    """queue name → ``queue_id``; an unknown name is reported at ``<path>.queue``."""
    if not isinstance(spec, ToydeskTarget):
        report(path, "not a ToyDesk routing target")
        return Target()
    queue = catalog.group(spec.queue)
    if queue is None:
        report([*path, "queue"], unknown("queue", spec.queue, [g.name for g in catalog.groups]))
        return Target()
    return Target({"queue_id": queue.id}, f"queue {queue.name}")


def _requester(draft: TicketDraft) -> dict[str, str] | None:
    """The customer's name and email when there is an email, else the mapping's fallback."""
    for who in (draft.requester, draft.fallback_requester):
        if who is not None and who.email:
            return {"name": who.name or who.email, "email": who.email}
    return None


def toydesk_requests(draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
    """A create, idempotent through its ``Idempotency-Key`` and ``external_id``; then the
    internal note, a request of its own that no key protects (its marker does, O7)."""
    ticket: dict[str, Any] = {
        "external_id": draft.handoff_id,
        "subject": draft.subject,
        "priority": draft.priority,
        "tags": draft.tags,
        **draft.target.fields,
        "fields": {str(key): value for key, value in draft.fields.items()},
    }
    if draft.description is not None:
        ticket["description"] = draft.description
    requester = _requester(draft)
    if requester is not None:
        ticket["requester"] = requester
    headers = {"Content-Type": JSON, "Idempotency-Key": draft.handoff_id}
    notes = facts.NOTES_PATH.format(id="@{ticket.id}")
    return [
        PlannedRequest("POST", facts.TICKETS_PATH, headers, {"ticket": ticket}, "ticket", "Bearer"),
        PlannedRequest(
            "POST", notes, {"Content-Type": JSON}, {"note": {"body": draft.note}}, None, "Bearer"
        ),
    ]
