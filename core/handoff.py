"""The handoff: one typed decision by an AI agent that a conversation needs a person.

Models are strict (no silent coercion of ``"5"`` into ``5``) and closed (unknown keys are
errors, except under ``metadata``). Enumerations are ``Literal`` types so that strict
validation accepts plain JSON strings in both JSON and Python mode.

Use :func:`parse_handoff` at every entry point: it checks the size before parsing and turns
pydantic's errors into :class:`core.errors.ValidationError` with field paths and no input
values (a transcript must never leak into an error message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core.errors import Problem, ValidationError

MAX_HANDOFF_BYTES = 1024 * 1024
MAX_TRANSCRIPT_MESSAGES = 500
MAX_MESSAGE_CHARS = 20_000
MAX_SUMMARY_CHARS = 5_000

HANDOFF_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
HandoffId = Annotated[str, StringConstraints(pattern=HANDOFF_ID_PATTERN)]

Platform = Literal["zendesk", "salesforce", "hubspot"]
PLATFORMS: tuple[Platform, ...] = ("zendesk", "salesforce", "hubspot")

Channel = Literal["chat", "email", "voice", "sms", "social", "web", "other"]
Priority = Literal["low", "normal", "high", "urgent"]
Role = Literal["customer", "agent", "system", "tool"]
TriggerKind = Literal[
    "explicit_request",
    "sentiment",
    "complexity",
    "risk",
    "authentication",
    "high_value",
    "regulatory",
    "repeated_failure",
    "policy",
    "low_confidence",
    "other",
]


def _require_timezone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone offset, e.g. 2026-11-21T10:00:00Z")
    return value


# Datetimes arrive as ISO-8601 strings from JSON and from dicts alike, so they opt out of strict.
AwareDatetime = Annotated[datetime, Field(strict=False), AfterValidator(_require_timezone)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Text = Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=80)]
LanguageTag = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", max_length=35)
]
Score01 = Annotated[float, Field(ge=0.0, le=1.0, strict=False)]
FactKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
FactValue = Annotated[str, StringConstraints(max_length=2_000)] | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Customer(_Model):
    """Who the conversation is with. Every field is optional; give what the agent knows."""

    id: ShortText | None = None
    name: ShortText | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()./-]{3,32}$")] | None = None
    account_id: ShortText | None = None
    account_name: ShortText | None = None
    tier: Annotated[str, StringConstraints(max_length=64)] | None = None
    authenticated: bool = False


class Trigger(_Model):
    """One reason the agent decided to hand off."""

    kind: TriggerKind
    detail: Annotated[str, StringConstraints(max_length=1_000)] | None = None
    score: Score01 | None = None


class Sentiment(_Model):
    """The customer's sentiment as the agent measured it."""

    score: Annotated[float, Field(ge=-1.0, le=1.0, strict=False)]
    label: Annotated[str, StringConstraints(max_length=32)] | None = None


class Message(_Model):
    """One turn of the conversation."""

    role: Role
    text: Text
    at: AwareDatetime | None = None


class ActionTaken(_Model):
    """Something the AI agent already did, and how it went."""

    action: Annotated[str, StringConstraints(min_length=1, max_length=1_000)]
    outcome: Annotated[str, StringConstraints(max_length=1_000)] | None = None
    at: AwareDatetime | None = None


class Routing(_Model):
    """Hints from the agent; the mapping's routing rules decide."""

    queue: ShortText | None = None
    skills: list[Tag] = Field(default_factory=list, max_length=50)
    assignee: ShortText | None = None
    language: LanguageTag | None = None


class Handoff(_Model):
    """The thin handoff: everything a human needs to pick the conversation up."""

    id: HandoffId = Field(description="Caller's handoff id; the idempotency key end to end.")
    created_at: AwareDatetime
    conversation_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    channel: Channel
    language: LanguageTag | None = None
    customer: Customer = Field(default_factory=Customer)
    intent: Annotated[
        str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=128)
    ]
    triggers: list[Trigger] = Field(min_length=1, max_length=20)
    sentiment: Sentiment | None = None
    priority: Priority = "normal"
    summary: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUMMARY_CHARS)]
    transcript: list[Message] = Field(default_factory=list, max_length=MAX_TRANSCRIPT_MESSAGES)
    actions_taken: list[ActionTaken] = Field(default_factory=list, max_length=100)
    next_steps: list[Annotated[str, StringConstraints(max_length=1_000)]] = Field(
        default_factory=list, max_length=50
    )
    facts: dict[FactKey, FactValue] = Field(default_factory=dict, max_length=100)
    routing: Routing = Field(default_factory=Routing)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    destination: Platform | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def trigger_kinds(self) -> list[str]:
        """The distinct trigger kinds, in the order the agent gave them."""
        return list(dict.fromkeys(t.kind for t in self.triggers))


def _problems_from(exc: pydantic.ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in err["loc"]
        ).replace(".[", "[")
        problems.append(Problem(path=path, message=err["msg"]))
    return problems


def parse_handoff(raw: bytes | str) -> Handoff:
    """Parse and validate one handoff from JSON text.

    Raises :class:`ValidationError` listing every problem with its field path. The message
    never contains input values.
    """
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_HANDOFF_BYTES:
        raise ValidationError(
            [Problem("", f"handoff is {size} bytes; the limit is {MAX_HANDOFF_BYTES}")]
        )
    try:
        return Handoff.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(_problems_from(exc)) from None


def validate_handoff(data: dict[str, Any]) -> Handoff:
    """Validate an already-decoded handoff (for example from a test or another library)."""
    try:
        return Handoff.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(_problems_from(exc)) from None


def handoff_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a handoff."""
    schema = Handoff.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://baton.dev/schemas/handoff.json"
    return schema
