"""One escalation as the report sees it: features, ticket link and disposition history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from baton.core.disposition import Disposition, latest


def in_platform_order(history: Iterable[Disposition]) -> tuple[Disposition, ...]:
    """``history`` (in recording order) by the platform's own time; on a tie the one recorded
    later comes later, as :func:`core.disposition.latest` decides the current state."""
    return tuple(sorted(history, key=lambda d: d.occurred_at))  # sorted() is stable


@dataclass(frozen=True)
class Escalation:
    """A handoff, the features the agent decided on, where it went, and what became of it."""

    handoff_id: str
    created_at: datetime
    platform: str
    intent: str
    trigger_kinds: tuple[str, ...]
    channel: str
    language: str | None
    tier: str | None
    priority: str
    route: str | None = None
    target: str | None = None
    history: tuple[Disposition, ...] = ()  # in the platform's order (in_platform_order)
    trigger_scores: tuple[tuple[str, float | None], ...] = ()  # (kind, score) as the agent gave
    sentiment: float | None = None  # the agent's score, -1..1
    authenticated: bool = False
    value: float | None = None  # the value at stake (core.learning.stakes), when it carries one

    @property
    def current(self) -> Disposition | None:
        """The newest observation by the platform's time (ties: the later recorded)."""
        return latest(self.history)

    @property
    def group(self) -> str | None:
        """The group/queue the ticket is in now, else the target it was created for."""
        for observed in reversed(self.history):
            if observed.group:
                return observed.group
        return self.target

    @property
    def intent_family(self) -> str:
        """The intent's first segment: ``billing`` for ``billing.refund``."""
        return self.intent.split(".", 1)[0]
