"""The contract of the MCP tool ``escalate_to_human``: its input schema, generated from the
handoff model, and how its arguments become a handoff.

The schema is the handoff's own (:class:`baton.core.handoff.Handoff`) with three changes made for
a model that calls a tool: ``id`` and ``created_at`` are optional, the fields Baton sets itself
(``original_*``) are left out, and ``escalation_number`` is added. The vocabulary stays lenient
as the model's schema already is (a known word or any short string), so a host that validates
tool arguments does not refuse ``frustration`` before Baton accepts it as ``other``.

MCP clients are known to dispatch one tool call twice. When the model gives no id, the id is
derived from the conversation and the escalation number (:func:`derived_handoff_id`), and what
the tool fills in is either the same on both calls (the id) or among the fields the conflict
check leaves out (``created_at``): a doubled call is one ticket, never a 409.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from baton.core.errors import Problem, ValidationError
from baton.core.handoff import Handoff, is_handoff_id

ESCALATION_NUMBER = "escalation_number"
# Fixed for ever: changing it would give a retried escalation a new id, hence a second ticket.
HANDOFF_ID_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-5b8e-9d7a-2b7c4e0f9a11")
DERIVED_ID_PREFIX = "mcp-"
# What the tool fills in that may differ between two dispatches of one call; each must be a
# field the conflict check ignores (core.handoff.IDEMPOTENCY_IGNORED_FIELDS; a test checks).
FILLED_PER_CALL: frozenset[str] = frozenset({"created_at"})

TRIGGER_GUIDANCE: dict[str, str] = {
    "explicit_request": "the customer asked for a person, in any words ('let me talk to a human')",
    "sentiment": "the customer is upset, angry, distressed or frustrated",
    "complexity": "the problem is beyond what you can solve with your tools and knowledge",
    "risk": "fraud, security, safety or legal exposure (signs of account takeover, threats)",
    "authentication": "you could not verify who the customer is, or an identity check failed",
    "high_value": "a valuable customer or a large amount of money is at stake",
    "regulatory": "a formal complaint or a matter a regulator governs (data requests, "
    "financial complaints)",
    "repeated_failure": "you tried to solve it and it failed more than once",
    "policy": "a rule says a person must handle it (a refund above your limit, an exception)",
    "low_confidence": "you are not sure your answer is right",
    "other": "none of these fits; say why in `detail` (your own word is kept too)",
}

_FIELD_GUIDANCE: dict[str, str] = {
    "conversation_id": "Your id for this conversation; with escalation_number it makes the "
    "handoff id, so calling again for the same escalation never makes a second ticket.",
    "intent": "What the customer wants, as dotted lowercase words: billing.refund, "
    "account.cancel, product.bug, compliance.complaint.",
    "summary": "What a person needs to take over without re-reading the conversation, in two "
    "to five sentences: who the customer is, what they want, what you found and tried, and why "
    "a person is needed now. Facts, not tone; no secrets (card numbers, passwords).",
    "next_steps": "What the person should do next, one step per item, most urgent first "
    "('Approve or refuse the 240 EUR refund', 'Call the customer back before 17:00').",
    "facts": "Verified values the person will need, keyed by short names (order_id, "
    "order_total_usd, plan, error_code). Numbers as numbers; only what you checked.",
    "triggers": "Why you are escalating: one item per reason, the strongest first. Kinds: "
    + "; ".join(f"{kind}: {when}" for kind, when in TRIGGER_GUIDANCE.items())
    + ". Another word is accepted and counted as 'other'.",
    "priority": "low, normal (the default), high or urgent: urgent only when the customer is "
    "harmed while waiting.",
    "transcript": "The conversation so far, oldest first (Baton keeps the latest turns).",
    "actions_taken": "What you already did and how it went, so the person does not repeat it.",
    "suggested_reply": "A draft reply the person may send to the customer.",
    "knowledge": "Articles you consulted (title and URL), for the person to read too.",
    "destination": "Leave out: the deployment routes the handoff (see the escalation policy "
    "resource). Set only when told which help desk to use.",
    "id": "Leave out: derived from conversation_id and escalation_number. Give one only if "
    "you keep your own handoff ids; the same id must always carry the same handoff.",
    "created_at": "Leave out: the time of the call is used.",
}

_SET_BY_BATON: dict[str, str] = {
    "Handoff": "original_channel",
    "Trigger": "original_kind",
    "Message": "original_role",
}


def tool_input_schema() -> dict[str, Any]:
    """The JSON Schema of ``escalate_to_human``'s arguments (see the module docstring)."""
    schema = copy.deepcopy(Handoff.model_json_schema())
    definitions = schema.setdefault("$defs", {})
    for model, field in _SET_BY_BATON.items():
        target = schema if model == "Handoff" else definitions[model]
        target["properties"].pop(field, None)
    properties = schema["properties"]
    for field, guidance in _FIELD_GUIDANCE.items():
        properties[field]["description"] = guidance
    kind = definitions["Trigger"]["properties"]["kind"]
    kind["description"] = (
        "One of the known kinds, chosen by the guidance in `triggers`; any other short word is "
        "accepted and counted as 'other'."
    )
    schema["required"] = [name for name in schema["required"] if name not in ("id", "created_at")]
    properties[ESCALATION_NUMBER] = {
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "Which escalation this is within the conversation: 1 for the first, 2 if "
        "the conversation came back to you and needs a person again. Repeat the same number "
        "when you retry the same escalation.",
    }
    schema["description"] = (
        "A handoff to a human: everything a person needs to pick the conversation up."
    )
    schema.pop("title", None)
    return schema


def derived_handoff_id(conversation_id: str, escalation_number: int) -> str:
    """The handoff id of escalation ``escalation_number`` of ``conversation_id``: the same
    arguments always give the same id (a uuid5 over a fixed namespace)."""
    name = f"{conversation_id}\n{escalation_number}"
    handoff_id = f"{DERIVED_ID_PREFIX}{uuid.uuid5(HANDOFF_ID_NAMESPACE, name)}"
    assert is_handoff_id(handoff_id)
    return handoff_id


def handoff_from_arguments(
    arguments: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """The handoff document for the tool's ``arguments``: ``escalation_number`` taken out, the
    id derived when none is given, ``created_at`` set to ``now`` when missing.

    Raises :class:`ValidationError` naming the field when the id cannot be derived; every other
    check is the handoff model's, made by the client and by Baton.
    """
    document = dict(arguments)
    number = document.pop(ESCALATION_NUMBER, 1)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValidationError([Problem(ESCALATION_NUMBER, "must be a whole number of 1 or more")])
    if document.get("id") is None:
        conversation = document.get("conversation_id")
        if not isinstance(conversation, str) or not conversation:
            raise ValidationError(
                [Problem("conversation_id", "required: the handoff id is derived from it")]
            )
        document["id"] = derived_handoff_id(conversation, number)
    if document.get("created_at") is None:
        document["created_at"] = (now or datetime.now(UTC)).isoformat()
    return document


__all__ = [
    "ESCALATION_NUMBER",
    "FILLED_PER_CALL",
    "TRIGGER_GUIDANCE",
    "derived_handoff_id",
    "handoff_from_arguments",
    "tool_input_schema",
]
