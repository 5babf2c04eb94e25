"""The handoff: one typed decision by an AI agent that a conversation needs a person.

Models are strict (no silent coercion of ``"5"`` into ``5``) and closed (unknown keys are
errors, except under ``metadata``). Enumerations are ``Literal`` types so that strict
validation accepts plain JSON strings in both JSON and Python mode.

Use :func:`parse_handoff` at every entry point: it checks the size before parsing and turns
pydantic's errors into :class:`core.errors.ValidationError` with field paths and no input
values (a transcript must never leak into an error message).

Strict about structure, lenient about vocabulary: the caller is usually an LLM-driven agent, and
a customer who asked for a person must not be refused for a word. A trigger kind, channel or
transcript role outside the known vocabulary is accepted as ``other`` and the word as sent is
kept beside it (``original_kind``, ``original_channel``, ``original_role``) for the note;
:func:`normalisations` lists each such change so that intake can warn about it. Types, ids and
sizes stay strict (422).

Every text must be storable (:mod:`core.storable`): NUL characters and lone surrogates are
refused with the field's path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from baton.core.errors import Problem, ValidationError
from baton.core.storable import unstorable_reason

MAX_HANDOFF_BYTES = 1024 * 1024
MAX_TRANSCRIPT_MESSAGES = 500
MAX_MESSAGE_CHARS = 20_000
MAX_SUMMARY_CHARS = 5_000

HANDOFF_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
HandoffId = Annotated[str, StringConstraints(pattern=HANDOFF_ID_PATTERN)]
_HANDOFF_ID = re.compile(HANDOFF_ID_PATTERN)

PLATFORM_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"  # the store keeps 16 characters
# A platform's registered name (core.plugin checks it against the registry where it matters).
Platform = Annotated[str, StringConstraints(pattern=PLATFORM_NAME_PATTERN)]

Channel = Literal["chat", "email", "voice", "sms", "social", "web", "other"]
Priority = Literal["low", "normal", "high", "urgent"]
Role = Literal["customer", "agent", "system", "tool", "other"]
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
TRIGGER_KINDS: tuple[str, ...] = get_args(TriggerKind)
CHANNELS: tuple[str, ...] = get_args(Channel)
ROLES: tuple[str, ...] = get_args(Role)

# Fields left out when deciding whether a repeated id is the same handoff: HTTP clients and
# tool runners rebuild the body when they retry, regenerating these.
IDEMPOTENCY_IGNORED_FIELDS: frozenset[str] = frozenset({"created_at"})

MAX_VOCABULARY_WORD_CHARS = 64
_REPORT_TOKEN = re.compile(r"[a-z0-9_]{1,32}")
# Identifiers are kept verbatim (a human must be able to find the customer by them), so they
# are held to visible ASCII: no whitespace, nothing that reads as prose.
IDENTIFIER_PATTERN = r"^[\x21-\x7e]+$"


def is_handoff_id(text: str) -> bool:
    """Whether ``text`` can be a handoff id (``fullmatch``: ``$`` alone would let a trailing
    newline through)."""
    return _HANDOFF_ID.fullmatch(text) is not None


def _require_timezone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone offset, e.g. 2026-11-21T10:00:00Z")
    return value


# Datetimes arrive as ISO-8601 strings from JSON and from dicts alike, so they opt out of strict.
AwareDatetime = Annotated[datetime, Field(strict=False), AfterValidator(_require_timezone)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=IDENTIFIER_PATTERN)
]
VocabularyWord = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_VOCABULARY_WORD_CHARS)
]
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


def _vocabulary_schema(known: tuple[str, ...], what: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(known)},
                {"type": "string", "minLength": 1, "maxLength": MAX_VOCABULARY_WORD_CHARS},
            ],
            "description": (
                f"One of the known {what}s. Any other word (at most "
                f"{MAX_VOCABULARY_WORD_CHARS} characters) is accepted as 'other', the word "
                "itself is kept for the note, and the answer carries a warning."
            ),
        }
    )


def _canonical(word: str) -> str:
    return re.sub(r"[\s-]+", "_", word.strip().casefold())


def _lenient(data: Any, field: str, original: str, known: tuple[str, ...]) -> Any:
    """``data`` with an unknown word in ``field`` replaced by ``other`` and kept in
    ``original``; a known word in another case or spelling (``Explicit-Request``) is fixed."""
    if not isinstance(data, dict):
        return data
    word = data.get(field)
    if not isinstance(word, str) or word in known:
        return data
    canonical = _canonical(word)
    if canonical in known:
        return {**data, field: canonical}
    if not 0 < len(word) <= MAX_VOCABULARY_WORD_CHARS:
        raise ValueError(
            f"{field}: an unknown word is accepted as 'other', but it must be 1 to "
            f"{MAX_VOCABULARY_WORD_CHARS} characters"
        )
    return {**data, field: "other", original: word}


def report_token(kind: str, original: str | None) -> str:
    """The word to count in reports and feedback exports: the known value, or an agent's own
    word when it is a short ``[a-z0-9_]`` token, else ``other`` (free text never gets there)."""
    if kind != "other" or original is None:
        return kind
    return original if _REPORT_TOKEN.fullmatch(original) else "other"


class Customer(_Model):
    """Who the conversation is with. Every field is optional; give what the agent knows."""

    id: Identifier | None = None
    name: ShortText | None = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()./-]{3,32}$")] | None = None
    account_id: Identifier | None = None
    account_name: ShortText | None = None
    tier: Annotated[str, StringConstraints(max_length=64)] | None = None
    authenticated: bool = False


class Trigger(_Model):
    """One reason the agent decided to hand off."""

    kind: Annotated[TriggerKind, _vocabulary_schema(TRIGGER_KINDS, "trigger kind")]
    original_kind: VocabularyWord | None = Field(
        default=None, description="Set by Baton: the kind as sent, when it was not a known one."
    )
    detail: Annotated[str, StringConstraints(max_length=1_000)] | None = None
    score: Score01 | None = None

    @model_validator(mode="before")
    @classmethod
    def _lenient_kind(cls, data: Any) -> Any:
        return _lenient(data, "kind", "original_kind", TRIGGER_KINDS)

    @property
    def report_kind(self) -> str:
        """The kind as reports and exports count it (see :func:`report_token`)."""
        return report_token(self.kind, self.original_kind)


class Sentiment(_Model):
    """The customer's sentiment as the agent measured it."""

    score: Annotated[float, Field(ge=-1.0, le=1.0, strict=False)]
    label: Annotated[str, StringConstraints(max_length=32)] | None = None


