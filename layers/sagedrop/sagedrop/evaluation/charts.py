"""Small inline SVG charts for the report: numbers in, SVG markup out.

Pure functions, no plotting library (none fits in the Lambda package, and the page must stand on
its own). Every chart is an ``<svg>`` with a ``<title>``, ``role="img"`` and a ``data-chart``
attribute naming it; every piece of text in it is escaped here, so the result is returned as
:class:`markupsafe.Markup` and the template inserts it as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BLUE, ORANGE, GREEN, GREY, INK, MUTED, GRID = (
    "#2563eb",
    "#ea580c",
    "#059669",
    "#9ca3af",
    "#1f2937",
    "#6b7280",
    "#e5e7eb",
)
_W, _H = 480, 340
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 18, 34, 48
MAX_LABEL_CHARS = 28


@dataclass(frozen=True)
class Series:
    """One line or set of points: ``style`` is ``line``, ``dashed``, ``step`` or ``points``."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    colour: str = BLUE
    style: str = "line"


def _num(value: float) -> str:
    return f"{value:.1f}"


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high - step * 1e-9:
        ticks.append(round(value, 12))
    return ticks


def tick_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 2
    return f"{value:,.{min(decimals, 6)}f}"


def short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(x: float, y: float, content: str, anchor: str = "start", css: str = "", extra: str = "") -> str:
    """An escaped ``<text>`` element."""
    css_class = f' class="{css}"' if css else ""
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{css_class}{extra}>{escape(content)}</text>'


def _svg(chart_id: str, title: str, body: str, height: int = _H, width: int = _W) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'data-chart="{escape(chart_id)}" aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


