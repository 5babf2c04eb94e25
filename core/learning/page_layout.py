"""The report page's parts that hold no chart: the section and table shapes, the table of every
row per dimension, and the Jinja2 template (inline CSS, no script, nothing loaded from anywhere
else). Jinja2 autoescapes every value put in the template; the charts arrive as
:class:`markupsafe.Markup`, already escaped by :mod:`.svg`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from baton.core.learning.metrics import GroupMetrics
from baton.core.learning.report import Report
from baton.core.learning.svg import percent
from baton.core.times import readable_duration


@dataclass(frozen=True)
class Table:
    """A table of the numbers a chart draws (cells already formatted)."""

    caption: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass(frozen=True)
class Section:
    """One part of the page: a chart and its table, or the sentence saying why there is none."""

    anchor: str
    heading: str
    intro: str
    chart: Markup | None = None
    table: Table | None = None
    absent: str = ""
    notes: list[str] = field(default_factory=list)


def duration(seconds: float | None) -> str:
    """``45 min``, ``3.5 h`` or ``2.1 d``; ``—`` when unknown."""
    return readable_duration(seconds)


def dash_percent(rate: float | None) -> str:
    """``74 %``, or ``—`` when unknown."""
    return "—" if rate is None else percent(rate)


ROW_HEADERS = ("n", "resolved", "right party", "quick fix", "reopened", "reply p50/p90",
               "fix p50/p90", "CSAT")  # fmt: skip


def metric_cells(metrics: GroupMetrics) -> tuple[str, ...]:
    """A row's metrics as the terminal table shows them, under :data:`ROW_HEADERS`."""
    reopened = None if metrics.durable_rate is None else 1 - metrics.durable_rate
    reply, fix = metrics.first_response, metrics.resolution
    return (
        str(metrics.escalations),
        str(metrics.resolved),
        dash_percent(metrics.right_party_rate),
        dash_percent(metrics.quick_fix_rate),
        dash_percent(reopened),
        f"{duration(reply.median)} / {duration(reply.p90)}",
        f"{duration(fix.median)} / {duration(fix.p90)}",
        dash_percent(metrics.csat_mean),
    )


def every_row_sections(report: Report) -> list[Section]:
    """Per dimension, every row with every metric, worst first (what the terminal prints)."""
    intro = "Lowest right-party rate first, then most reopened, then slowest p90 resolution."
    sections = []
    for dimension, rows in report.dimensions.items():
        table_rows = [
            (f"{r.value} · {r.period}" if r.period else r.value, *metric_cells(r.metrics))
            for r in rows
        ]
        table = Table(f"Every {dimension}", (dimension, *ROW_HEADERS), table_rows)
        heading = f"By {dimension}, worst first"
        sections.append(Section(f"by-{dimension}", heading, intro, table=table))
    return sections


PAGE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Baton learning report</title>
<style>
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--panel:#f9fafb;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",
"DejaVu Sans",Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:1280px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:28px;margin:0 0 4px}h2{font-size:20px;margin:0 0 4px}
.sub,.intro,.notes,footer{color:var(--muted)}.intro{margin:0 0 12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:20px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card b{display:block;font-size:26px}.card span{color:var(--muted);font-size:13px}
.standouts{border-left:4px solid #D55E00;background:#fff7f0;padding:10px 16px;margin:0 0 8px}
.standouts ul{margin:6px 0 0;padding-left:20px}
section{border-top:1px solid var(--line);padding:22px 0 8px}
.figure{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:28px;align-items:start}
.figure.wide{grid-template-columns:1fr}
@media (max-width:900px){.figure{grid-template-columns:1fr}}
svg.chart{width:100%;height:auto;display:block;font-size:12px;fill:var(--ink)}
svg .tick{fill:var(--muted)}svg .axis{font-weight:600;font-size:12.5px}
svg .value{font-size:11.5px}svg .inside{font-size:11.5px;fill:#fff;font-weight:600}
svg .unknown{fill:var(--muted);font-style:italic}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:12.5px}
caption{text-align:left;font-weight:600;padding-bottom:6px}
th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}
tbody tr:nth-child(odd){background:var(--panel)}
.absent{background:var(--panel);border-radius:8px;padding:12px 16px}
footer{font-size:13px;border-top:1px solid var(--line);margin-top:24px;padding-top:12px}
</style></head>
<body><main>
<header><h1>Baton learning report</h1>
<p class="sub">{{ scope }} · {{ platform }} · generated {{ generated }}</p></header>
{% if not report.total.escalations %}
<p class="absent" id="no-escalations">No escalations in this range yet.</p>
{% else %}
<div class="cards">{% for label, value, detail in cards %}
<div class="card">{{ label }}<b>{{ value }}</b><span>{{ detail }}</span></div>{% endfor %}
</div>
{% if standouts %}<div class="standouts"><b>What stands out (worst rows first)</b><ul>
{% for text in standouts %}<li>{{ text }}</li>{% endfor %}</ul></div>{% endif %}
{% endif %}
{% for s in sections %}
<section id="{{ s.anchor }}"><h2>{{ s.heading }}</h2><p class="intro">{{ s.intro }}</p>
{% if s.absent %}<p class="absent">{{ s.absent }}</p>{% else %}
<div class="figure{{ '' if s.chart else ' wide' }}">
{% if s.chart %}<figure style="margin:0">{{ s.chart }}</figure>{% endif %}
{% if s.table %}<div class="scroll"><table><caption>{{ s.table.caption }}</caption>
<thead><tr>{% for h in s.table.headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in s.table.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>{% endif %}</div>
{% for note in s.notes %}<p class="notes">{{ note }}</p>{% endfor %}
{% endif %}</section>
{% endfor %}
<footer>{% if report.note %}<p>{{ report.note }}</p>{% endif %}
<p>Deleted and merged tickets are counted apart and left out of every rate. A rate without a
denominator shows as — or unknown, never 0 or 100 %. Quick human fix: resolved within
{{ quick }} with at most one public reply; durable: not reopened within {{ durable }} days. The
definitions live in core/learning/metrics.py.</p></footer>
</main></body></html>
"""
