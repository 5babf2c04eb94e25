"""The month ``baton demo`` plays, planned in advance: handoffs and what the agents do with them.

A pure function of the example handoffs, a seed and the month's end: the same arguments give
the same plan. Each planned handoff is a variant of an example (its own id, conversation and
``created_at``; sometimes another channel, priority or customer tier, or a customer who asked
for a person), so the mappings route the month's handoffs to different groups. Each ticket's
life is a list of steps at planned times: a first reply minutes to hours after it arrives, at
times a transfer to another group, a resolution hours to days later, sometimes a reopen and a
second resolution, sometimes a rating. How an escalation goes depends on its intent
(:data:`PROFILES`): product bugs are the route that goes wrong (slow, bounced between groups,
reopened, rated badly), so the report's worst rows have something to say.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from baton.core.handoff import Handoff, Trigger

SEED = 2026
HANDOFFS = 300
DAYS = 30
SETTLED = timedelta(minutes=10)
HALF_MINUTE = timedelta(seconds=30)
"""Nothing in the month happens later than this before its end: the live part comes after."""

Action = Literal["reply", "transfer", "solve", "reopen", "rate"]


@dataclass(frozen=True)
class Step:
    """One thing an agent (or the customer) does to the ticket, at a planned time."""

    at: datetime
    action: Action
    good: bool = True
    comment: str | None = None
    pick: int = 0
    """For a transfer: which of the other groups it goes to (an index, taken modulo)."""


@dataclass(frozen=True)
class Planned:
    """A handoff of the month and its ticket's life."""

    handoff: Handoff
    steps: tuple[Step, ...]

    @property
    def resolved(self) -> bool:
        """Whether its ticket ends the month solved."""
        states = [s.action for s in self.steps if s.action in ("solve", "reopen")]
        return bool(states) and states[-1] == "solve"


@dataclass(frozen=True)
class Profile:
    """How one kind of escalation tends to go: medians of the delays, and chances."""

    weight: float
    reply_minutes: float
    resolve_hours: float
    transfer: float
    reopen: float
    good: float


PROFILES: dict[str, Profile] = {
    "billing.refund_dispute": Profile(3, 20, 9, 0.06, 0.07, 0.85),
    "orders.missing_item": Profile(5, 40, 20, 0.08, 0.09, 0.80),
    "compliance.complaint": Profile(1, 35, 40, 0.05, 0.06, 0.70),
    "account.change_email": Profile(2, 15, 2.5, 0.05, 0.05, 0.90),
    "product.bug": Profile(3, 150, 60, 0.45, 0.25, 0.40),
    "billing.invoice_question": Profile(3, 55, 12, 0.08, 0.07, 0.85),
    "account.cancel": Profile(2, 25, 26, 0.10, 0.09, 0.60),
    "product.howto": Profile(5, 30, 1.2, 0.10, 0.05, 0.90),
}
DEFAULT_PROFILE = Profile(2, 60, 12, 0.10, 0.08, 0.80)
SPIKE_INTENT = "product.bug"
SPIKE_DAYS = range(17, 20)
"""A release went wrong: these days of the month see several times the usual bug reports."""

CHANNELS = ("chat", "email", "web", "sms", "voice")
PRIORITIES = ("low", "normal", "high", "urgent")
TIERS = ("free", "standard", "pro", "vip", "enterprise")
HOURS = (1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1)
"""Arrivals by hour of the day (UTC): a working day with a tail into the evening."""
LEFT_OPEN = 0.05
RATED = 0.4
BAD_COMMENTS = (
    "Had to explain it twice",
    "Took days to hear back",
    "Still not fixed",
    "Passed from team to team",
)


def profile_for(intent: str) -> Profile:
    """The profile of ``intent`` (:data:`DEFAULT_PROFILE` for one not in :data:`PROFILES`)."""
    return PROFILES.get(intent, DEFAULT_PROFILE)


