"""Small inline-SVG charts for the report page (:mod:`.page`): stacked columns, horizontal
bars on a 0–100 % axis, horizontal bars stacked to 100 % (a distribution), and a line chart.

Each chart is one ``<svg>`` that needs no script, font or file from elsewhere: it has a
``<title>``, labelled axes with units, and a ``<title>`` on every mark as its tooltip. Every
label is escaped here, so a name from the store cannot become markup. Sizes are in the
``viewBox``'s units; the page's CSS scales the chart to the width it has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
ROW_HEIGHT = 26
LABEL_WIDTH = 184
LEGEND_ROW = 20
MUTED = "#6b7280"
GRID = "#e5e7eb"
INK = "#1f2937"
BAR = "#0072B2"


@dataclass(frozen=True)
class Part:
    """One coloured part of a stacked bar: what it counts and how many."""

    label: str
    value: float
    colour: str


@dataclass(frozen=True)
class StackedBar:
    """A bar made of parts, under one label (a week, a queue, a rule)."""

    label: str
    parts: tuple[Part, ...]

    @property
    def total(self) -> float:
        """The sum of the parts."""
        return sum(part.value for part in self.parts)


@dataclass(frozen=True)
class RateBar:
    """A rate (0..1) under one label; ``None`` is unknown and drawn as the word, never a bar."""

    label: str
    rate: float | None
    detail: str = ""  # what the rate comes from, e.g. "n 12", shown after the value


@dataclass(frozen=True)
class Point:
    """One point of a line chart; ``None`` leaves a gap."""

    label: str
    rate: float | None


def percent(rate: float | None) -> str:
    """``74 %`` for 0.74, ``unknown`` for None."""
    return "unknown" if rate is None else f"{rate:.0%}".replace("%", " %")


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _text(x: float, y: float, content: str, *, anchor: str = "start", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{klass}>{escape(content)}</text>'


def _rect(x: float, y: float, w: float, h: float, colour: str, tip: str) -> str:
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" '
        f'fill="{colour}"><title>{escape(tip)}</title></rect>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str = GRID) -> str:
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{colour}" '
        f'stroke-width="1"/>'
    )


def _short(label: str, room: int = 25) -> str:
    """``label`` cut to ``room`` characters; a ``name · detail`` label keeps its detail."""
    if len(label) <= room:
        return label
    name, dot, detail = label.rpartition(" · ")
    if dot and len(detail) < room - 6:
        return name[: room - len(detail) - 4] + "…" + dot + detail
    return label[: room - 1] + "…"


def _axes(
    left: float, right: float, top: float, bottom: float, x_label: str, y_label: str
) -> list[str]:
    """The x and y axis lines of a vertical chart, with their labels (y turned upright)."""
    middle = (top + bottom) / 2
    return [
        _line(left, bottom, right, bottom, INK),
        _line(left, top, left, bottom, INK),
        _text((left + right) / 2, bottom + 40, x_label, anchor="middle", css="axis"),
        f'<text transform="translate(14 {_n(middle)}) rotate(-90)" text-anchor="middle" '
        f'class="axis">{escape(y_label)}</text>',
    ]


def _svg(chart_id: str, title: str, height: float, body: Sequence[str]) -> Markup:
    return Markup(  # noqa: S704 - every piece of text in body went through escape()
        f'<svg id="{escape(chart_id)}" class="chart" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _legend(entries: Sequence[tuple[str, str]], top: float) -> tuple[list[str], float]:
    """Swatches and names, wrapping across rows; returns them and the height they take."""
    marks: list[str] = []
    x, y = 0.0, top
    for label, colour in entries:
        width = 18 + 7.2 * len(label) + 14
        if x and x + width > WIDTH:
            x, y = 0.0, y + LEGEND_ROW
        marks.append(_rect(x, y, 12, 12, colour, label))
        marks.append(_text(x + 17, y + 10.5, label, css="legend"))
        x += width
    return marks, (y - top + LEGEND_ROW if entries else 0)


def nice_ticks(largest: float) -> list[float]:
    """Round steps (1, 2 or 5 × 10ⁿ) from 0 to at least ``largest``, about five of them."""
    if largest <= 0:
        return [0.0, 1.0]
    rough = largest / 5
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    step = max(step, 1.0)
    return [i * step for i in range(math.ceil(largest / step - 1e-9) + 1)]


def stacked_columns(
    chart_id: str, title: str, bars: Sequence[StackedBar], *, x_label: str, y_label: str
) -> Markup:
    """Vertical bars, one per label, each stacked from its parts (counts), with a legend of
    every part that occurs and each bar's total above it."""
    drawn = sorted(
        (i, p.label, p.colour) for bar in bars for i, p in enumerate(bar.parts) if p.value
    )
    legend, legend_height = _legend(
        list(dict.fromkeys((name, colour) for _, name, colour in drawn)), 4
    )
    top, left, right, plot_height = 12 + legend_height + 14, 58, WIDTH - 12, 210
    bottom = top + plot_height
    ticks = nice_ticks(max((bar.total for bar in bars), default=0))
    scale = plot_height / ticks[-1]
    body = list(legend)
    for tick in ticks:
        y = bottom - tick * scale
        body.append(_line(left, y, right, y))
        body.append(_text(left - 6, y + 4, _n(tick), anchor="end", css="tick"))
    band = (right - left) / max(len(bars), 1)
    every = max(1, math.ceil(len(bars) / 12))
    for index, bar in enumerate(bars):
        x = left + index * band + band * 0.2
        y = bottom
        for part in bar.parts:
            if not part.value:
                continue
            height = part.value * scale
            y -= height
            tip = f"{bar.label}: {part.label} {_n(part.value)}"
            body.append(_rect(x, y, band * 0.6, height, part.colour, tip))
        if bar.total:
            body.append(_text(x + band * 0.3, y - 4, _n(bar.total), anchor="middle", css="value"))
        if index % every == 0:
            body.append(_text(x + band * 0.3, bottom + 16, bar.label, anchor="middle", css="tick"))
    body += _axes(left, right, top, bottom, x_label, y_label)
    return _svg(chart_id, title, bottom + 52, body)


