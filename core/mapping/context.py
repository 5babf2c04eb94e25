"""What templates see: the (already redacted) handoff as plain data, plus a few helpers."""

from __future__ import annotations

from functools import cache
from typing import Any

from baton.core.handoff import Handoff, validate_handoff


def template_context(handoff: Handoff, *, platform: str, route: str) -> dict[str, Any]:
    """The variables every mapping template may use.

    ``handoff`` is plain JSON-shaped data (not the model object), so templates reach values
    but no methods. ``turns`` and ``omitted`` are added for the note by the note fitter.
    """
    return {
        "handoff": handoff.model_dump(mode="json"),
        "trigger_kinds": handoff.trigger_kinds,
        "platform": platform,
        "route": route,
    }


@cache
def _sample_handoff() -> Handoff:
    return validate_handoff(
        {
            "id": "sample-0001",
            "created_at": "2026-01-01T12:00:00Z",
            "conversation_id": "conv-sample",
            "channel": "chat",
            "language": "en",
            "customer": {
                "id": "cus-1",
                "name": "Sam Sample",
                "email": "sam@example.com",
                "phone": "+1 555 0100",
                "account_id": "acc-1",
                "account_name": "Sample Co",
                "tier": "vip",
                "authenticated": True,
            },
            "intent": "billing.refund",
            "triggers": [{"kind": "sentiment", "detail": "negative", "score": 0.9}],
            "sentiment": {"score": -0.5, "label": "negative"},
            "priority": "high",
            "summary": "Sample summary.",
            "transcript": [
                {"role": "customer", "text": "Hello", "at": "2026-01-01T11:59:00Z"},
                {"role": "agent", "text": "Hi", "at": "2026-01-01T11:59:30Z"},
            ],
            "actions_taken": [{"action": "Looked up order", "outcome": "found"}],
            "next_steps": ["Call back"],
            "facts": {"order_id": "A-1", "amount": 10.5, "gift": False, "note": None},
            "routing": {"queue": "Billing", "skills": ["billing"], "language": "en"},
            "tags": ["sample"],
            "metadata": {"source": "sample"},
        }
    )


def sample_context() -> dict[str, Any]:
    """A context with every field filled, used to test-render templates at validation."""
    return template_context(_sample_handoff(), platform="sample", route="sample")