class _Frame:
    """The plotting area of an x/y chart: maps data to SVG coordinates and draws axes and grid."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], height: int = _H):
        self.x_ticks, self.y_ticks = nice_ticks(*x_range), nice_ticks(*y_range)
        self.x0, self.x1 = self.x_ticks[0], self.x_ticks[-1]
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]
        if self.x1 <= self.x0:
            self.x0, self.x1 = self.x0 - 1, self.x0 + 1
        if self.y1 <= self.y0:
            self.y0, self.y1 = self.y0 - 1, self.y0 + 1
        self.left, self.right, self.top, self.bottom = _LEFT, _W - _RIGHT, _TOP, height - _BOTTOM
        self.height = height

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def y(self, value: float) -> float:
        return self.bottom - (value - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)

    def axes(self, x_label: str, y_label: str) -> str:
        parts = []
        x_step = self.x_ticks[1] - self.x_ticks[0] if len(self.x_ticks) > 1 else 1
        y_step = self.y_ticks[1] - self.y_ticks[0] if len(self.y_ticks) > 1 else 1
        for tick in self.x_ticks:
            x = _num(self.x(tick))
            parts.append(f'<line x1="{x}" y1="{self.top}" x2="{x}" y2="{self.bottom}" stroke="{GRID}"/>')
            parts.append(
                f'<text x="{x}" y="{self.bottom + 16}" text-anchor="middle">{escape(tick_label(tick, x_step))}</text>'
            )
        for tick in self.y_ticks:
            y = _num(self.y(tick))
            parts.append(f'<line x1="{self.left}" y1="{y}" x2="{self.right}" y2="{y}" stroke="{GRID}"/>')
            parts.append(
                f'<text x="{self.left - 6}" y="{y}" dy="4" text-anchor="end">{escape(tick_label(tick, y_step))}</text>'
            )
        parts.append(
            f'<rect x="{self.left}" y="{self.top}" width="{self.right - self.left}" '
            f'height="{self.bottom - self.top}" fill="none" stroke="{GREY}"/>'
        )
        middle_x, middle_y = (self.left + self.right) / 2, (self.top + self.bottom) / 2
        parts.append(_text(middle_x, self.height - 10, x_label, "middle", "axis"))
        parts.append(
            f'<text x="14" y="{_num(middle_y)}" text-anchor="middle" class="axis" '
            f'transform="rotate(-90 14 {_num(middle_y)})">{escape(y_label)}</text>'
        )
        return "".join(parts)

    def path(self, series: Series) -> str:
        points = [(self.x(x), self.y(y)) for x, y in zip(series.x, series.y, strict=True)]
        if series.style == "points":
            return (
                f'<g fill="{series.colour}" stroke="#fff" stroke-width="1">'
                + "".join(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4"/>' for x, y in points)
                + "</g>"
            )
        if series.style == "step":  # precision-recall: a horizontal run, then the drop
            stepped = []
            for (x, y), (next_x, _) in zip(points, points[1:] + points[-1:], strict=True):
                stepped += [(x, y), (next_x, y)]
            points = stepped
        dash = ' stroke-dasharray="5 4"' if series.style == "dashed" else ""
        width = 1.5 if series.style == "dashed" else 2.2
        coordinates = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        return (
            f'<polyline points="{coordinates}" fill="none" stroke="{series.colour}" stroke-width="{width}"'
            f' stroke-linejoin="round"{dash}/>'
        )


def _legend(entries: Sequence[tuple[str, str, str]], left: float = _LEFT) -> str:
    """One row of legend entries ``(name, colour, style)`` above the plotting area; a name that
    comes again (a line and its points) is shown once."""
    parts, x, seen = [], left, set()
    for name, colour, style in entries:
        if name in seen:
            continue
        seen.add(name)
        if style == "points":
            parts.append(f'<circle cx="{_num(x + 7)}" cy="14" r="4" fill="{colour}"/>')
        elif style == "bar":
            parts.append(f'<rect x="{_num(x)}" y="9" width="14" height="10" rx="2" fill="{colour}"/>')
        else:
            dash = ' stroke-dasharray="5 4"' if style == "dashed" else ""
            parts.append(
                f'<line x1="{_num(x)}" y1="14" x2="{_num(x + 16)}" y2="14" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        parts.append(f'<text x="{_num(x + 21)}" y="18" class="legend">{escape(name)}</text>')
        x += 36 + 6.8 * len(name)  # about the width of 11.5 px sans-serif text
    return "".join(parts)


def line_chart(
    chart_id: str,
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    annotation: str | None = None,
) -> Markup:
    """Lines and points on shared axes, with a legend; ``annotation`` goes in the lower right."""
    frame = _Frame(x_range, y_range)
    body = [frame.axes(x_label, y_label)]
    body += [frame.path(item) for item in series]
    body.append(_legend([(item.name, item.colour, item.style) for item in series]))
    if annotation:
        body.append(_text(frame.right - 8, frame.bottom - 10, annotation, "end", "note"))
    return _svg(chart_id, title, "".join(body))


def calibration_chart(
    chart_id: str,
    title: str,
    mean_predicted: Sequence[float],
    observed: Sequence[float],
    counts: Sequence[int],
    annotation: str | None = None,
) -> Markup:
    """A reliability diagram: observed share against mean predicted probability per bin, the
    diagonal of perfect calibration, and the rows per bin as faint bars along the bottom."""
    frame = _Frame((0.0, 1.0), (0.0, 1.0))
    body = [frame.axes("Mean predicted probability", "Observed share of positives")]
    most = max(counts, default=0) or 1
    for mean, count in zip(mean_predicted, counts, strict=True):
        height = 0.25 * (frame.bottom - frame.top) * count / most
        body.append(
            f'<rect x="{_num(frame.x(mean) - 6)}" y="{_num(frame.bottom - height)}" width="12" '
            f'height="{_num(height)}" fill="{GREY}" fill-opacity="0.35">'
            f"<title>{escape(f'{count:,} rows')}</title></rect>"
        )
    diagonal = Series("Perfectly calibrated", [0, 1], [0, 1], GREY, "dashed")
    model_line = Series("Model", mean_predicted, observed, BLUE, "line")
    model_points = Series("Model", mean_predicted, observed, BLUE, "points")
    body += [frame.path(diagonal), frame.path(model_line), frame.path(model_points)]
    body.append(
        _legend([("Model", BLUE, "line"), ("Perfectly calibrated", GREY, "dashed"), ("Rows per bin", GREY, "bar")])
    )
    if annotation:
        body.append(_text(frame.left + 8, frame.top + 18, annotation, "start", "note"))
    return _svg(chart_id, title, "".join(body))


def scatter_chart(
    chart_id: str,
    title: str,
    x: Sequence[float],
    y: Sequence[float],
    *,
    x_label: str,
    y_label: str,
    reference: str = "diagonal",
) -> Markup:
    """Points with a reference line: ``diagonal`` (y = x, shared axes) or ``zero`` (y = 0)."""
    if not len(x):
        return _svg(chart_id, title, "")
    if reference == "diagonal":
        low, high = min(min(x), min(y)), max(max(x), max(y))
        x_range = y_range = (low, high) if high > low else (low - 1, high + 1)
    else:
        x_range = (min(x), max(x)) if max(x) > min(x) else (min(x) - 1, max(x) + 1)
        span = max(abs(min(y)), abs(max(y))) or 1.0
        y_range = (-span, span)
    frame = _Frame(x_range, y_range)
    body = [frame.axes(x_label, y_label)]
    if reference == "diagonal":
        ends = [max(frame.x0, frame.y0), min(frame.x1, frame.y1)]
        line = Series("y = x", ends, ends, GREY, "dashed")
    else:
        line = Series("zero", [frame.x0, frame.x1], [0, 0], GREY, "dashed")
    dots = "".join(
        f'<circle cx="{_num(frame.x(a))}" cy="{_num(frame.y(b))}" r="2.2"/>' for a, b in zip(x, y, strict=True)
    )
    body += [f'<g fill="{BLUE}" fill-opacity="0.35">{dots}</g>', frame.path(line)]
    return _svg(chart_id, title, "".join(body))


def bar_rows_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    value_format: str = "{:.3f}",
    x_max: float | None = None,
    x_label: str = "",
    width: int = _W,
) -> Markup:
    """Horizontal bars, one row per label and one bar per series ``(name, values, colour)`` in it,
    each with its value at its end — it reads well with long labels and many rows."""
    per_row = len(series)
    bar, gap = 14, 10
    row_height = per_row * bar + gap
    legend = 26 if per_row > 1 else 8
    height = legend + len(labels) * row_height + (34 if x_label else 8)
    label_width = min(200, 12 + 6.6 * max((len(short(label)) for label in labels), default=4))
    left, right = label_width, width - 60
    top_value = x_max if x_max is not None else max((max(values, default=0) for _, values, _ in series), default=0)
    top_value = top_value or 1.0
    body = []
    for index, label in enumerate(labels):
        y = legend + index * row_height
        middle = y + per_row * bar / 2
        body.append(
            f'<text x="{_num(left - 8)}" y="{_num(middle)}" dy="4" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(short(label))}</text>"
        )
        for position, (_, values, colour) in enumerate(series):
            value = values[index]
            length = 0 if value is None else max(0.0, value) / top_value * (right - left)
            bar_y = y + position * bar
            shown = "n/a" if value is None else value_format.format(value)
            body.append(
                f'<rect x="{_num(left)}" y="{_num(bar_y + 1)}" width="{_num(length)}" height="{bar - 2}" rx="2" '
                f'fill="{colour}"/>' + _text(left + length + 5, bar_y + bar / 2, shown, css="value", extra=' dy="4"')
            )
    axis_y = legend + len(labels) * row_height
    body.append(f'<line x1="{_num(left)}" y1="{legend - 4}" x2="{_num(left)}" y2="{axis_y}" stroke="{GREY}"/>')
    if x_label:
        body.append(_text((left + right) / 2, height - 8, x_label, "middle", "axis"))
    if per_row > 1:
        body.append(_legend([(name, colour, "bar") for name, _, colour in series], left=left))
    return _svg(chart_id, title, "".join(body), height=height, width=width)


def column_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    values: Sequence[float],
    *,
    x_label: str,
    y_label: str,
    reference: float | None = None,
    reference_name: str = "",
    value_format: str = "{:.2f}",
) -> Markup:
    """Vertical bars, one per category, with an optional horizontal reference line (say, lift 1)."""
    top = max([*values, reference or 0, 0.0]) or 1.0
    frame = _Frame((0.0, 1.0), (0.0, top * 1.1))
    slot = (frame.right - frame.left) / max(len(categories), 1)
    parts = []
    for index, (category, value) in enumerate(zip(categories, values, strict=True)):
        x = frame.left + index * slot + slot * 0.15
        y = frame.y(value)
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(slot * 0.7)}" height="{_num(frame.bottom - y)}" '
            f'rx="2" fill="{BLUE}"/><text x="{_num(x + slot * 0.35)}" y="{_num(y - 4)}" text-anchor="middle" '
            f'class="value">{escape(value_format.format(value))}</text>'
            f'<text x="{_num(x + slot * 0.35)}" y="{frame.bottom + 16}" text-anchor="middle">{escape(category)}</text>'
        )
    if reference is not None:
        y = _num(frame.y(reference))
        parts.append(
            f'<line x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" stroke="{ORANGE}" stroke-width="1.5" '
            'stroke-dasharray="5 4"/>'
        )
        parts.append(_legend([(reference_name, ORANGE, "dashed")]))
    parts.append(
        f'<text x="{_num((frame.left + frame.right) / 2)}" y="{_H - 10}" text-anchor="middle" class="axis">'
        f"{escape(x_label)}</text>"
    )
    return _svg(chart_id, title, _y_axis_only(frame, y_label) + "".join(parts))


def _y_axis_only(frame: _Frame, y_label: str) -> str:
    """Horizontal grid, y ticks and the y label of ``frame`` (for a chart whose x axis is categories)."""
    step = frame.y_ticks[1] - frame.y_ticks[0] if len(frame.y_ticks) > 1 else 1
    parts = []
    for tick in frame.y_ticks:
        y = _num(frame.y(tick))
        parts.append(f'<line x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{frame.left - 6}" y="{y}" dy="4" text-anchor="end">{escape(tick_label(tick, step))}</text>'
        )
    parts.append(
        f'<line x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" y2="{frame.bottom}" stroke="{GREY}"/>'
    )
    middle = _num((frame.top + frame.bottom) / 2)
    parts.append(
        f'<text x="14" y="{middle}" text-anchor="middle" class="axis" transform="rotate(-90 14 {middle})">'
        f"{escape(y_label)}</text>"
    )
    return "".join(parts)
