"""The learning report as one self-contained HTML page (``baton report --html FILE``).

The page opens offline: inline CSS and inline SVG (:mod:`.svg`), no script, font, image or
style sheet from anywhere else. Each chart has a title, labelled axes with units and the table
of its numbers beside it (also what a screen reader reads). Every name and reading from the
store goes through Jinja2's autoescaping (or :func:`markupsafe.escape` inside the charts). A
rate without a denominator shows as ``—`` or ``unknown``, never as 0 or 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from jinja2 import Environment, StrictUndefined

from baton.core.learning.metrics import RESOLUTION_BUCKETS
from baton.core.learning.page_layout import (
    PAGE_TEMPLATE,
    Section,
    Table,
    dash_percent,
    duration,
    every_row_sections,
)
from baton.core.learning.report import Report, Row
from baton.core.learning.svg import (
    Part,
    Point,
    RateBar,
    StackedBar,
    line_chart,
    rate_bars,
    share_bars,
    stacked_columns,
)

OUTCOME_COLOURS = {
    "resolved": "#009E73",
    "open": "#0072B2",
    "pending": "#E69F00",
    "reopened": "#D55E00",
    "transferred": "#CC79A7",
    "merged": "#7f7f7f",
    "deleted": "#4d4d4d",
    "unobserved": "#c7c7c7",
}
"""One colour per outcome (colour-blind safe), the same in every chart."""
VERDICT_COLOURS = {
    "attained": "#009E73",
    "breached": "#D55E00",
    "pending": "#E69F00",
    "unmeasured": "#c7c7c7",
}
BUCKET_COLOURS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")
CHART_DIMENSIONS = ("trigger", "route", "group")
"""The dimensions the page charts: build its report with them, whatever else it has."""
CHART_ROWS = 12  # a chart shows the worst rows; its table shows them all
UNKNOWN_CONTAINMENT = (
    "unknown: no conversation volume reported (POST /v1/volume or `baton volume import FILE.csv`)"
)


def _rows(report: Report, dimension: str) -> list[Row]:
    """The dimension's rows over the whole range (rows split by period are left out)."""
    return [row for row in report.dimensions.get(dimension, []) if row.period is None]


def _missing(report: Report, dimension: str) -> str | None:
    """Why the page cannot chart ``dimension``, or None when it can."""
    if dimension not in report.dimensions:
        return f"The report was built without the {dimension} dimension (add it with --by)."
    if report.dimensions[dimension] and not _rows(report, dimension):
        return "The report was split by period; the page charts the whole range (no period)."
    return None


def _weeks(report: Report) -> Section:
    used = [o for o in OUTCOME_COLOURS if any(w.metrics.outcomes.get(o) for w in report.weeks)]
    bars = [
        StackedBar(
            week.period or "",
            tuple(Part(o, week.metrics.outcomes.get(o, 0), OUTCOME_COLOURS[o]) for o in used),
        )
        for week in report.weeks
    ]
    chart = stacked_columns(
        "chart-weeks",
        "Escalations per week, by current outcome",
        bars,
        x_label="ISO week the handoff was created in",
        y_label="Escalations (count)",
    )
    rows = [
        (
            week.period or "",
            *(str(week.metrics.outcomes.get(o, 0)) for o in used),
            str(week.metrics.escalations),
        )
        for week in report.weeks
    ]
    table = Table("Escalations per week and outcome", ("week", *used, "total"), rows)
    intro = "Each handoff counted once, in the week it was created, by what became of it so far."
    return Section("weeks", "Escalations per week", intro, chart, table)


def _resolution(report: Report) -> Section:
    heading = "Time to resolution per queue"
    intro = "How long the first resolution took, as the help desk reports it, per group (queue)."
    missing = _missing(report, "group")
    if missing:
        return Section("resolution", heading, intro, absent=missing)
    rows = [("all queues", report.total), *((r.value, r.metrics) for r in _rows(report, "group"))]
    labels = [label for label, _ in RESOLUTION_BUCKETS]
    bars = [
        StackedBar(
            name,
            tuple(
                Part(label, count, colour)
                for label, count, colour in zip(
                    labels, metrics.resolution_histogram, BUCKET_COLOURS, strict=False
                )
            ),
        )
        for name, metrics in rows[: CHART_ROWS + 1]
    ]
    chart = share_bars(
        "chart-resolution",
        "Time-to-resolution distribution per queue",
        bars,
        x_label="Share of resolved handoffs with a resolution time (%)",
    )
    table_rows = [
        (
            name,
            str(m.resolution.count),
            duration(m.resolution.median),
            duration(m.resolution.p90),
            *(str(n) for n in m.resolution_histogram),
        )
        for name, m in rows
    ]
    headers = ("queue", "n", "median", "p90", *labels)
    return Section(
        "resolution",
        heading,
        intro,
        chart,
        Table("Resolution times per queue", headers, table_rows),
    )


