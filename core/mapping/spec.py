"""What every mapping file may say, as pydantic models; each platform adds its own part.

A platform plugin's ``mapping_model`` subclasses :class:`MappingBase` with its ``platform``
literal, its routing (a :class:`RoutingBase` of its own :class:`TargetBase` and
:class:`RuleBase`) and any keys of its own. Together the plugins' models are the single source
of ``mappings/schema.json`` (``baton schema mapping`` prints it; a test keeps the published
file equal to it). A mapping file is one of those shapes, chosen by its ``platform`` key, so
that one platform's file cannot name another's queue. Names (groups, queues, owners, fields,
pipelines) are checked against the catalog later, in :mod:`core.mapping.compiler`; here only
the shape is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class Spec(BaseModel):
    """A part of a mapping file: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class When(Spec):
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


class FieldValue(Spec):
    """A native or custom field, addressed by its name in the platform (never only its id)."""

    field: Name = Field(description="Field name as the platform shows it, or its API name.")
    value: Template
    map: dict[str, str] | None = Field(
        default=None, description="Translate the rendered value before it is sent."
    )


class Tags(Spec):
    """Tags: static, templated and derived from the handoff."""

    static: list[Name] = Field(default_factory=list)
    templated: list[Template] = Field(default_factory=list)
    derived: list[DerivedTag] = Field(default_factory=list)
    field: Name | None = Field(
        default=None,
        description="For platforms without native tags: the text field that holds them.",
    )


class Note(Spec):
    """The internal note carrying the handoff's context."""

    template: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+\.j2$")] = Field(
        description="A file in mappings/templates/."
    )
    max_chars: Annotated[int, Field(ge=200)] | None = Field(
        default=None, description="Lower than the platform's own limit if you want it shorter."
    )
    max_transcript_turns: Annotated[int, Field(ge=0, le=500)] = 40


class FallbackRequester(Spec):
    """The requester a ticket gets when the customer's own identity cannot or may not be used.

    Both are required: some platforms create a requester they do not know yet only from a name
    and an email, so Baton never sends one without the other.
    """

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Email


DurationText = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{0,5}[smhd]$"),
    Field(description="A duration: a number and s, m, h or d, e.g. `30m`, `4h`, `2d`."),
]
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration_seconds(text: str) -> int:
    """``30m`` → 1800."""
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]


class Sla(Spec):
    """Service-level targets for the tickets of a route, as wall time the platform reports."""

    first_response: DurationText | None = None
    resolution: DurationText | None = None

    @model_validator(mode="after")
    def _some_target(self) -> Sla:
        if self.first_response is None and self.resolution is None:
            raise ValueError("give first_response, resolution, or both")
        return self


class ValueAtStake(Spec):
    """A number the handoffs carry (a fact, e.g. an order total or ARR) that the learning report
    sums per dimension and outcome: how much value sat in transferred or reopened escalations."""

    fact: OneOrMany = Field(
        description="The fact key holding the number; with a list, the first one a handoff has."
    )
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16)] = Field(
        description="What the number counts, e.g. `USD`: shown beside every sum."
    )

    @property
    def facts(self) -> tuple[str, ...]:
        """The fact keys, in the order they are tried."""
        return (self.fact,) if isinstance(self.fact, str) else tuple(self.fact)


class TargetBase(Spec):
    """Where a ticket goes; each platform says by which names (group, queue, pipeline, …)."""

    sla: Sla | None = Field(
        default=None, description="Targets the learning report measures this route against."
    )


class RuleBase(TargetBase):
    """A routing rule: its name and conditions; the platform's target keys come with it."""

    name: Name
    when: When


class RoutingBase(Spec):
    """Routing: rules, first match wins; `default` when none matches."""

    rules: Sequence[RuleBase] = Field(default_factory=list)
    default: TargetBase
    backup: TargetBase | None = Field(
        default=None, description="Used when the platform refuses the chosen target."
    )


class MappingBase(Spec):
    """What every mapping file says, whatever its platform."""

    platform: str
    routing: RoutingBase
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
        description="The requester when the customer's identity is unusable (some platforms "
        "need an email) or set aside by `unverified_requester: anonymous`. Each platform sends "
        "it the way it names a ticket's requester; a platform without one ignores it.",
    )
    dispositions: dict[Name, Outcome] = Field(
        description="The platform's ticket status (or stage) → Baton outcome."
    )
    value_at_stake: ValueAtStake | None = Field(
        default=None,
        description="A number the handoffs carry as a fact, summed by `baton report`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _priority_complete(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("priority"), dict):
            missing = [p for p in ("low", "normal", "high", "urgent") if p not in data["priority"]]
            if missing:
                raise ValueError(f"priority: map every handoff priority; missing {missing}")
        return data