def _percent_axis(top: float, bottom: float, x_label: str) -> list[str]:
    left, right = LABEL_WIDTH, WIDTH - 64
    marks: list[str] = []
    for step in range(5):
        x = left + (right - left) * step / 4
        marks.append(_line(x, top, x, bottom))
        marks.append(_text(x, bottom + 16, f"{step * 25} %", anchor="middle", css="tick"))
    marks.append(_line(left, top, left, bottom, INK))
    marks.append(_line(left, bottom, right, bottom, INK))
    marks.append(_text((left + right) / 2, bottom + 38, x_label, anchor="middle", css="axis"))
    return marks


def rate_bars(
    chart_id: str, title: str, bars: Sequence[RateBar], *, x_label: str, colour: str = BAR
) -> Markup:
    """One horizontal bar per label on a 0–100 % axis, its value (and detail) after it; an
    unknown rate shows the word ``unknown`` in place of a bar."""
    top, left, right = 8.0, LABEL_WIDTH, WIDTH - 64
    bottom = top + ROW_HEIGHT * max(len(bars), 1)
    body = _percent_axis(top, bottom, x_label)
    for index, bar in enumerate(bars):
        y = top + index * ROW_HEIGHT
        body.append(_text(left - 8, y + 17, _short(bar.label), anchor="end", css="label"))
        value = percent(bar.rate) + (f" · {bar.detail}" if bar.detail else "")
        if bar.rate is None:
            body.append(_text(left + 6, y + 17, value, css="unknown"))
            continue
        width = (right - left) * min(max(bar.rate, 0.0), 1.0)
        body.append(_rect(left, y + 5, width, ROW_HEIGHT - 10, colour, f"{bar.label}: {value}"))
        if bar.rate > 0.6:  # the value fits inside a long bar, not after it
            body.append(_text(left + width - 6, y + 17, value, anchor="end", css="inside"))
        else:
            body.append(_text(left + width + 6, y + 17, value, css="value"))
    return _svg(chart_id, title, bottom + 48, body)


