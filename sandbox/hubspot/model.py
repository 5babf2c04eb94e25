"""The portal's CRM data: object types, HubSpot's time formats, property definitions (the
built-in ones Baton's objects carry), pipelines and stages, owners and records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.errors import fail

Json = dict[str, Any]
OBJECT_TYPES = tuple(facts.OBJECT_TYPE_IDS)
_ALIASES = {
    **{name: name for name in OBJECT_TYPES},
    **{name[:-1]: name for name in OBJECT_TYPES},
    **{type_id: name for name, type_id in facts.OBJECT_TYPE_IDS.items()},
}


def object_type(name: str) -> str:
    """The object type a path names (``tickets``, ``ticket`` or ``0-5``); 400 if unknown."""
    found = _ALIASES.get(name.lower())
    if found is None:
        raise fail(400, facts.VALIDATION_ERROR, f"Unable to infer object type from: {name}")
    return found


def hs_time(when: datetime) -> str:
    """A date-time property or timestamp as HubSpot writes it: ISO-8601, milliseconds, Z."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_ms(when: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(when.timestamp() * 1000)


def parse_time(value: str) -> datetime | None:
    """Epoch milliseconds or ISO-8601 (a date alone is midnight UTC); None if neither."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class PropertyDef:
    """One property of an object type, as ``GET /crm/v3/properties/{object}`` describes it."""

    name: str
    label: str
    type: str = "string"  # string | number | enumeration | datetime | date | bool
    field_type: str = "text"
    options: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    has_unique_value: bool = False
    read_only: bool = False
    custom: bool = False
    group: str = "ticketinformation"

    def describe(self, created: datetime) -> Json:
        """The property as the properties API answers it."""
        stamp = hs_time(created)
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": "",
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": i, "hidden": False}
                for i, (label, value) in enumerate(self.options)
            ],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "hubspotDefined": not self.custom,
            "formField": False,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "modificationMetadata": {
                "archivable": self.custom,
                "readOnlyDefinition": not self.custom,
                "readOnlyValue": self.read_only,
            },
        }


@dataclass
class Stage:
    """A ticket pipeline stage; ``closed`` is metadata.ticketState CLOSED."""

    id: str
    label: str
    closed: bool = False


@dataclass
class Pipeline:
    """A ticket pipeline and its stages, in order."""

    id: str
    label: str
    stages: list[Stage]

    def stage(self, wanted: str) -> Stage | None:
        """The stage with id or label ``wanted`` (labels case-insensitive)."""
        for stage in self.stages:
            if stage.id == wanted or stage.label.lower() == wanted.lower():
                return stage
        return None


@dataclass
class Owner:
    """A user who can own records."""

    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int


@dataclass
class Record:
    """One CRM record; property values are strings (None: no value)."""

    id: str
    object_type: str
    properties: dict[str, str | None]
    created: datetime
    updated: datetime
    archived: bool = False
    archived_at: datetime | None = None
    merged_into: str | None = None
    # every value each property took, oldest first: (value, "" if cleared; when; change source)
    history: dict[str, list[tuple[str, datetime, str]]] = field(default_factory=dict)

    def describe(self, names: list[str] | None = None) -> Json:
        """``{id, properties, createdAt, updatedAt, archived}`` with the named properties."""
        wanted = self.properties if names is None else {n: self.properties.get(n) for n in names}
        body: Json = {
            "id": self.id,
            "properties": dict(wanted),
            "createdAt": hs_time(self.created),
            "updatedAt": hs_time(self.updated),
            "archived": self.archived,
        }
        if self.archived_at is not None:
            body["archivedAt"] = hs_time(self.archived_at)
        return body


Emit = Callable[..., None]


def ticket_properties() -> list[PropertyDef]:
    """The ticket properties every portal has, Baton's unique handoff id among them."""
    return [
        PropertyDef("subject", "Ticket name"),
        PropertyDef("content", "Ticket description", field_type="textarea"),
        PropertyDef("hs_pipeline", "Pipeline", "enumeration", "select"),
        PropertyDef("hs_pipeline_stage", "Ticket status", "enumeration", "select"),
        PropertyDef("hubspot_owner_id", "Ticket owner", "enumeration", "select"),
        PropertyDef(
            "source_type",
            "Source",
            "enumeration",
            "select",
            [("Chat", "CHAT"), ("Email", "EMAIL"), ("Form", "FORM"), ("Phone", "PHONE")],
        ),
        PropertyDef("closed_date", "Close date", "datetime", "date", read_only=True),
        PropertyDef(
            facts.LAST_ACTIVITY_DATE, "Last activity date", "datetime", "date", read_only=True
        ),
        PropertyDef(facts.TIME_TO_CLOSE, "Time to close", "number", "number", read_only=True),
        PropertyDef(
            facts.FIRST_AGENT_REPLY_DATE,
            "First agent reply date",
            "datetime",
            "date",
            read_only=True,
        ),
        PropertyDef(
            facts.TIME_TO_FIRST_AGENT_REPLY,
            "Time to first agent reply",
            "number",
            "number",
            read_only=True,
        ),
        PropertyDef("hs_object_id", "Record ID", "number", "number", read_only=True),
        PropertyDef("createdate", "Create date", "datetime", "date", read_only=True),
        PropertyDef(
            "hs_lastmodifieddate", "Last modified date", "datetime", "date", read_only=True
        ),
        PropertyDef(
            facts.MERGED_IDS_PROPERTY,
            "Merged record IDs",
            "enumeration",
            "checkbox",
            read_only=True,
        ),
    ]


def _common(group: str) -> list[PropertyDef]:
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "number", read_only=True, group=group),
        PropertyDef("createdate", "Create date", "datetime", "date", read_only=True, group=group),
        PropertyDef(
            "hs_lastmodifieddate",
            "Last modified date",
            "datetime",
            "date",
            read_only=True,
            group=group,
        ),
        PropertyDef("hubspot_owner_id", "Owner", "enumeration", "select", group=group),
    ]


def other_properties() -> dict[str, list[PropertyDef]]:
    """The properties of the other object types the sandbox holds."""
    return {
        "contacts": [
            *_common("contactinformation"),
            PropertyDef("email", "Email", has_unique_value=True, group="contactinformation"),
            PropertyDef("firstname", "First name", group="contactinformation"),
            PropertyDef("lastname", "Last name", group="contactinformation"),
            PropertyDef("phone", "Phone number", group="contactinformation"),
        ],
        "notes": [
            *_common("engagement"),
            PropertyDef("hs_note_body", "Note body", field_type="html", group="engagement"),
            PropertyDef("hs_timestamp", "Activity date", "datetime", "date", group="engagement"),
            PropertyDef("hs_attachment_ids", "Attachment IDs", group="engagement"),
        ],
        "emails": [
            *_common("email"),
            PropertyDef("hs_email_text", "Email body", field_type="textarea", group="email"),
            PropertyDef("hs_email_html", "Email HTML", field_type="html", group="email"),
            PropertyDef("hs_email_subject", "Subject", group="email"),
            PropertyDef(
                "hs_email_direction",
                "Direction",
                "enumeration",
                "select",
                [
                    ("Outgoing", "EMAIL"),
                    ("Incoming", "INCOMING_EMAIL"),
                    ("Forwarded", "FORWARDED_EMAIL"),
                ],
                group="email",
            ),
            PropertyDef("hs_timestamp", "Activity date", "datetime", "date", group="email"),
            PropertyDef(
                "hs_email_status",
                "Email send status",
                "enumeration",
                "select",
                [(v.title(), v) for v in ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT")],
                group="email",
            ),
        ],
    }