class Message(_Model):
    """One turn of the conversation."""

    role: Annotated[Role, _vocabulary_schema(ROLES, "role")]
    original_role: VocabularyWord | None = Field(
        default=None, description="Set by Baton: the role as sent, when it was not a known one."
    )
    text: Text
    at: AwareDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _lenient_role(cls, data: Any) -> Any:
        return _lenient(data, "role", "original_role", ROLES)


class ActionTaken(_Model):
    """Something the AI agent already did, and how it went."""

    action: Annotated[str, StringConstraints(min_length=1, max_length=1_000)]
    outcome: Annotated[str, StringConstraints(max_length=1_000)] | None = None
    at: AwareDatetime | None = None


class KnowledgeArticle(_Model):
    """An article the AI consulted, for the human to read too."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    url: Annotated[str, StringConstraints(min_length=1, max_length=2_048)] = Field(
        description="Where it is; a note links it only when it is an http(s) URL."
    )


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
    conversation_id: Identifier
    channel: Annotated[Channel, _vocabulary_schema(CHANNELS, "channel")]
    original_channel: VocabularyWord | None = Field(
        default=None, description="Set by Baton: the channel as sent, when it was not a known one."
    )
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
    suggested_reply: Annotated[str, StringConstraints(max_length=5_000)] | None = Field(
        default=None, description="A draft reply to the customer the human may send."
    )
    knowledge: list[KnowledgeArticle] = Field(
        default_factory=list, max_length=10, description="Up to 10 articles the AI consulted."
    )
    routing: Routing = Field(default_factory=Routing)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    destination: Platform | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _lenient_channel(cls, data: Any) -> Any:
        return _lenient(data, "channel", "original_channel", CHANNELS)

    @property
    def trigger_kinds(self) -> list[str]:
        """The distinct trigger kinds, in the order the agent gave them."""
        return list(dict.fromkeys(t.kind for t in self.triggers))


def normalisations(handoff: Handoff) -> list[Problem]:
    """Each unknown word that was accepted as ``other``: its path and what happened.

    The messages never quote the word (it is the agent's input).
    """
    kept = "accepted as 'other'; the word as sent is kept in"
    found: list[Problem] = []
    if handoff.original_channel is not None:
        found.append(Problem("channel", f"unknown channel {kept} original_channel"))
    for index, trigger in enumerate(handoff.triggers):
        if trigger.original_kind is not None:
            found.append(
                Problem(f"triggers[{index}].kind", f"unknown trigger kind {kept} original_kind")
            )
    for index, message in enumerate(handoff.transcript):
        if message.original_role is not None:
            found.append(Problem(f"transcript[{index}].role", f"unknown role {kept} original_role"))
    return found


def comparison_digest(handoff: Handoff) -> str:
    """SHA-256 of the handoff less :data:`IDEMPOTENCY_IGNORED_FIELDS`: two submissions of one
    id with equal digests are the same handoff (200), with different ones a conflict (409)."""
    body = handoff.model_dump_json(exclude=set(IDEMPOTENCY_IGNORED_FIELDS))
    return hashlib.sha256(body.encode()).hexdigest()


def iter_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every string in a JSON-shaped value with its path (``transcript[2].text``); a dict's
    keys are yielded too, at the path of the dict with ``{}`` appended (``facts{}``)."""
    if isinstance(value, str):
        yield format_path(path), value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield format_path(path) + "{}", key
            yield from iter_strings(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from iter_strings(item, (*path, index))


def format_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """``("transcript", 3, "text")`` → ``transcript[3].text``."""
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in path).replace(
        ".[", "["
    )


def _unstorable(handoff: Handoff) -> list[Problem]:
    return [
        Problem(path, reason)
        for path, text in iter_strings(handoff.model_dump(mode="json"))
        if (reason := unstorable_reason(text)) is not None
    ]


def _problems_from(exc: pydantic.ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        problems.append(Problem(path=format_path(list(err["loc"])), message=err["msg"]))
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
    return load_stored_handoff(raw)


def load_stored_handoff(raw: bytes | str) -> Handoff:
    """Parse a handoff without the total size limit, which applies to what a client sends:
    a stored (redacted) copy may be longer in bytes than its input, and must stay readable.

    Every field limit still holds; raises :class:`ValidationError` like :func:`parse_handoff`.
    """
    try:
        handoff = Handoff.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(_problems_from(exc)) from None
    return _checked(handoff)


def validate_handoff(data: dict[str, Any]) -> Handoff:
    """Validate an already-decoded handoff (for example from a test or another library)."""
    try:
        handoff = Handoff.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(_problems_from(exc)) from None
    return _checked(handoff)


def _checked(handoff: Handoff) -> Handoff:
    problems = _unstorable(handoff)
    if problems:
        raise ValidationError(problems)
    return handoff


def handoff_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a handoff; ``destination`` lists the built-in platforms."""
    from baton.core.plugin import registry

    schema = Handoff.model_json_schema()
    destination = schema["properties"]["destination"]["anyOf"][0]
    destination.pop("pattern", None)
    destination["enum"] = list(registry().built_in)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://baton.dev/schemas/handoff.json"
    return schema
