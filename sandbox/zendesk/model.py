"""The records of a Zendesk account and their API representations (``to_json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]


def iso(when: datetime | None) -> str | None:
    """Zendesk's timestamp format: ``2024-01-02T03:04:05Z``."""
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    """An agent, admin or end user."""

    id: int
    name: str
    email: str | None
    role: str
    created_at: datetime

    def to_json(self, base: str) -> Json:
        """The API representation."""
        return {
            "id": self.id,
            "url": f"{base}/api/v2/users/{self.id}.json",
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "active": True,
            "verified": True,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


@dataclass
class Group:
    """A group of agents."""

    id: int
    name: str
    created_at: datetime

    def to_json(self, base: str) -> Json:
        """The API representation."""
        return {
            "id": self.id,
            "url": f"{base}/api/v2/groups/{self.id}.json",
            "name": self.name,
            "deleted": False,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


@dataclass
class TicketField:
    """A custom ticket field; ``tagger`` is a dropdown whose option values are tags."""

    id: int
    title: str
    type: str
    options: list[Json]

    def to_json(self, base: str) -> Json:
        """The API representation."""
        body: Json = {
            "id": self.id,
            "url": f"{base}/api/v2/ticket_fields/{self.id}.json",
            "type": self.type,
            "title": self.title,
            "active": True,
            "required": False,
        }
        if self.options:
            body["custom_field_options"] = [
                {"id": self.id * 1000 + i, "name": o["name"], "value": o["value"]}
                for i, o in enumerate(self.options)
            ]
        return body


@dataclass
class Comment:
    """A ticket comment; ``public=False`` is an internal note."""

    id: int
    author_id: int
    body: str
    html_body: str
    public: bool
    audit_id: int
    created_at: datetime

    def to_json(self) -> Json:
        """The API representation."""
        return {
            "id": self.id,
            "type": "Comment",
            "author_id": self.author_id,
            "body": self.body,
            "html_body": self.html_body,
            "plain_text": self.body,
            "public": self.public,
            "attachments": [],
            "audit_id": self.audit_id,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(self.created_at),
            "metadata": {"system": {}, "custom": {}},
        }


@dataclass
class Metrics:
    """What a ticket's history has accumulated for ``/metrics.json``."""

    first_reply_at: datetime | None = None
    solved_times: list[datetime] = field(default_factory=list)
    reopens: int = 0
    replies: int = 0
    group_stations: int = 0
    assignee_stations: int = 0
    assigned_at: datetime | None = None
    initially_assigned_at: datetime | None = None
    status_updated_at: datetime | None = None
    latest_comment_added_at: datetime | None = None


@dataclass
class Ticket:
    """A ticket and its history."""

    id: int
    subject: str | None
    description: str
    status: str
    priority: str | None
    type: str | None
    requester_id: int
    submitter_id: int
    assignee_id: int | None
    group_id: int | None
    tags: list[str]
    custom_fields: dict[int, Any]
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    seq: int = 0
    deleted: bool = False
    comments: list[Comment] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    satisfaction: Json | None = None

    def snapshot(self) -> Json:
        """The fields webhooks compare before and after a change."""
        return {
            "status": "deleted" if self.deleted else self.status,
            "priority": self.priority,
            "assignee_id": self.assignee_id,
            "group_id": self.group_id,
            "tags": list(self.tags),
        }

    def to_json(self, base: str) -> Json:
        """The API representation."""
        rating = self.satisfaction or {"score": "unoffered"}
        custom = [{"id": fid, "value": value} for fid, value in self.custom_fields.items()]
        return {
            "id": self.id,
            "url": f"{base}/api/v2/tickets/{self.id}.json",
            "external_id": self.external_id,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "generated_timestamp": int(self.updated_at.timestamp()),
            "type": self.type,
            "subject": self.subject,
            "raw_subject": self.subject,
            "description": self.description,
            "priority": self.priority,
            "status": "deleted" if self.deleted else self.status,
            "recipient": None,
            "requester_id": self.requester_id,
            "submitter_id": self.submitter_id,
            "assignee_id": self.assignee_id,
            "organization_id": None,
            "group_id": self.group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "problem_id": None,
            "has_incidents": False,
            "is_public": any(c.public for c in self.comments),
            "due_at": None,
            "tags": list(self.tags),
            "custom_fields": custom,
            "fields": custom,
            "satisfaction_rating": rating,
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "brand_id": None,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }


@dataclass
class IdempotencyRecord:
    """The answer given to a create under an ``Idempotency-Key``, kept until ``expires_at``."""

    fingerprint: str
    response: Json
    expires_at: datetime
