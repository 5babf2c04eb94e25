"""Containment: the share of the agent's conversations it kept, 1 − escalations ÷ conversations.

Only days the agent reported a volume for count, on both sides of the division: a day without a
figure adds neither its conversations (unknown) nor its escalations. A day's figure over all
channels is the one without a channel; when a day has only per-channel figures, their sum.
Per channel, only that channel's own figures count. With no figure in range containment is
unknown (None), never 100 %. A rate below 0 (more escalations than conversations) is shown as
it is: it means the volume figures are short.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date

from baton.core.learning.history import Escalation
from baton.core.learning.metrics import Period, period_of
from baton.core.volume import VolumeFigure


@dataclass(frozen=True)
class Containment:
    """Containment over some days: overall (``period`` None) or in one period; over all
    channels (``channel`` None) or one."""

    period: str | None
    channel: str | None
    days: int
    conversations: int
    escalations: int
    rate: float | None


def _rate(conversations: int, escalations: int) -> float | None:
    return 1 - escalations / conversations if conversations else None


def containment(
    escalations: Iterable[Escalation], volume: Sequence[VolumeFigure], *, period: Period = "week"
) -> tuple[list[Containment], list[Containment]]:
    """Overall containment (all channels first, then each channel with figures) and the trend
    over all channels per ``period``, oldest first."""
    overall_by_day: dict[date, int] = {}
    by_channel: dict[str, dict[date, int]] = defaultdict(dict)
    summed: Counter[date] = Counter()
    for figure in volume:
        if figure.channel is None:
            overall_by_day[figure.date] = figure.conversations
        else:
            by_channel[figure.channel][figure.date] = figure.conversations
            summed[figure.date] += figure.conversations
    for day, conversations in summed.items():
        overall_by_day.setdefault(day, conversations)

    escalated: Counter[date] = Counter()
    escalated_on_channel: Counter[tuple[str, date]] = Counter()
    for escalation in escalations:
        day = escalation.created_at.astimezone(UTC).date()
        escalated[day] += 1
        escalated_on_channel[(escalation.channel, day)] += 1

    def over(days: dict[date, int], channel: str | None, label: str | None) -> Containment:
        conversations = sum(days.values())
        count = sum(
            escalated[d] if channel is None else escalated_on_channel[(channel, d)] for d in days
        )
        return Containment(
            label, channel, len(days), conversations, count, _rate(conversations, count)
        )

    overall = [over(overall_by_day, None, None)]
    overall += [over(days, channel, None) for channel, days in sorted(by_channel.items())]
    periods: dict[str, dict[date, int]] = defaultdict(dict)
    for day, conversations in overall_by_day.items():
        periods[period_of_day(day, period)][day] = conversations
    trend = [over(days, None, label) for label, days in sorted(periods.items())]
    return overall, trend


def period_of_day(day: date, period: Period) -> str:
    """The period label of a calendar day, as :func:`.metrics.period_of` labels a moment."""
    from datetime import datetime

    return period_of(datetime(day.year, day.month, day.day, tzinfo=UTC), period)
