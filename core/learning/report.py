"""The learning report as a document: the totals and the metrics per dimension, worst first,
each row with a one-line reading. ``baton report`` prints it; ``--json`` writes it as is, and
:func:`report_json_schema` publishes its shape (``baton schema report``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from baton.core.learning.containment import Containment, containment
from baton.core.learning.history import Escalation
from baton.core.learning.metrics import (
    DIMENSIONS,
    Definitions,
    GroupMetrics,
    Period,
    by_dimension,
    measure,
    period_of,
)
from baton.core.learning.sla import Breach, RuleSla, Slas, attainment
from baton.core.volume import VolumeFigure

DEFAULT_DIMENSIONS = ("trigger", "intent", "route", "group")


@dataclass(frozen=True)
class Row:
    """One value of a dimension (in one period, when grouped by period) and its metrics."""

    value: str
    period: str | None
    metrics: GroupMetrics
    reading: str


@dataclass(frozen=True)
class Report:
    """Everything ``baton report`` shows."""

    generated_at: datetime
    since: datetime | None
    until: datetime | None
    platform: str | None
    definitions: Definitions
    total: GroupMetrics
    dimensions: dict[str, list[Row]]
    note: str
    sla: list[RuleSla] = field(default_factory=list)
    open_breaches: list[Breach] = field(default_factory=list)
    containment: list[Containment] = field(default_factory=list)
    containment_trend: list[Containment] = field(default_factory=list)
    value_unit: str | None = None
    weeks: list[Row] = field(default_factory=list)  # every escalation per ISO week, oldest first


_ADAPTER: TypeAdapter[Report] = TypeAdapter(Report)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def reading(dimension: str, value: str, metrics: GroupMetrics) -> str:
    """One line saying what stands out in a row, or that nothing does."""
    subject = f"{dimension} {value}"
    transferred = metrics.outcomes.get("transferred", 0)
    if metrics.right_party_rate is not None and metrics.right_party_rate < 0.75:
        return f"{subject}: right party only {_percent(metrics.right_party_rate)}; check the rule"
    if transferred and metrics.escalations and transferred / metrics.escalations >= 0.25:
        return f"{subject}: {transferred / metrics.escalations:.0%} transferred; check the rule"
    if metrics.durable_rate is not None and metrics.durable_rate < 0.8:
        return f"{subject}: {1 - metrics.durable_rate:.0%} of resolutions reopened"
    if metrics.quick_fix_rate is not None and metrics.quick_fix_rate >= 0.5:
        return f"{subject}: {metrics.quick_fix_rate:.0%} quick human fixes; automation candidate"
    return f"{subject}: nothing stands out"


def _worst_first(row: Row) -> tuple[float, float, float]:
    """Lowest right-party rate, then highest reopen share, then slowest p90 first."""
    metrics = row.metrics
    right = metrics.right_party_rate if metrics.right_party_rate is not None else 2.0
    durable = metrics.durable_rate if metrics.durable_rate is not None else 2.0
    slow = metrics.resolution.p90 or 0.0
    return (right, durable, -slow)


def build_report(
    escalations: Iterable[Escalation],
    *,
    now: datetime,
    dimensions: Sequence[str] = DEFAULT_DIMENSIONS,
    period: Period | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    platform: str | None = None,
    defs: Definitions | None = None,
    slas: Slas | None = None,
    volume: Sequence[VolumeFigure] = (),
    value_unit: str | None = None,
) -> Report:
    """The report over ``escalations`` (read once, kept for the groupings); ``slas`` are the
    routes' targets (see :mod:`.sla`), ``volume`` the agent's conversation figures for the
    range (see :mod:`.containment`), ``value_unit`` what the value at stake counts."""
    defs = defs or Definitions()
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension '{unknown[0]}'; one of {', '.join(DIMENSIONS)}")
    found = list(escalations)
    grouped: dict[str, list[Row]] = {}
    for dimension in dimensions:
        rows = [
            Row(key[-1], key[0] if period else None, metrics, reading(dimension, key[-1], metrics))
            for key, metrics in by_dimension(
                found, dimension, now=now, period=period, defs=defs
            ).items()
        ]
        grouped[dimension] = sorted(rows, key=_worst_first)
    note = (
        "A handoff with several trigger kinds counts under each kind: the trigger rows do not "
        "sum to the total."
        if "trigger" in dimensions
        else ""
    )
    total = measure(found, now=now, defs=defs)
    rules, breaches = attainment(found, slas or {}, now)
    overall, trend = containment(found, volume)
    per_week: defaultdict[str, list[Escalation]] = defaultdict(list)
    for escalation in found:
        per_week[period_of(escalation.created_at, "week")].append(escalation)
    weeks = [
        Row("all", label, metrics, reading("week", label, metrics))
        for label, metrics in (
            (label, measure(items, now=now, defs=defs)) for label, items in sorted(per_week.items())
        )
    ]
    return Report(
        now,
        since,
        until,
        platform,
        defs,
        total,
        grouped,
        note,
        rules,
        breaches,
        overall,
        trend,
        value_unit,
        weeks,
    )


def report_document(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (what ``--json`` writes)."""
    document: dict[str, Any] = _ADAPTER.dump_python(report, mode="json")
    return document


def report_json_schema() -> dict[str, Any]:
    """The published JSON Schema of ``baton report --json``."""
    schema = _ADAPTER.json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://baton.dev/schemas/report.json"
    schema["title"] = "Baton learning report"
    return schema


__all__ = ["Report", "Row", "build_report", "reading", "report_document", "report_json_schema"]
