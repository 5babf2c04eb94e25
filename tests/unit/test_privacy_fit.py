"""O8 at the unit level: masks never push a field past its limit, and the redacted copy is
always a handoff Baton can read back (core.privacy)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.core.handoff import load_stored_handoff, validate_handoff
from baton.core.privacy import TRUNCATION_MARKER, truncate
from baton.core.redact import default_redactor

# Each grows when masked: 11 → 17 characters, 16 → 15 characters but 23 UTF-8 bytes, …
TOKENS = ("123-45-6789", "4111 1111 1111 1111", "5500-0000-0000-0004", "sk_live_abcdefghij12")
LIMITS = {
    "summary": 5_000,
    "customer.name": 500,
    "customer.tier": 64,
    "sentiment.label": 32,
    "tags": 80,
    "triggers.detail": 1_000,
}


@st.composite
def dense(draw: st.DrawFn, limit: int) -> str:
    tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4))
    unit = draw(st.sampled_from([" ", "\n", ", "])).join(tokens) + " "
    return (unit * (limit // len(unit) + 1))[:limit]


def _doc(field: str, text: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "fit-1",
        "created_at": "2026-11-21T10:00:00Z",
        "conversation_id": "conv-1",
        "channel": "chat",
        "intent": "billing.refund",
        "triggers": [{"kind": "risk"}],
        "summary": "s",
    }
    if field == "tags":
        doc["tags"] = [text.strip() or "t"]
    elif field == "triggers.detail":
        doc["triggers"][0]["detail"] = text
    elif field == "sentiment.label":
        doc["sentiment"] = {"score": 0.0, "label": text}
    elif field == "summary":
        doc["summary"] = text
    else:
        doc.setdefault("customer", {})[field.split(".")[1]] = text
    return doc


def _value(handoff: Any, field: str) -> str:
    if field == "tags":
        return str(handoff.tags[0])
    if field == "triggers.detail":
        return str(handoff.triggers[0].detail)
    first, second = field.split(".") if "." in field else (field, "")
    node = getattr(handoff, first)
    return str(getattr(node, second) if second else node)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), field=st.sampled_from(sorted(LIMITS)))
def test_o8_masks_never_push_a_field_past_its_limit(data: st.DataObject, field: str) -> None:
    """A field filled to its limit with PII is masked, cut to the limit if masks grew it, and
    the stored JSON reads back as a valid handoff; no token survives."""
    limit = LIMITS[field]
    text = data.draw(dense(limit))
    redacted = default_redactor().redact_handoff(validate_handoff(_doc(field, text)))
    value = _value(redacted, field)
    assert len(value) <= limit
    reread = load_stored_handoff(redacted.model_dump_json())
    assert reread == redacted
    stored = json.dumps(reread.model_dump(mode="json"), ensure_ascii=False)
    for token in TOKENS:
        assert token not in stored
    if len(default_redactor().redact(text.strip() if field == "tags" else text)) > limit:
        assert value.endswith(TRUNCATION_MARKER)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400),
    limit=st.integers(min_value=len(TRUNCATION_MARKER), max_value=300),
)
def test_truncate_keeps_any_text_within_its_limit_and_masked(text: str, limit: int) -> None:
    """Cutting never exceeds the limit, and never leaves something the redactor would mask."""
    redactor = default_redactor()
    cut = truncate(redactor, redactor.redact(text), limit)
    assert len(cut) <= limit
    assert cut.endswith(TRUNCATION_MARKER)
    body = cut[: -len(TRUNCATION_MARKER)]
    assert redactor.redact(body) == body