def _csat(report: Report) -> Section:
    heading = "CSAT per trigger"
    intro = (
        "The mean satisfaction score of resolved handoffs (normalised 0–100 %), per trigger "
        "kind the agent escalated for. A handoff with several kinds counts under each."
    )
    missing = _missing(report, "trigger")
    if missing:
        return Section("csat", heading, intro, absent=missing)
    rows = _rows(report, "trigger")
    bars = [
        RateBar(r.value, r.metrics.csat_mean, f"{r.metrics.csat_responses} rated")
        for r in rows[:CHART_ROWS]
    ]
    chart = rate_bars(
        "chart-csat", "Mean CSAT per trigger kind", bars, x_label="Mean CSAT (normalised, %)"
    )
    table_rows = [
        (
            r.value,
            str(r.metrics.resolved),
            str(r.metrics.csat_responses),
            dash_percent(r.metrics.csat_mean),
            str(r.metrics.csat_good),
            str(r.metrics.csat_bad),
        )
        for r in rows
    ]
    headers = ("trigger", "resolved", "rated", "mean", "good", "bad")
    return Section("csat", heading, intro, chart, Table("CSAT per trigger", headers, table_rows))


def _right_party(report: Report) -> Section:
    heading = "Right-party rate per route"
    intro = "Resolved without any transfer ÷ resolved, per routing rule: low means mis-routing."
    missing = _missing(report, "route")
    if missing:
        return Section("right-party", heading, intro, absent=missing)
    rows = _rows(report, "route")
    bars = [
        RateBar(r.value, r.metrics.right_party_rate, f"{r.metrics.resolved} resolved")
        for r in rows[:CHART_ROWS]
    ]
    chart = rate_bars(
        "chart-right-party",
        "Right-party rate per route",
        bars,
        x_label="Resolved without a transfer (% of resolved)",
    )
    table_rows = [
        (
            r.value,
            str(r.metrics.escalations),
            str(r.metrics.resolved),
            str(r.metrics.outcomes.get("transferred", 0)),
            dash_percent(r.metrics.right_party_rate),
        )
        for r in rows
    ]
    headers = ("route", "escalations", "resolved", "now transferred", "right party")
    table = Table("Right-party rate per route", headers, table_rows)
    return Section("right-party", heading, intro, chart, table)


def _sla(report: Report) -> Section:
    heading = "SLA attainment per rule"
    intro = "Each ticket against the targets (`sla:`) of the route it was made on."
    if not report.sla:
        absent = "No route with an `sla:` target has escalations in this range."
        return Section("sla", heading, intro, absent=absent)
    verdicts = tuple(VERDICT_COLOURS)
    measured = [
        (f"{rule.route} · {kind.replace('_', ' ')}", rule, kind, counts)
        for rule in report.sla
        for kind, counts in rule.counts.items()
    ]
    bars = [
        StackedBar(label, tuple(Part(v, counts.get(v, 0), VERDICT_COLOURS[v]) for v in verdicts))
        for label, _, _, counts in measured
    ]
    chart = share_bars(
        "chart-sla", "SLA verdicts per rule and target", bars, x_label="Share of tickets (%)"
    )
    several = len({rule.platform for rule in report.sla}) > 1  # else the platform is no news
    rows = []
    for _, rule, kind, counts in measured:
        judged = counts.get("attained", 0) + counts.get("breached", 0)
        rate = counts.get("attained", 0) / judged if judged else None
        cells = (str(counts.get(v, 0)) for v in verdicts)
        route = f"{rule.route} ({rule.platform})" if several else rule.route
        rows.append((route, kind.replace("_", " "), *cells, dash_percent(rate)))
    headers = ("route", "target", *verdicts, "attainment")
    notes = [
        f"Open breach: {b.handoff_id} ({b.route}) {b.kind.replace('_', ' ')} overdue by "
        f"{duration(b.overdue_seconds)}"
        for b in report.open_breaches[:10]
    ]
    return Section("sla", heading, intro, chart, Table("SLA per rule", headers, rows), notes=notes)


