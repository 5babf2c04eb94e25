"""What a mapping file may say, as pydantic models.

These models are the single source of ``mappings/schema.json`` (``baton schema mapping``
prints it; a test keeps the published file equal to it). A mapping file is one of three
shapes, chosen by its ``platform`` key, so that a Zendesk file cannot name a Salesforce queue.
Names (groups, queues, owners, fields, pipelines) are checked against the catalog later, in
:mod:`core.mapping.compiler`; here only the shape is checked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from baton.core.disposition import Outcome
from baton.core.handoff import Channel, Priority, TriggerKind

Template = Annotated[
    str,
    StringConstraints(min_length=1, max_length=5_000),
    Field(description="Text, or a Jinja2 template rendered in a sandbox with `handoff` in scope."),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
OneOrMany = Annotated[
    list[str] | str, Field(description="One value or a list; any of them matches.")
]

DerivedTag = Literal["trigger_kinds", "intent", "tier", "channel", "language", "handoff_tags"]
UnverifiedRequester = Literal["claimed", "tag", "anonymous"]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Spec):
    """Conditions of a routing rule. All given conditions must hold; a list matches any value."""

    intent: OneOrMany | None = Field(
        default=None, description="Intent globs, e.g. `billing.*` or `product.bug`."
    )
    trigger: list[TriggerKind] | TriggerKind | None = None
    tier: OneOrMany | None = Field(default=None, description="Customer tiers, case-insensitive.")
    language: OneOrMany | None = Field(
        default=None, description="Primary language subtags: `es` matches `es-MX`."
    )
    channel: list[Channel] | Channel | None = None
    priority: list[Priority] | Priority | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> When:
        if not self.model_fields_set:
            raise ValueError("give at least one condition; use `default` for the fallback route")
        return self


class FieldValue(_Spec):
    """A native or custom field, addressed by its name in the platform (never only its id)."""

    field: Name = Field(description="Field name as the platform shows it, or its API name.")
    value: Template
    map: dict[str, str] | None = Field(
        default=None, description="Translate the rendered value before it is sent."
    )


class Tags(_Spec):
    """Tags: static, templated and derived from the handoff."""

    static: list[Name] = Field(default_factory=list)
    templated: list[Template] = Field(default_factory=list)
    derived: list[DerivedTag] = Field(default_factory=list)
    field: Name | None = Field(
        default=None,
        description="Salesforce and HubSpot have no native tags: the text field that holds them.",
    )


class Note(_Spec):
    """The internal note carrying the handoff's context."""

    template: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+\.j2$")] = Field(
        description="A file in mappings/templates/."
    )
    max_chars: Annotated[int, Field(ge=200)] | None = Field(
        default=None, description="Lower than the platform's own limit if you want it shorter."
    )
    max_transcript_turns: Annotated[int, Field(ge=0, le=500)] = 40


class FallbackRequester(_Spec):
    """The requester a ticket gets when the customer's own identity cannot or may not be used.

    Both are required: Zendesk creates a requester it does not know yet only from a name and an
    email, so Baton never sends one without the other.
    """

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Email


class _Common(_Spec):
    version: Literal[1]
    subject: Template
    description: Template | None = None
    priority: dict[Priority, Name] = Field(
        description="Handoff priority → the platform's priority value."
    )
    fields: list[FieldValue] = Field(default_factory=list)
    tags: Tags = Field(default_factory=Tags)
    note: Note
    unverified_requester: UnverifiedRequester = Field(
        default="tag",
        description="When the customer is not authenticated but claims an email or phone: "
        "`claimed` makes that identity the requester as is; `tag` (the default) keeps it as "
        "requester but adds the `identity_unverified` tag and a warning at the top of the note; "
        "`anonymous` does not use it as requester (the fallback requester applies) and the "
        "claimed details stay in the note, with the same tag and warning.",
    )
    fallback_requester: FallbackRequester | None = Field(
        default=None,
        description="The requester when the customer's identity is unusable (Zendesk needs an "
        "email) or set aside by `unverified_requester: anonymous`. Zendesk gets it as the "
        "requester (without it, Zendesk makes the API user the requester); Salesforce as "
        "SuppliedName/SuppliedEmail; HubSpot tickets have no requester, so it is unused there.",
    )
    dispositions: dict[Name, Outcome] = Field(
        description="Platform status (Zendesk), Status value (Salesforce) or pipeline stage "
        "name (HubSpot) → Baton outcome."
    )

    @model_validator(mode="before")
    @classmethod
    def _priority_complete(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("priority"), dict):
            missing = [p for p in ("low", "normal", "high", "urgent") if p not in data["priority"]]
            if missing:
                raise ValueError(f"priority: map every handoff priority; missing {missing}")
        return data


