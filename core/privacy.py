"""The redaction contract of a handoff: what is masked, what is kept verbatim, and why.

RELIABILITY C6: every string of a handoff that can leave Baton passes through the redactor,
except the few listed in :data:`KEPT_VERBATIM`, each with its reason. The rule is by default,
not by list: a string field added to the model later is redacted unless it is added here.

* **Masked**: every other string — summary, transcript, actions, next steps, trigger details,
  fact values, metadata values, and also the customer's name, account name and tier, the
  sentiment label, routing hints, tags and the words kept for unknown vocabulary.
* **Kept verbatim** (:data:`KEPT_VERBATIM`, each with its reason): the handoff id (the
  idempotency key end to end), the identifiers a human finds the customer and the conversation
  by, the intent and language tags, enumerations, and every key of ``facts`` and ``metadata``.
  None of them may carry what redaction masks: a value that the redactor would change (a card
  number, an SSN, a token) is refused with the field's path rather than masked, since a masked
  id finds nothing. The model also holds identifiers to visible ASCII (no whitespace), so they
  cannot carry prose.
* **Kept verbatim and unchecked** (:data:`REQUESTER_IDENTITY`): the requester's own email and
  phone, which create and identify the requester on the platform.

Masks can be longer than what they replace (an 11-character SSN becomes a 17-character mask).
A field that redaction pushed past its limit is cut to the limit and ends with
:data:`TRUNCATION_MARKER`; the redacted copy is validated against the model before it is
returned, so what Baton stores is always a handoff it can read back (RELIABILITY O8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

import pydantic

from baton.core.errors import Problem, ValidationError
from baton.core.handoff import Handoff, iter_strings

TRUNCATION_MARKER = "…[cut]"

KEPT_VERBATIM: Mapping[str, str] = {
    "id": "the idempotency key end to end",
    "conversation_id": "an identifier: a human finds the conversation by it",
    "customer.id": "an identifier: a human finds the customer by it",
    "customer.account_id": "an identifier: a human finds the account by it",
    "intent": "a dotted [a-z0-9_] name",
    "language": "a BCP 47 language tag",
    "routing.language": "a BCP 47 language tag",
    "channel": "an enumeration",
    "priority": "an enumeration",
    "destination": "an enumeration",
    "triggers.kind": "an enumeration",
    "transcript.role": "an enumeration",
    "customer.email": "the requester's own address: it creates the requester",
    "customer.phone": "the requester's own number: it identifies the requester",
}
REQUESTER_IDENTITY: frozenset[str] = frozenset({"customer.email", "customer.phone"})
_KEPT_PROBLEM = (
    "looks like a payment card, national id or secret; this field is kept verbatim, so it "
    "must not carry one"
)
_INDEX = re.compile(r"\[\d+\]")
_MAX_FIT_ROUNDS = 4


class TextRedactor(Protocol):
    """Anything that masks sensitive text (:class:`core.redact.Redactor`)."""

    def redact(self, text: str) -> str:
        """``text`` with every sensitive match masked."""
        ...


def field_name(path: str) -> str:
    """A string's path without list indexes: ``transcript[3].text`` → ``transcript.text``."""
    return _INDEX.sub("", path)


def kept_verbatim(path: str) -> bool:
    """Whether the string at ``path`` (as :func:`core.handoff.iter_strings` names it, a dict's
    keys ending in ``{}``) is sent and stored unredacted."""
    return field_name(path) in KEPT_VERBATIM or path.endswith("{}")


def verbatim_problems(redactor: TextRedactor, handoff: Handoff) -> list[Problem]:
    """Strings kept verbatim (but the requester's identity) that carry something the redactor
    would mask; the problems name the field, never the value."""
    return [
        Problem(path, _KEPT_PROBLEM)
        for path, text in iter_strings(handoff.model_dump(mode="json"))
        if kept_verbatim(path)
        and field_name(path) not in REQUESTER_IDENTITY
        and redactor.redact(text) != text
    ]


def redact_handoff(redactor: TextRedactor, handoff: Handoff) -> Handoff:
    """A copy of ``handoff`` with every string masked except those kept verbatim.

    Raises :class:`ValidationError` (paths only) when a string kept verbatim carries something
    the redactor masks (:func:`verbatim_problems`). The copy is a valid handoff: fields pushed
    past their limit by masks are cut (see the module docstring).
    """
    problems = verbatim_problems(redactor, handoff)
    if problems:
        raise ValidationError(problems)
    data = _masked(redactor, handoff.model_dump(mode="python"), ())
    return _fitted(redactor, data)


def _masked(redactor: TextRedactor, value: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(value, str):
        name = ".".join(part for part in path if isinstance(part, str))
        return value if name in KEPT_VERBATIM else redactor.redact(value)
    if isinstance(value, dict):
        return {key: _masked(redactor, item, (*path, key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(redactor, item, (*path, index)) for index, item in enumerate(value)]
    return value


def _fitted(redactor: TextRedactor, data: dict[str, Any]) -> Handoff:
    for _ in range(_MAX_FIT_ROUNDS):
        try:
            return Handoff.model_validate(data)
        except pydantic.ValidationError as exc:
            _cut_overlong(redactor, data, exc)
    return Handoff.model_validate(data)


def _cut_overlong(
    redactor: TextRedactor, data: dict[str, Any], exc: pydantic.ValidationError
) -> None:
    """Cut every string the errors say is too long; re-raise on any other error (a bug)."""
    limits: dict[tuple[Any, ...], int] = {}
    other: set[tuple[Any, ...]] = set()
    for error in exc.errors(include_url=False, include_input=False):
        where = _resolvable(data, error["loc"])
        if error["type"] == "string_too_long":
            limits[where] = int(error.get("ctx", {})["max_length"])
        else:
            other.add(where)
    # A union (a fact value) reports each member's error for one value: the length error
    # among them is the one that matters.
    if not limits or other - set(limits):
        raise exc
    for where, limit in limits.items():
        parent = data
        for part in where[:-1]:
            parent = parent[part]
        parent[where[-1]] = truncate(redactor, parent[where[-1]], limit)


def _resolvable(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The longest prefix of ``loc`` that names a value in ``data`` (unions add member tags)."""
    resolved: list[Any] = []
    for part in loc:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_dict or in_list):
            break
        data = data[part]
        resolved.append(part)
    return tuple(resolved)


def truncate(redactor: TextRedactor, text: str, limit: int) -> str:
    """``text`` (already redacted) cut to at most ``limit`` characters, ending with the marker.

    Cutting can expose a new match at the cut (a longer number that now reads as a card), so
    the cut text is redacted again, and cut shorter if that grew it.
    """
    keep = limit - len(TRUNCATION_MARKER)
    while keep > 0:
        cut = redactor.redact(text[:keep]) + TRUNCATION_MARKER
        if len(cut) <= limit:
            return cut
        keep -= len(cut) - limit
    return TRUNCATION_MARKER[:limit]
