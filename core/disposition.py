"""The disposition: one normalized observation of what happened to a ticket.

Dispositions form a history per handoff. The current state is the latest by the platform's
own timestamp (``occurred_at``), never by arrival order, so a stale webhook that arrives late
cannot roll a ticket back.

Every text field is repaired on the way in (RELIABILITY K5): a NUL or a lone surrogate from the
platform becomes U+FFFD (:func:`core.storable.storable`), so no Disposition — built,
validated from JSON or copied with ``model_copy(update=…)`` — holds text the store cannot
hold, and the platform's record is not lost for one character. That includes the keys
``ticket_id`` and ``event_id``: a repaired key still identifies the observation (each
replaced character stays one character, so lengths and uniqueness of ordinary ids are
unchanged), while a refused one would drop it. A webhook whose own event id (the inbox key) is
unstorable never gets this far: the receiver quarantines it. ``handoff_id`` is not repaired:
its pattern already refuses such text, and a repaired id would name no handoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from baton.core.handoff import AwareDatetime, HandoffId, Platform
from baton.core.storable import storable

Outcome = Literal["open", "pending", "resolved", "reopened", "transferred", "merged", "deleted"]
OUTCOMES: tuple[Outcome, ...] = (
    "open",
    "pending",
    "resolved",
    "reopened",
    "transferred",
    "merged",
    "deleted",
)
Source = Literal["webhook", "sync"]


def _repaired(value: object) -> object:
    """Platform text made storable; anything else is left for the type check to judge."""
    return storable(value) if isinstance(value, str) else value


Repaired = BeforeValidator(_repaired)
Name = Annotated[str, StringConstraints(max_length=256), Repaired]


class Disposition(BaseModel):
    """One observation of a ticket's state, from a webhook or a sync run."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    handoff_id: HandoffId | None = Field(
        default=None, description="None until the ticket is linked to its handoff."
    )
    platform: Platform
    ticket_id: Annotated[str, StringConstraints(min_length=1, max_length=64), Repaired]
    ticket_url: Annotated[str, StringConstraints(max_length=2_048), Repaired] | None = None
    outcome: Outcome
    raw_status: Name | None = None
    assignee: Name | None = None
    group: Name | None = Field(default=None, description="Group, queue or pipeline stage owner.")
    occurred_at: AwareDatetime = Field(description="The platform's own time of this state.")
    first_response_seconds: Annotated[int, Field(ge=0)] | None = None
    resolution_seconds: Annotated[int, Field(ge=0)] | None = None
    reopen_count: Annotated[int, Field(ge=0)] = 0
    transfer_count: Annotated[int, Field(ge=0)] = 0
    public_replies: Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        description="Public replies by agents on the ticket; None when the platform cannot say.",
    )
    csat: Annotated[float, Field(ge=0.0, le=1.0, strict=False)] | None = Field(
        default=None, description="Satisfaction normalized to 0..1."
    )
    csat_raw: Name | None = None
    source: Source
    event_id: Annotated[str, StringConstraints(max_length=256), Repaired] | None = None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; its texts are repaired like validated input, since
        pydantic does not validate ``update``."""
        if update:
            update = {name: _repaired(value) for name, value in update.items()}
        return super().model_copy(update=update, deep=deep)


def latest(history: Iterable[Disposition]) -> Disposition | None:
    """The current state: the observation with the newest platform timestamp.

    ``history`` is in recording order. On a tie the later-recorded observation wins: some
    platforms stamp whole seconds, so a create and a solve can share one, and the solve is
    recorded after it. (An identical redelivery is never recorded twice, so it changes nothing.)
    """
    current: Disposition | None = None
    for item in history:
        if current is None or item.occurred_at >= current.occurred_at:
            current = item
    return current


def disposition_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a disposition."""
    schema = Disposition.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://baton.dev/schemas/disposition.json"
    return schema


CSAT_WORDS: dict[str, float] = {
    "good": 1.0,
    "satisfied": 1.0,
    "positive": 1.0,
    "bad": 0.0,
    "dissatisfied": 0.0,
    "unsatisfied": 0.0,
    "negative": 0.0,
}


def csat_value(raw: Any, scale: float) -> tuple[float | None, str | None]:
    """A CSAT field normalized to 0..1: a number (or numeric picklist value) on a scale whose
    best is ``scale``, or a word like good/bad; the raw value is kept as text. Anything else:
    (None, raw text).

    A scale of more than 1 is a rating from 1 (worst, 0.0) to ``scale`` (best, 1.0), as star
    ratings are: 1 of 5 is 0.0, 3 of 5 is 0.5 (a 0 is taken as the worst too); on a scale of
    1 the value is already 0..1 and stays.
    """
    if raw is None or raw == "":
        return None, None
    text = str(raw).strip()[:256]
    if isinstance(raw, bool):
        return (1.0 if raw else 0.0), text
    word = CSAT_WORDS.get(text.casefold())
    if word is not None:
        return word, text
    try:
        number = float(text)
    except ValueError:
        return None, text
    if not 0 <= number <= scale or scale <= 0:
        return None, text
    if scale <= 1:
        return number / scale, text
    return max(0.0, number - 1) / (scale - 1), text
