"""The event webhooks a ticket change produces (Zendesk's ``zen:event-type:ticket.*``).

``comment_added`` carries ``event.comment`` as ``{id, body, is_public, author: {id, is_staff,
name}}`` (see :mod:`.facts`: the fields are UNCONFIRMED against the reference's own text)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from baton.sandbox.zendesk.facts import (
    EVENT_ENUM_UPPERCASE,
    EVENT_TYPE_PREFIX,
    WEBHOOK_EVENT_VERSION,
)
from baton.sandbox.zendesk.model import Comment, Json, Ticket, iso


def ticket_events(
    ticket: Ticket,
    before: Json | None,
    *,
    created: bool,
    deleted: bool,
    comment: Comment | None,
    account_id: int,
    actor_id: int,
    now: datetime,
    author: tuple[str, bool] | None = None,
) -> list[Json]:
    """The events of one change to ``ticket`` (``before``: its snapshot before), in sequence;
    ``author``: the comment author's name and whether they are staff (agent or admin)."""
    changes = _event_changes(
        ticket, before, created=created, deleted=deleted, comment=comment, author=author
    )
    sequence = uuid.uuid4().hex.upper()
    events: list[Json] = []
    for position, (kind, payload) in enumerate(changes, start=1):
        payload["meta"] = {"sequence": {"id": sequence, "position": position}}
        events.append(
            {
                "type": EVENT_TYPE_PREFIX + kind,
                "account_id": account_id,
                "id": str(uuid.uuid4()),
                "time": iso(now),
                "zendesk_event_version": WEBHOOK_EVENT_VERSION,
                "subject": f"zen:ticket:{ticket.id}",
                "detail": event_detail(ticket, actor_id),
                "event": payload,
            }
        )
    return events


def event_detail(ticket: Ticket, actor_id: int) -> Json:
    """An event's ``detail``: the ticket as it is after the change, ids as strings."""

    def opt(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "actor_id": str(actor_id),
        "assignee_id": opt(ticket.assignee_id),
        "brand_id": None,
        "created_at": iso(ticket.created_at),
        "description": ticket.description,
        "external_id": opt(ticket.external_id),
        "form_id": None,
        "group_id": opt(ticket.group_id),
        "id": str(ticket.id),
        "is_public": any(c.public for c in ticket.comments),
        "organization_id": None,
        "priority": _enum(ticket.priority),
        "requester_id": str(ticket.requester_id),
        "status": _enum("deleted" if ticket.deleted else ticket.status),
        "subject": ticket.subject,
        "submitter_id": str(ticket.submitter_id),
        "tags": list(ticket.tags),
        "type": _enum(ticket.type),
        "updated_at": iso(ticket.updated_at),
        "via": {"channel": "api"},
    }


def _enum(value: str | None) -> str | None:
    if value is None:
        return None
    return value.upper() if EVENT_ENUM_UPPERCASE else value


def _ref(value: Any) -> Json | None:
    return None if value is None else {"id": str(value)}


def _event_changes(
    ticket: Ticket,
    before: Json | None,
    *,
    created: bool,
    deleted: bool,
    comment: Comment | None,
    author: tuple[str, bool] | None = None,
) -> list[tuple[str, Json]]:
    """The (event kind, event object) pairs a change produces."""
    changes: list[tuple[str, Json]] = []
    if created:
        changes.append(("created", {}))
    if deleted:
        changes.append(("soft_deleted", {}))
    if before is not None and not deleted:
        after = ticket.snapshot()
        if before["status"] != after["status"]:
            current, previous = _enum(after["status"]), _enum(before["status"])
            changes.append(("status_changed", {"current": current, "previous": previous}))
        if before["priority"] != after["priority"]:
            current, previous = _enum(after["priority"]), _enum(before["priority"])
            changes.append(("priority_changed", {"current": current, "previous": previous}))
        if before["group_id"] != after["group_id"]:
            current_g, previous_g = _ref(after["group_id"]), _ref(before["group_id"])
            changes.append(
                ("group_assignment_changed", {"current": current_g, "previous": previous_g})
            )
        if before["assignee_id"] != after["assignee_id"]:
            current_a, previous_a = _ref(after["assignee_id"]), _ref(before["assignee_id"])
            changes.append(
                ("agent_assignment_changed", {"current": current_a, "previous": previous_a})
            )
        if before["tags"] != after["tags"]:
            added = [t for t in after["tags"] if t not in before["tags"]]
            removed = [t for t in before["tags"] if t not in after["tags"]]
            changes.append(("tags_changed", {"tags_added": added, "tags_removed": removed}))
    if comment is not None and not created:
        changes.append(
            (
                "comment_added",
                {
                    "comment": {
                        "id": str(comment.id),
                        "body": comment.body,
                        "is_public": comment.public,
                        "author": {
                            "id": str(comment.author_id),
                            "is_staff": author[1] if author else False,
                            "name": author[0] if author else None,
                        },
                    }
                },
            )
        )
    return changes