def plan_month(
    examples: Sequence[tuple[str, Handoff]],
    *,
    end: datetime,
    seed: int = SEED,
    count: int = HANDOFFS,
    days: int = DAYS,
) -> list[Planned]:
    """``count`` handoffs over the ``days`` before ``end`` and their tickets' lives, by
    ``created_at``. Steps that would fall after ``end - SETTLED`` have not happened yet."""
    rng = random.Random(seed)  # noqa: S311 - a seeded plan, not a secret
    start = end - timedelta(days=days)
    last = end - SETTLED
    handoffs = [handoff for _, handoff in examples]
    planned = []
    for number in range(count):
        day, created = _arrival(rng, start, days, last)
        weights = [
            profile_for(h.intent).weight
            * (4 if h.intent == SPIKE_INTENT and day in SPIKE_DAYS else 1)
            for h in handoffs
        ]
        example = rng.choices(handoffs, weights)[0]
        handoff = _variant(rng, example, number, created)
        steps = _life(rng, profile_for(example.intent), created)
        planned.append(Planned(handoff, tuple(s for s in steps if s.at <= last)))
    return sorted(planned, key=lambda p: (p.handoff.created_at, p.handoff.id))


def _arrival(
    rng: random.Random, start: datetime, days: int, last: datetime
) -> tuple[int, datetime]:
    """A day of the month (weekends quieter) and a time in it; never after ``last``."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    day_weights = [
        0.4 if (midnight + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(days)
    ]
    while True:
        day = rng.choices(range(days), day_weights)[0]
        hour = rng.choices(range(24), HOURS)[0]
        when = midnight + timedelta(days=day, hours=hour, minutes=rng.randrange(60))
        if start <= when <= last:
            return day, when


def _variant(rng: random.Random, example: Handoff, number: int, created: datetime) -> Handoff:
    suffix = f".m{number:03d}"
    update: dict[str, object] = {
        "id": f"{example.id}{suffix}",
        "conversation_id": f"{example.conversation_id}{suffix}",
        "created_at": created,
    }
    if rng.random() < 0.3:
        update["channel"] = rng.choice(CHANNELS)
    if rng.random() < 0.3:
        at = PRIORITIES.index(example.priority) if example.priority in PRIORITIES else 1
        moved = min(len(PRIORITIES) - 1, max(0, at + rng.choice((-1, 1))))
        update["priority"] = PRIORITIES[moved]
    if example.customer is not None and rng.random() < 0.35:
        update["customer"] = example.customer.model_copy(update={"tier": rng.choice(TIERS)})
    kinds = {trigger.kind for trigger in example.triggers}
    if "explicit_request" not in kinds and rng.random() < 0.15:
        update["triggers"] = [*example.triggers, Trigger(kind="explicit_request")]
    return example.model_copy(update=update)


def _later(rng: random.Random, median: timedelta) -> timedelta:
    """A delay around ``median``: log-normal, so mostly near it with a long tail; in whole
    minutes, at least one."""
    minutes = median.total_seconds() / 60 * min(12.0, math.exp(rng.gauss(0, 0.9)))
    return timedelta(minutes=max(1, round(minutes)))


def _life(rng: random.Random, profile: Profile, created: datetime) -> list[Step]:
    # Steps fall half a minute past the minute the ticket was made in, so the platform's whole
    # minutes (created at :00 plus the milliseconds a request takes) come out the same each run.
    at = created + HALF_MINUTE + _later(rng, timedelta(minutes=profile.reply_minutes))
    steps = [Step(at, "reply")]
    if rng.random() < profile.transfer:
        at += _later(rng, timedelta(minutes=90))
        steps.append(Step(at, "transfer", pick=rng.randrange(1000)))
    if rng.random() < LEFT_OPEN:
        return steps
    at += _later(rng, timedelta(hours=profile.resolve_hours))
    steps.append(Step(at, "solve"))
    if rng.random() < profile.reopen:
        at += _later(rng, timedelta(hours=30))
        steps.append(Step(at, "reopen"))
        at += _later(rng, timedelta(minutes=profile.reply_minutes))
        steps.append(Step(at, "reply"))
        at += _later(rng, timedelta(hours=profile.resolve_hours / 2))
        steps.append(Step(at, "solve"))
    if rng.random() < RATED:
        at += _later(rng, timedelta(hours=3))
        good = rng.random() < profile.good
        steps.append(Step(at, "rate", good, None if good else rng.choice(BAD_COMMENTS)))
    return steps
