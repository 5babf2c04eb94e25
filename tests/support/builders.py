"""Small valid handoffs for tests, as a document or as a validated :class:`Handoff`."""

from __future__ import annotations

from typing import Any

from baton.core.handoff import Handoff, validate_handoff

SUMMARY = "Wants a refund over the limit"


def handoff_doc(handoff_id: str = "h-1", **changes: Any) -> dict[str, Any]:
    """A small valid handoff document; ``changes`` replace or add top-level fields."""
    doc: dict[str, Any] = {
        "id": handoff_id,
        "created_at": "2026-03-01T11:59:00Z",
        "conversation_id": "conv-1",
        "channel": "chat",
        "intent": "billing.refund",
        "triggers": [{"kind": "high_value"}],
        "summary": SUMMARY,
    }
    doc.update(changes)
    return doc


def make_handoff(handoff_id: str = "h-1", summary: str = SUMMARY, **changes: Any) -> Handoff:
    """:func:`handoff_doc`, validated."""
    return validate_handoff(handoff_doc(handoff_id, summary=summary, **changes))