class ZendeskTarget(_Spec):
    """Where a Zendesk ticket goes: a group, an agent, or both."""

    group: Name | None = None
    assignee: Name | None = Field(default=None, description="Agent name or email.")

    @model_validator(mode="after")
    def _some_target(self) -> ZendeskTarget:
        if self.group is None and self.assignee is None:
            raise ValueError("name a group, an assignee, or both")
        return self


class ZendeskRule(ZendeskTarget):
    """A Zendesk routing rule."""

    name: Name
    when: When


class ZendeskRouting(_Spec):
    """Zendesk routing: rules, first match wins; `default` when none matches."""

    rules: list[ZendeskRule] = Field(default_factory=list)
    default: ZendeskTarget
    backup: ZendeskTarget | None = Field(
        default=None, description="Used when the platform refuses the chosen target."
    )


class ZendeskTicketType(_Spec):
    """The Zendesk ticket type, by intent glob; first match wins."""

    default: Literal["problem", "incident", "question", "task"] = "question"
    by_intent: dict[str, Literal["problem", "incident", "question", "task"]] = Field(
        default_factory=dict
    )


class ZendeskMapping(_Common):
    """A mapping to Zendesk Support tickets."""

    platform: Literal["zendesk"]
    ticket_type: ZendeskTicketType = Field(default_factory=ZendeskTicketType)
    routing: ZendeskRouting


class SalesforceTarget(_Spec):
    """Where a Salesforce case goes: a queue or a user (both become OwnerId)."""

    queue: Name | None = None
    owner: Name | None = Field(default=None, description="User name or email.")

    @model_validator(mode="after")
    def _one_owner(self) -> SalesforceTarget:
        if (self.queue is None) == (self.owner is None):
            raise ValueError("name exactly one of queue or owner: both become the case's OwnerId")
        return self


class SalesforceRule(SalesforceTarget):
    """A Salesforce routing rule."""

    name: Name
    when: When


class SalesforceRouting(_Spec):
    """Salesforce routing: rules, first match wins; `default` when none matches."""

    rules: list[SalesforceRule] = Field(default_factory=list)
    default: SalesforceTarget
    backup: SalesforceTarget | None = None


class SalesforceMapping(_Common):
    """A mapping to Salesforce cases."""

    platform: Literal["salesforce"]
    api_version: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,3}\.0$")] = "61.0"
    external_id_field: Name = Field(
        description="An External ID + Unique text field on Case holding the handoff id."
    )
    routing: SalesforceRouting


class HubspotTarget(_Spec):
    """Where a HubSpot ticket goes: a pipeline (and stage) and optionally an owner."""

    pipeline: Name | None = None
    stage: Name | None = Field(default=None, description="Defaults to the pipeline's first stage.")
    owner: Name | None = Field(default=None, description="Owner name or email.")

    @model_validator(mode="after")
    def _some_target(self) -> HubspotTarget:
        if self.pipeline is None and self.owner is None:
            raise ValueError("name a pipeline, an owner, or both")
        if self.stage is not None and self.pipeline is None:
            raise ValueError("a stage needs its pipeline")
        return self


class HubspotRule(HubspotTarget):
    """A HubSpot routing rule."""

    name: Name
    when: When


class HubspotRouting(_Spec):
    """HubSpot routing: rules, first match wins; `default` (with a pipeline) when none matches."""

    rules: list[HubspotRule] = Field(default_factory=list)
    default: HubspotTarget
    backup: HubspotTarget | None = None


class HubspotMapping(_Common):
    """A mapping to HubSpot tickets."""

    platform: Literal["hubspot"]
    id_property: Name = Field(
        description="A ticket property with unique values that holds the handoff id."
    )
    routing: HubspotRouting


MappingSpec = Annotated[
    ZendeskMapping | SalesforceMapping | HubspotMapping, Field(discriminator="platform")
]
