"""A handoff's history cut into episodes: a reopen starts a new one.

Each episode keeps what was observed while it lasted — its outcome, whether it was
transferred, its first response and resolution times, the public replies and the CSAT as
they arrived — so a later episode never overwrites an earlier one's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from baton.core.disposition import Disposition


@dataclass
class Episode:
    """One stretch of a ticket's life, from its opening (or a reopen) to the next reopen."""

    index: int
    started_at: datetime
    outcome: str
    resolved_at: datetime | None = None
    first_response_seconds: int | None = None
    resolution_seconds: int | None = None
    transferred: bool = False
    public_replies: int | None = None
    csat: float | None = None
    observations: list[Disposition] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        """Whether the episode ended resolved (its last observed outcome)."""
        return self.outcome == "resolved"


def _starts_new_episode(observed: Disposition, before: Disposition | None) -> bool:
    if before is None:
        return False
    if observed.outcome == "reopened":
        return before.outcome != "reopened"  # one reopen, however many observations of it
    return observed.reopen_count > before.reopen_count


def _absorb(episode: Episode, observed: Disposition, before: Disposition | None) -> None:
    episode.observations.append(observed)
    episode.outcome = "open" if observed.outcome == "reopened" else observed.outcome
    if observed.outcome == "transferred" or (
        before is not None and observed.transfer_count > before.transfer_count
    ):
        episode.transferred = True
    if observed.outcome == "resolved" and episode.resolved_at is None:
        episode.resolved_at = observed.occurred_at
    if observed.outcome == "resolved" and observed.resolution_seconds is not None:
        episode.resolution_seconds = observed.resolution_seconds
    if episode.first_response_seconds is None and observed.first_response_seconds is not None:
        episode.first_response_seconds = observed.first_response_seconds
    if observed.public_replies is not None:
        episode.public_replies = observed.public_replies
    if observed.csat is not None:
        episode.csat = observed.csat


def episodes(history: Sequence[Disposition]) -> list[Episode]:
    """``history`` (in the platform's order) as episodes; empty for no observation."""
    cut: list[Episode] = []
    before: Disposition | None = None
    for observed in history:
        if not cut or _starts_new_episode(observed, before):
            cut.append(Episode(len(cut), observed.occurred_at, observed.outcome))
        _absorb(cut[-1], observed, before)
        before = observed
    return cut


def reopened_within(cut: Sequence[Episode], episode: Episode, window: timedelta) -> bool:
    """Whether the episode after ``episode`` started within ``window`` of its resolution."""
    if episode.resolved_at is None or episode.index + 1 >= len(cut):
        return False
    return cut[episode.index + 1].started_at - episode.resolved_at <= window