def share_bars(chart_id: str, title: str, bars: Sequence[StackedBar], *, x_label: str) -> Markup:
    """One horizontal bar per label stacked to 100 % from its parts (a distribution), with
    the count it comes from after it and a legend of the parts above."""
    entries = list(dict.fromkeys((p.label, p.colour) for bar in bars for p in bar.parts))
    legend, legend_height = _legend(entries, 4)
    top, left, right = 12 + legend_height, LABEL_WIDTH, WIDTH - 64
    bottom = top + ROW_HEIGHT * max(len(bars), 1)
    body = legend + _percent_axis(top, bottom, x_label)
    for index, bar in enumerate(bars):
        y = top + index * ROW_HEIGHT
        body.append(_text(left - 8, y + 17, _short(bar.label), anchor="end", css="label"))
        total = bar.total
        if not total:
            body.append(_text(left + 6, y + 17, "none yet", css="unknown"))
            continue
        x = float(left)
        for part in bar.parts:
            width = (right - left) * part.value / total
            if width:
                share = percent(part.value / total)
                tip = f"{bar.label}: {part.label} {_n(part.value)} ({share})"
                body.append(_rect(x, y + 5, width, ROW_HEIGHT - 10, part.colour, tip))
            x += width
        body.append(_text(right + 6, y + 17, f"n {_n(total)}", css="value"))
    return _svg(chart_id, title, bottom + 48, body)


def line_chart(
    chart_id: str, title: str, points: Sequence[Point], *, x_label: str, y_label: str
) -> Markup:
    """A line through the known rates (a gap at an unknown one) on a percent axis from 0 %
    (or lower, when a rate is below 0) to 100 %, each point labelled with its value."""
    known = [p.rate for p in points if p.rate is not None]
    floor = min([0.0, *(math.floor(r * 4) / 4 for r in known)])
    top, left, right, bottom = 16.0, 58, WIDTH - 24, 236.0

    def y_of(rate: float) -> float:
        return bottom - (rate - floor) / (1 - floor) * (bottom - top)

    body: list[str] = []
    steps = round((1 - floor) / 0.25)
    for step in range(steps + 1):
        rate = floor + step * 0.25
        body.append(_line(left, y_of(rate), right, y_of(rate)))
        body.append(_text(left - 6, y_of(rate) + 4, percent(rate), anchor="end", css="tick"))
    band = (right - left) / max(len(points), 1)
    path: list[str] = []
    marks: list[str] = []
    for index, point in enumerate(points):
        x = left + band * (index + 0.5)
        body.append(_text(x, bottom + 16, point.label, anchor="middle", css="tick"))
        if point.rate is None:
            body.append(_text(x, bottom - 6, "unknown", anchor="middle", css="unknown"))
            path.append("")
            continue
        y = y_of(point.rate)
        path.append(f"{'L' if path and path[-1] else 'M'}{_n(x)} {_n(y)}")
        marks.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{BAR}">'
            f"<title>{escape(point.label)}: {escape(percent(point.rate))}</title></circle>"
        )
        marks.append(_text(x, y - 9, percent(point.rate), anchor="middle", css="value"))
    drawn = " ".join(piece for piece in path if piece)
    if drawn:
        body.append(f'<path d="{drawn}" fill="none" stroke="{BAR}" stroke-width="2.5"/>')
    body += marks
    body += _axes(left, right, top, bottom, x_label, y_label)
    return _svg(chart_id, title, bottom + 52, body)


__all__ = [
    "Part",
    "Point",
    "RateBar",
    "StackedBar",
    "line_chart",
    "nice_ticks",
    "percent",
    "rate_bars",
    "share_bars",
    "stacked_columns",
]
