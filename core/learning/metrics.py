"""The learning metrics, defined once. Every number the report shows is computed here.

Over a set of escalations (handoffs), each judged by its whole disposition history:

escalations           how many handoffs. Grouped by trigger kind, a handoff with several kinds
                      counts under each, so those rows do not sum to the total.
outcomes              each handoff's current outcome (the newest observation by the platform's
                      time, ties to the later recorded); ``unobserved`` when none arrived yet.
never_resolvable      handoffs now ``deleted`` or ``merged``: counted apart and left out of every
                      rate below (they can never resolve), never counted as resolved.
resolved              handoffs whose current outcome is ``resolved``.
first response        the platform's first-response time of the first episode, in seconds of
                      wall time as the platform reports it: median and p90.
resolution            the platform's resolution time of the first resolved episode: median, p90,
                      and how many fall in each of RESOLUTION_BUCKETS (the distribution).
csat                  the mean of the normalized score (0..1) of the latest rating per handoff;
                      ``csat_responses`` rated ÷ resolved; good: a score ≥ 0.5, bad: < 0.5.
right-party rate      resolved with no transfer in any episode ÷ resolved (mis-routing shows up
                      as transfers).
quick-human-fix rate  resolved handoffs never reopened, resolved within ``quick_fix_seconds``
                      (default 1 h) with at most one public reply (a count the platform gave:
                      unknown never counts as quick) ÷ resolved: candidates for automation.
durable resolution    resolved episodes not followed by a reopen within ``durable_days``
                      (default 7) ÷ resolved episodes at least that old at ``now``; younger
                      ones are still pending and counted in neither.
value at stake        the sum of the number the mapping's ``value_at_stake`` names, over the
                      handoffs that carry it (``value_carried``), in total and per current
                      outcome (deleted and merged included); None when none carries it.
containment           1 − escalations ÷ conversations, over the days the agent reported its
                      volume for (see :mod:`.containment`); unknown, never 100 %, without.

Percentiles: the median is the middle value (the mean of the two middle values for an even
count); p90 is the nearest rank: the smallest value with at least 90 % of values at or below it.
Rates are None, never 0 or 100 %, when their denominator is 0.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from baton.core.learning.episodes import Episode, episodes, reopened_within
from baton.core.learning.history import Escalation

NEVER_RESOLVABLE = frozenset({"deleted", "merged"})
RESOLUTION_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 3600),
    ("1–4 h", 4 * 3600),
    ("4–24 h", 86_400),
    ("1–3 d", 3 * 86_400),
    ("3–7 d", 7 * 86_400),
    ("≥ 7 d", math.inf),
)
"""Time-to-resolution buckets: each label and its exclusive upper bound in seconds."""
Period = Literal["day", "week"]


@dataclass(frozen=True)
class Definitions:
    """The thresholds the definitions use."""

    quick_fix_seconds: int = 3600
    durable_days: int = 7
    good_csat: float = 0.5


@dataclass(frozen=True)
class Spread:
    """Median and p90 of some seconds, and how many values they come from."""

    count: int
    median: float | None
    p90: float | None


def spread(values: Sequence[float]) -> Spread:
    """Median and nearest-rank p90 of ``values`` (None for none)."""
    if not values:
        return Spread(0, None, None)
    ordered = sorted(values)
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return Spread(len(ordered), float(statistics.median(ordered)), float(ordered[rank - 1]))


def histogram(seconds: Iterable[float]) -> list[int]:
    """How many of ``seconds`` fall in each of :data:`RESOLUTION_BUCKETS`."""
    counts = [0] * len(RESOLUTION_BUCKETS)
    for value in seconds:
        counts[next(i for i, (_, bound) in enumerate(RESOLUTION_BUCKETS) if value < bound)] += 1
    return counts


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class GroupMetrics:
    """Every metric of one group of escalations (see the module docstring)."""

    escalations: int
    outcomes: dict[str, int]
    never_resolvable: int
    resolved: int
    first_response: Spread
    resolution: Spread
    csat_mean: float | None
    csat_responses: int
    csat_response_rate: float | None
    csat_good: int
    csat_bad: int
    right_party_rate: float | None
    quick_fix_rate: float | None
    durable_resolved: int
    durable_judged: int
    durable_rate: float | None = field(default=None)
    value: float | None = None
    value_carried: int = 0
    value_by_outcome: dict[str, float] = field(default_factory=dict)
    resolution_histogram: list[int] = field(default_factory=list)  # per RESOLUTION_BUCKETS


@dataclass
class _Tally:
    escalations: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    never_resolvable: int = 0
    resolved: int = 0
    first_responses: list[float] = field(default_factory=list)
    resolutions: list[float] = field(default_factory=list)
    ratings: list[float] = field(default_factory=list)
    right_party: int = 0
    quick: int = 0
    durable_resolved: int = 0
    durable_judged: int = 0
    value_by_outcome: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    value_carried: int = 0

    def add(self, escalation: Escalation, defs: Definitions, now: datetime) -> None:
        self.escalations += 1
        current = escalation.current
        outcome = current.outcome if current is not None else "unobserved"
        self.outcomes[outcome] += 1
        if escalation.value is not None:
            self.value_carried += 1
            self.value_by_outcome[outcome] += escalation.value
        if outcome in NEVER_RESOLVABLE:
            self.never_resolvable += 1
            return
        cut = episodes(escalation.history)
        if cut and cut[0].first_response_seconds is not None:
            self.first_responses.append(cut[0].first_response_seconds)
        first_resolved = next((e for e in cut if e.resolved_at is not None), None)
        if first_resolved is not None and first_resolved.resolution_seconds is not None:
            self.resolutions.append(first_resolved.resolution_seconds)
        self._durability(cut, defs, now)
        if outcome != "resolved":
            return
        self.resolved += 1
        rating = next((d.csat for d in reversed(escalation.history) if d.csat is not None), None)
        if rating is not None:
            self.ratings.append(rating)
        if not any(e.transferred for e in cut):
            self.right_party += 1
        if _quick(cut, defs):
            self.quick += 1

    def _durability(self, cut: Sequence[Episode], defs: Definitions, now: datetime) -> None:
        window = timedelta(days=defs.durable_days)
        for episode in cut:
            if episode.resolved_at is None or now - episode.resolved_at < window:
                continue  # never resolved, or too recent to judge
            self.durable_judged += 1
            if not reopened_within(cut, episode, window):
                self.durable_resolved += 1

    def result(self, defs: Definitions) -> GroupMetrics:
        good = sum(1 for r in self.ratings if r >= defs.good_csat)
        return GroupMetrics(
            escalations=self.escalations,
            outcomes=dict(self.outcomes),
            never_resolvable=self.never_resolvable,
            resolved=self.resolved,
            first_response=spread(self.first_responses),
            resolution=spread(self.resolutions),
            csat_mean=statistics.fmean(self.ratings) if self.ratings else None,
            csat_responses=len(self.ratings),
            csat_response_rate=_rate(len(self.ratings), self.resolved),
            csat_good=good,
            csat_bad=len(self.ratings) - good,
            right_party_rate=_rate(self.right_party, self.resolved),
            quick_fix_rate=_rate(self.quick, self.resolved),
            durable_resolved=self.durable_resolved,
            durable_judged=self.durable_judged,
            durable_rate=_rate(self.durable_resolved, self.durable_judged),
            value=sum(self.value_by_outcome.values()) if self.value_carried else None,
            value_carried=self.value_carried,
            value_by_outcome=dict(sorted(self.value_by_outcome.items())),
            resolution_histogram=histogram(self.resolutions),
        )


def _quick(cut: Sequence[Episode], defs: Definitions) -> bool:
    if len(cut) != 1:  # reopened at least once
        return False
    only = cut[0]
    return (
        only.resolution_seconds is not None
        and only.resolution_seconds <= defs.quick_fix_seconds
        and only.public_replies is not None
        and only.public_replies <= 1
    )


def measure(
    escalations: Iterable[Escalation], *, now: datetime, defs: Definitions | None = None
) -> GroupMetrics:
    """Every metric over ``escalations``, as of ``now`` (for durability)."""
    defs = defs or Definitions()
    tally = _Tally()
    for escalation in escalations:
        tally.add(escalation, defs, now)
    return tally.result(defs)


def _many(values: Iterable[str | None]) -> list[str]:
    return [value if value else "(none)" for value in values]


DIMENSIONS: dict[str, Callable[[Escalation], list[str]]] = {
    "trigger": lambda e: _many(e.trigger_kinds or ("(none)",)),
    "intent": lambda e: [e.intent],
    "intent_family": lambda e: [e.intent_family],
    "route": lambda e: _many([e.route]),
    "group": lambda e: _many([e.group]),
    "platform": lambda e: [e.platform],
    "channel": lambda e: [e.channel],
    "language": lambda e: _many([(e.language or "").split("-")[0] or None]),
    "tier": lambda e: _many([e.tier]),
    "priority": lambda e: [e.priority],
}
"""Each dimension's values for an escalation (several for trigger kinds)."""


def period_of(moment: datetime, period: Period) -> str:
    """``2026-11-27`` for a day, ``2026-W48`` for an ISO week."""
    if period == "day":
        return moment.date().isoformat()
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def by_dimension(
    escalations: Iterable[Escalation],
    dimension: str,
    *,
    now: datetime,
    period: Period | None = None,
    defs: Definitions | None = None,
) -> dict[tuple[str, ...], GroupMetrics]:
    """Metrics per value of ``dimension`` (and per period of ``created_at`` when given), keyed
    ``(value,)`` or ``(period, value)``."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension '{dimension}'; one of {', '.join(DIMENSIONS)}")
    defs = defs or Definitions()
    values = DIMENSIONS[dimension]
    tallies: defaultdict[tuple[str, ...], _Tally] = defaultdict(_Tally)
    for escalation in escalations:
        for value in values(escalation):
            key = (value,) if period is None else (period_of(escalation.created_at, period), value)
            tallies[key].add(escalation, defs, now)
    return {key: tally.result(defs) for key, tally in sorted(tallies.items())}
