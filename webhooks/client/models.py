"""What Baton answers, as typed documents: :class:`Accepted` for ``POST /v1/handoffs`` and
:class:`HandoffStatus` for ``GET /v1/handoffs/{id}``.

Fields the client does not know are ignored, so a newer service does not break an older
client; a field a newer service adds with a default (``latest_reply``) is simply None on an
older one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FieldWarning(_Answer):
    """One change Baton made while accepting (an unknown word kept as ``other``)."""

    path: str
    message: str


class Accepted(_Answer):
    """Baton has the handoff. ``existing``: it had it already (the answer was 200, not 202)."""

    id: str
    status: str
    platform: str
    status_url: str
    warnings: list[FieldWarning] = Field(default_factory=list)
    existing: bool = False


class TicketRef(_Answer):
    """The ticket a handoff became; ``route``, ``target`` and ``backup`` None when not
    recorded (``backup``: the mapping's backup target was used)."""

    platform: str
    id: str
    url: str | None = None
    route: str | None = None
    target: str | None = None
    backup: bool | None = None


class PublicReply(_Answer):
    """A human's public reply on the ticket, to relay to the customer."""

    reply_id: str
    author: str | None = None
    body: str
    at: datetime


class HandoffStatus(_Answer):
    """A handoff's status document: delivery, ticket, current disposition and history.

    ``human_holds_conversation``: a person has the case now, so the agent should stay quiet.
    """

    id: str
    platform: str
    status: str
    delivery: dict[str, Any] | None = None
    ticket: TicketRef | None = None
    disposition: dict[str, Any] | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    human_holds_conversation: bool = False
    latest_reply: PublicReply | None = None

    @property
    def outcome(self) -> str | None:
        """The current disposition's outcome (``open``, ``resolved`` …), None before any."""
        if self.disposition is None:
            return None
        outcome = self.disposition.get("outcome")
        return outcome if isinstance(outcome, str) else None


__all__ = ["Accepted", "FieldWarning", "HandoffStatus", "PublicReply", "TicketRef"]
