"""C6: every string field of a handoff that can leave Baton passes through redaction.

The field list is not written here: it is walked out of the handoff model itself, so a string
field added to the model later is planted too and cannot be forgotten. Each planted secret
must then be absent from every platform's preview and from the stored row, except in the
requester's own email and phone (kept verbatim by design, core.privacy.KEPT_VERBATIM). A field
whose constraints cannot hold the secret (a patterned id, an identifier) must refuse it.
"""

from __future__ import annotations

import copy
import json
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from baton.core.errors import ValidationError
from baton.core.handoff import Handoff, validate_handoff
from baton.core.mapping import load_mapping, plan_requests
from baton.core.privacy import KEPT_VERBATIM, REQUESTER_IDENTITY
from baton.core.redact import default_redactor
from baton.core.store import Store
from baton.core.tables import HandoffRow
from tests.support.paths import MAPPINGS, ROOT

PLATFORMS = ("zendesk", "salesforce", "hubspot")

# Each secret and the fragments of it that must never be found afterwards.
SECRETS = {
    "card": ("4111 1111 1111 1111", ("4111 1111 1111 1111", "4111111111111111")),
    "compact card": ("4111111111111111", ("4111111111111111",)),
    "ssn": ("123-45-6789", ("123-45-6789", "123456789")),
    "token": ("Bearer abcdefghijklmnopqrstuvwx", ("abcdefghijklmnopqrstuvwx",)),
}

