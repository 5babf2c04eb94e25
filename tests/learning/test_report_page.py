"""The report page (``baton report --html``) on hand-built reports: every chart with its title,
axis labels and table; names from the store escaped; nothing fetched from anywhere; an empty
report and unknown rates said in words, never drawn as 0 or 100 %."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from baton.core.disposition import Disposition
from baton.core.learning.history import Escalation
from baton.core.learning.page import UNKNOWN_CONTAINMENT, report_html
from baton.core.learning.report import Report, build_report
from baton.core.learning.svg import (
    Point,
    RateBar,
    StackedBar,
    line_chart,
    nice_ticks,
    rate_bars,
    share_bars,
)
from baton.core.mapping.spec import Sla
from baton.core.volume import VolumeFigure

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = T0 + timedelta(days=20)
HOSTILE = "<script>alert('x')</script>"
CHARTS = (
    "chart-weeks",
    "chart-resolution",
    "chart-csat",
    "chart-right-party",
    "chart-sla",
    "chart-containment",
)


def _seen(ticket: str, outcome: str, hours: float, **fields: Any) -> Disposition:
    return Disposition(
        handoff_id=f"h-{ticket}",
        platform="zendesk",
        ticket_id=ticket,
        outcome=outcome,  # type: ignore[arg-type]
        occurred_at=T0 + timedelta(hours=hours),
        source="webhook",
        **fields,
    )


def _escalation(ticket: str, day: int, *history: Disposition, **fields: Any) -> Escalation:
    base: dict[str, Any] = {
        "intent": "billing.refund",
        "trigger_kinds": ("high_value",),
        "route": "VIP billing",
        "target": "VIP Billing",
    }
    base.update(fields)
    return Escalation(
        handoff_id=f"h-{ticket}",
        created_at=T0 + timedelta(days=day),
        platform="zendesk",
        channel="chat",
        language="en",
        tier=None,
        priority="normal",
        history=history,
        **base,
    )


def _escalations() -> list[Escalation]:
    hostile = {"intent": HOSTILE, "trigger_kinds": (HOSTILE,), "route": HOSTILE, "target": HOSTILE}
    return [
        _escalation("1", 0, _seen("1", "resolved", 1, resolution_seconds=1800, csat=1.0)),
        _escalation("2", 1, _seen("2", "resolved", 30, resolution_seconds=90_000, csat=0.0)),
        _escalation("3", 8, _seen("3", "open", 200, first_response_seconds=600)),
        _escalation("4", 9, _seen("4", "deleted", 220)),
        _escalation(  # mis-routed: transferred then resolved, so it stands out, name and all
            "5",
            10,
            _seen("5", "transferred", 250, transfer_count=1),
            _seen("5", "resolved", 260, resolution_seconds=36_000, transfer_count=1),
            **hostile,
        ),
        _escalation("6", 15, route="Product defects", target="Technical Support L2"),
    ]


def _report(volume: bool = True, **options: Any) -> Report:
    figures = [
        VolumeFigure(date=date(2026, 11, 2) + timedelta(days=d), conversations=40)
        for d in range(16)
    ]
    return build_report(
        _escalations(),
        now=NOW,
        slas={"zendesk": {"VIP billing": Sla(first_response="15m", resolution="8h")}},
        volume=figures if volume else (),
        value_unit=None,
        **options,
    )


class _Charts(HTMLParser):
    """Each <svg>: its id, its <title>, its texts and how many marks it draws; and the tables."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, Any]] = {}
        self.tables = 0
        self._chart: dict[str, Any] | None = None
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        if tag == "svg":
            self._chart = {"title": "", "texts": [], "marks": 0}
            self.charts[dict(attrs).get("id") or ""] = self._chart
        elif tag == "table":
            self.tables += 1
        elif self._chart is not None and tag in ("rect", "path", "line", "circle"):
            self._chart["marks"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        self._tag = ""

    def handle_data(self, data: str) -> None:
        if self._chart is None:
            return
        if self._tag == "title" and not self._chart["title"]:
            self._chart["title"] = data
        elif self._tag == "text":
            self._chart["texts"].append(data)


def _parse(page: str) -> _Charts:
    parser = _Charts()
    parser.feed(page)
    return parser


def test_every_chart_has_a_title_axis_labels_with_units_marks_and_a_table() -> None:
    parsed = _parse(report_html(_report()))
    assert sorted(parsed.charts) == sorted(CHARTS)
    for chart_id, chart in parsed.charts.items():
        assert chart["title"], chart_id
        assert chart["marks"] > 3, chart_id
        assert any("(" in text and ")" in text for text in chart["texts"]), chart_id  # unit
    assert parsed.tables == len(CHARTS) + 4  # and every row of the 4 dimensions, worst first
    assert "Escalations (count)" in parsed.charts["chart-weeks"]["texts"]
    assert "Mean CSAT (normalised, %)" in parsed.charts["chart-csat"]["texts"]


def test_names_from_the_store_are_escaped_everywhere() -> None:
    page = report_html(_report())
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "right party only 0%" in page  # the hostile route's reading is shown, escaped


def test_the_page_loads_nothing_from_anywhere() -> None:
    page = report_html(_report()).lower()
    for outside in ("http://", "https://", "src=", "<link", "@import", "url(", "<script"):
        assert outside not in page


def test_a_report_without_escalations_says_so() -> None:
    page = report_html(build_report([], now=NOW))
    assert "No escalations in this range yet." in page
    assert "<svg" not in page
    assert UNKNOWN_CONTAINMENT in page


def test_unknown_containment_is_said_in_words_and_known_containment_is_charted() -> None:
    unknown = report_html(_report(volume=False))
    assert UNKNOWN_CONTAINMENT in unknown
    assert "chart-containment" not in unknown
    known = _parse(report_html(_report()))
    assert "chart-containment" in known.charts
    # W45: 1 − 2 escalations ÷ (7 days × 40 conversations) = 99 %
    assert known.charts["chart-containment"]["texts"].count("99 %") == 3


def test_a_rate_without_a_denominator_is_unknown_never_zero() -> None:
    parsed = _parse(report_html(_report()))
    right_party = parsed.charts["chart-right-party"]["texts"]
    assert "unknown · 0 resolved" in right_party  # Product defects: nothing resolved yet
    assert "0 % · 0 resolved" not in right_party


def test_a_dimension_left_out_is_named_instead_of_charted() -> None:
    page = report_html(_report(dimensions=("intent",)))
    assert "built without the trigger dimension (add it with --by)" in page
    assert "chart-csat" not in page
    assert "chart-weeks" in page


def test_nice_ticks_are_round_and_cover_the_largest_value() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(37) == [0, 10, 20, 30, 40]
    assert nice_ticks(3) == [0, 1, 2, 3]


def test_an_unknown_rate_draws_no_bar_and_labels_are_escaped() -> None:
    chart = rate_bars("c", "Rates", [RateBar("<b>", None), RateBar("ok", 0.5)], x_label="x (%)")
    assert chart.count("<rect") == 1
    assert "&lt;b&gt;" in chart
    assert "unknown" in chart


def test_share_bars_sum_each_row_to_the_full_width_and_say_none_yet_for_an_empty_row() -> None:
    chart = share_bars(
        "s", "Shares", [StackedBar("a", ()), StackedBar("b", ())], x_label="Share (%)"
    )
    assert chart.count("none yet") == 2


@pytest.mark.parametrize(
    ("rates", "pieces"),
    [((0.5, None, 0.7), 2), ((0.5, 0.6, 0.7), 1), ((None, None), 0)],
)
def test_the_line_chart_leaves_a_gap_at_an_unknown_point(
    rates: tuple[float | None, ...], pieces: int
) -> None:
    chart = line_chart(
        "l", "Line", [Point(str(i), r) for i, r in enumerate(rates)], x_label="x", y_label="y (%)"
    )
    path = chart.split('<path d="')[1].split('"')[0] if pieces else ""
    assert path.count("M") == pieces
