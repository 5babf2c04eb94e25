"""The escalation tool's contract without a server: its schema, the derived id, and why a
doubled call is the same handoff to Baton's conflict check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.core.errors import ValidationError
from baton.core.handoff import (
    IDEMPOTENCY_IGNORED_FIELDS,
    TRIGGER_KINDS,
    comparison_digest,
    is_handoff_id,
    validate_handoff,
)
from baton.webhooks.mcp_schema import (
    ESCALATION_NUMBER,
    FILLED_PER_CALL,
    TRIGGER_GUIDANCE,
    derived_handoff_id,
    handoff_from_arguments,
    tool_input_schema,
)
from tests.mcp.conftest import example_arguments
from tests.support.paths import VIP_REFUND

conversations = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=256
)
numbers = st.integers(min_value=1, max_value=10_000)


def test_every_trigger_kind_has_guidance_and_the_filled_fields_are_ignored() -> None:
    assert set(TRIGGER_GUIDANCE) == set(TRIGGER_KINDS)
    assert FILLED_PER_CALL <= IDEMPOTENCY_IGNORED_FIELDS
    schema = tool_input_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"id", "created_at"}.isdisjoint(schema["required"])
    triggers = schema["properties"]["triggers"]["description"]
    assert all(f"{kind}:" in triggers for kind in TRIGGER_KINDS)


@given(conversations, numbers)
def test_the_derived_id_is_a_handoff_id_fixed_by_conversation_and_number(
    conversation: str, number: int
) -> None:
    handoff_id = derived_handoff_id(conversation, number)
    assert is_handoff_id(handoff_id)
    assert handoff_id == derived_handoff_id(conversation, number)
    assert handoff_id != derived_handoff_id(conversation, number + 1)
    assert handoff_id != derived_handoff_id(conversation + "x", number)


@given(st.integers(min_value=0, max_value=86_400 * 365))
def test_two_dispatches_of_one_call_are_the_same_handoff(seconds_apart: int) -> None:
    arguments = {**example_arguments(VIP_REFUND), ESCALATION_NUMBER: 2}
    now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    first = validate_handoff(handoff_from_arguments(arguments, now))
    second = validate_handoff(
        handoff_from_arguments(arguments, now + timedelta(seconds=seconds_apart))
    )
    assert first.id == second.id == derived_handoff_id(first.conversation_id, 2)
    assert comparison_digest(first) == comparison_digest(second)


def test_a_given_id_and_time_are_kept() -> None:
    arguments = {**example_arguments(VIP_REFUND), "id": "own-id-1"}
    arguments["created_at"] = "2026-11-21T10:00:00Z"
    document = handoff_from_arguments(arguments)
    assert (document["id"], document["created_at"]) == ("own-id-1", "2026-11-21T10:00:00Z")
    assert ESCALATION_NUMBER not in document


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({ESCALATION_NUMBER: 0}, ESCALATION_NUMBER),
        ({ESCALATION_NUMBER: True}, ESCALATION_NUMBER),
        ({ESCALATION_NUMBER: "1"}, ESCALATION_NUMBER),
        ({"conversation_id": None}, "conversation_id"),
    ],
)
def test_bad_arguments_name_the_field(change: dict[str, object], field: str) -> None:
    arguments = {**example_arguments(VIP_REFUND), **change}
    with pytest.raises(ValidationError) as raised:
        handoff_from_arguments(arguments)
    assert [problem.path for problem in raised.value.problems] == [field]