BASE: dict[str, Any] = {
    "id": "c6-base",
    "created_at": "2026-11-21T10:00:00Z",
    "conversation_id": "conv-c6",
    "channel": "chat",
    "language": "en",
    "customer": {
        "id": "cus-1",
        "name": "Ada",
        "email": "ada@example.com",
        "phone": "+1 555 0100",
        "account_id": "acc-1",
        "account_name": "Acme",
        "tier": "vip",
        "authenticated": True,
    },
    "intent": "billing.refund",
    "triggers": [{"kind": "sentiment", "detail": "upset", "original_kind": None}],
    "sentiment": {"score": -0.5, "label": "negative"},
    "summary": "Customer wants a refund.",
    "transcript": [{"role": "customer", "text": "hello", "original_role": None}],
    "actions_taken": [{"action": "looked up order", "outcome": "found"}],
    "next_steps": ["call back"],
    "facts": {"order": "A-1"},
    "suggested_reply": "We have refunded you.",
    "knowledge": [{"title": "Refunds", "url": "https://kb.example.com/refunds"}],
    "routing": {"queue": "Billing", "skills": ["billing"], "assignee": "Maya", "language": "en"},
    "tags": ["refund"],
    "metadata": {"source": {"nested": ["x"]}},
}


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits (Annotated, Optional and unions opened)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def string_slots(model: type[BaseModel], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every place a string can go in ``model``: index 0 into lists, key ``k`` into
    dicts, and ``(…, "{}")`` for a dict's keys."""
    slots: list[tuple[Any, ...]] = []
    for name, info in model.model_fields.items():
        slots += _slots_of(info.annotation, (*prefix, name))
    return list(dict.fromkeys(slots))


def _slots_of(annotation: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    slots: list[tuple[Any, ...]] = []
    for kind in _unwrap(annotation):
        origin = get_origin(kind)
        if kind is str or origin is Literal:
            slots.append(path)
        elif kind is Any:  # free JSON: a string, a nested object's value and its key
            slots += [path, (*path, "nested"), (*path, "{}")]
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            slots += string_slots(kind, path)
        elif origin is list:
            slots += _slots_of(get_args(kind)[0], (*path, 0))
        elif origin is dict:
            slots += [(*path, "{}"), *_slots_of(get_args(kind)[1], (*path, "k"))]
    return slots


def _walk(data: Any, parts: tuple[Any, ...]) -> Any:
    node = data
    for part in parts:
        if isinstance(node, list):
            node = node[part]
        else:
            if not isinstance(node.get(part), dict | list):
                node[part] = {}
            node = node[part]
    return node


def _plant(path: tuple[Any, ...], value: str) -> dict[str, Any]:
    """BASE with ``value`` at ``path`` (as a key when the path ends in ``{}``)."""
    data = copy.deepcopy(BASE)
    if path[-1] == "{}":
        _walk(data, path[:-1])[value] = "v"
    else:
        _walk(data, path[:-1])[path[-1]] = value
    return data


def _name(path: tuple[Any, ...]) -> str:
    """``("transcript", 0, "text")`` → ``transcript.text``; a key slot ends in ``{}``."""
    return ".".join(str(p) for p in path if not isinstance(p, int)).replace(".{}", "{}")


SLOTS = string_slots(Handoff)


def test_c6_the_walk_finds_every_kind_of_string_field() -> None:
    """The walk reaches nested models, lists, dict keys and values (so the test covers them)."""
    names = {_name(slot) for slot in SLOTS}
    for expected in (
        "summary",
        "customer.name",
        "sentiment.label",
        "routing.skills",
        "tags",
        "transcript.text",
        "transcript.original_role",
        "triggers.original_kind",
        "facts.k",
        "facts{}",
        "metadata.k",
        "metadata.k.nested",
        "metadata.k{}",
    ):
        assert expected in names, expected
    assert len(SLOTS) >= 30


@pytest.fixture(scope="module")
def mappings() -> dict[str, Any]:
    return {platform: load_mapping(MAPPINGS, platform) for platform in PLATFORMS}


# The requester's own email and phone are sent as given (KEPT_VERBATIM): not planted here.
PLANTED = [slot for slot in SLOTS if _name(slot) not in REQUESTER_IDENTITY]


@pytest.mark.parametrize("slot", PLANTED, ids=_name)
@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_c6_a_secret_planted_in_any_string_field_never_leaves(
    slot: tuple[Any, ...], secret: str, mappings: dict[str, Any], tmp_path: Path
) -> None:
    """C6: planted in any field, a card, an SSN or a bearer token is either refused at intake
    or absent from every platform's preview and from the stored row."""
    name = _name(slot)
    value, fragments = SECRETS[secret]
    redactor = default_redactor()
    try:
        handoff = validate_handoff(_plant(slot, value))
        redacted = redactor.redact_handoff(handoff)
    except ValidationError:
        # Refused: only fields that cannot hold free text may refuse.
        kept = name in KEPT_VERBATIM or name.endswith("{}")
        assert kept, f"{name} refused a {secret}: only verbatim fields may refuse"
        return
    outputs = [
        json.dumps([r.as_dict() for r in plan_requests(mappings[p], handoff).requests])
        for p in PLATFORMS
    ]
    store = Store(f"sqlite:///{tmp_path / 'c6.db'}")
    store.migrate()
    try:
        store.add_handoff(redacted, "zendesk")
        with store.reading() as session:
            outputs.append(session.scalars(select(HandoffRow.body)).one())
    finally:
        store.close()
    for output in outputs:
        for fragment in fragments:
            assert fragment not in output, f"{secret} planted in {name} left Baton"


def test_c6_exemptions_are_named_once_and_are_what_the_readme_says() -> None:
    """The exempt list is the documented one: nothing else is kept verbatim."""
    assert set(KEPT_VERBATIM) == {
        "id",
        "conversation_id",
        "customer.id",
        "customer.account_id",
        "intent",
        "language",
        "routing.language",
        "channel",
        "priority",
        "destination",
        "triggers.kind",
        "transcript.role",
        "customer.email",
        "customer.phone",
    }
    assert {"customer.email", "customer.phone"} == REQUESTER_IDENTITY
    readme = (ROOT / "README.md").read_text()
    for name in KEPT_VERBATIM:
        assert f"`{name}`" in readme, f"README does not say that {name} is kept verbatim"