def _containment(report: Report) -> Section:
    heading = "Containment"
    intro = "The share of the agent's conversations it kept: 1 − escalations ÷ conversations."
    overall = report.containment[0] if report.containment else None
    if overall is None or overall.rate is None:
        return Section("containment", heading, intro, absent=f"Containment {UNKNOWN_CONTAINMENT}.")
    points = [Point(c.period or "", c.rate) for c in report.containment_trend]
    chart = line_chart(
        "chart-containment",
        "Containment per week",
        points,
        x_label="ISO week (days with a reported volume)",
        y_label="Containment (%)",
    )
    rows = [
        (
            c.period or "",
            str(c.days),
            str(c.conversations),
            str(c.escalations),
            dash_percent(c.rate),
        )
        for c in report.containment_trend
    ]
    headers = ("week", "days", "conversations", "escalations", "containment")
    notes = [
        f"{c.channel or 'all channels'}: {dash_percent(c.rate)} over {c.days} day(s), "
        f"{c.conversations} conversations, {c.escalations} escalations"
        for c in report.containment
    ]
    table = Table("Containment per week", headers, rows)
    return Section("containment", heading, intro, chart, table, notes=notes)


def _value(report: Report) -> Section | None:
    total = report.total
    if report.value_unit is None or total.value is None:
        return None
    rows = [(o, f"{v:,.0f}") for o, v in total.value_by_outcome.items()]
    intro = f"{total.value_carried} handoff(s) carry a value; summed in {report.value_unit}."
    table = Table(f"Value at stake by outcome ({report.value_unit})", ("outcome", "value"), rows)
    return Section("value", "Value at stake", intro, table=table)


def _headline(report: Report) -> list[tuple[str, str, str]]:
    total = report.total
    overall = report.containment[0] if report.containment else None
    cards = [
        ("Escalations", str(total.escalations), f"{total.never_resolvable} deleted or merged"),
        (
            "Resolved",
            str(total.resolved),
            f"{dash_percent(total.durable_rate)} stayed resolved 7 d",
        ),
        ("Right party", dash_percent(total.right_party_rate), "resolved without a transfer"),
        (
            "Time to resolution",
            duration(total.resolution.median),
            "median; p90 " + duration(total.resolution.p90),
        ),
        ("CSAT", dash_percent(total.csat_mean), f"{total.csat_responses} rated"),
        (
            "Containment",
            dash_percent(overall.rate if overall else None),
            "of the agent's conversations",
        ),
    ]
    if report.value_unit and total.value is not None:
        cards.append(("Value at stake", f"{total.value:,.0f}", report.value_unit))
    return cards


def standouts(report: Report, limit: int = 8) -> list[str]:
    """The readings of the worst rows that say something (two per dimension at most)."""
    found: list[str] = []
    for dimension in report.dimensions:
        telling = [r.reading for r in _rows(report, dimension)]
        found += [text for text in telling if not text.endswith("nothing stands out")][:2]
    return found[:limit]


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def scope(report: Report) -> str:
    """Which handoffs the report covers, in words."""
    if report.since and report.until:
        return f"Handoffs created from {_when(report.since)} until {_when(report.until)}"
    if report.since:
        return f"Handoffs created since {_when(report.since)}"
    if report.until:
        return f"Handoffs created before {_when(report.until)}"
    return "Every handoff in the store"


_ENVIRONMENT = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


def report_sections(report: Report) -> list[Section]:
    """The page's sections in order: the charts of a report with escalations, and containment."""
    if not report.total.escalations:
        return [_containment(report)]
    found: Sequence[Section | None] = (
        _weeks(report),
        _resolution(report),
        _csat(report),
        _right_party(report),
        _sla(report),
        _containment(report),
        _value(report),
    )
    return [section for section in found if section is not None] + every_row_sections(report)


def report_html(report: Report) -> str:
    """The whole page: a self-contained HTML document with nothing to fetch."""
    definitions = report.definitions
    return _ENVIRONMENT.from_string(PAGE_TEMPLATE).render(
        report=report,
        scope=scope(report),
        platform=report.platform or "all platforms",
        generated=_when(report.generated_at),
        cards=_headline(report),
        standouts=standouts(report),
        sections=report_sections(report),
        quick=duration(definitions.quick_fix_seconds),
        durable=definitions.durable_days,
    )


__all__ = [
    "CHART_DIMENSIONS",
    "OUTCOME_COLOURS",
    "Section",
    "Table",
    "duration",
    "report_html",
    "report_sections",
]
