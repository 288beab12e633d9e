"""The SVG charts: well-formed, named, escaped, and drawn where the numbers say."""

import math
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from sagedrop.evaluation import charts

EVIL = "<script>alert('x')</script>&"


class Shapes(HTMLParser):
    def __init__(self, svg: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(svg)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.elements if name == tag]


def every_chart(text: str) -> list[Markup]:
    series = [charts.Series(text, [0, 0.5, 1], [0, 0.7, 1]), charts.Series(text, [0.2], [0.4], style="points")]
    return [
        charts.line_chart("line", text, series, x_label=text, y_label=text, annotation=text),
        charts.calibration_chart("calibration", text, [0.1, 0.5], [0.2, 0.4], [10, 3], annotation=text),
        charts.scatter_chart("scatter", text, [1, 2, 3], [1.5, 2, 2.5], x_label=text, y_label=text),
        charts.scatter_chart("residuals", text, [1, 2, 3], [-1, 0, 1], x_label=text, y_label=text, reference="zero"),
        charts.bar_rows_chart(
            "bars", text, [text, "b"], [(text, [0.5, 0.25], charts.BLUE), ("r", [1, 0], "#000")], x_label=text
        ),
        charts.column_chart(
            "columns", text, [text, "b"], [2.0, 1.0], x_label=text, y_label=text, reference=1.0, reference_name=text
        ),
    ]


def test_every_chart_is_a_named_svg_whose_text_is_escaped():
    for svg in every_chart(EVIL):
        assert isinstance(svg, Markup)
        shapes = Shapes(svg)
        root = shapes.elements[0]
        assert root[0] == "svg" and root[1]["data-chart"] and root[1]["role"] == "img"
        assert re.fullmatch(r"0 0 \d+ \d+", root[1]["viewbox"])
        assert "<script" not in svg and "&lt;script&gt;" in svg
        assert EVIL in "".join(shapes.text)  # shown as text
        assert not any(tag == "script" for tag, _ in shapes.elements)


def test_a_line_is_drawn_through_its_points_on_the_axes():
    svg = charts.line_chart("l", "t", [charts.Series("m", [0, 1], [0, 1])], x_label="x", y_label="y")
    (line,) = [p for p in Shapes(svg).all("polyline")]
    (x0, y0), (x1, y1) = (tuple(map(float, point.split(","))) for point in line["points"].split())
    frame = next(r for r in Shapes(svg).all("rect") if r.get("fill") == "none")
    left, top = float(frame["x"]), float(frame["y"])
    right, bottom = left + float(frame["width"]), top + float(frame["height"])
    assert (x0, y0) == pytest.approx((left, bottom), abs=0.1)  # (0, 0): lower left
    assert (x1, y1) == pytest.approx((right, top), abs=0.1)  # (1, 1): upper right


def test_step_series_draw_horizontal_runs_then_drops():
    svg = charts.line_chart(
        "pr", "t", [charts.Series("m", [0, 0.5, 1], [1, 0.8, 0.5], style="step")], x_label="", y_label=""
    )
    points = [tuple(map(float, p.split(","))) for p in Shapes(svg).all("polyline")[0]["points"].split()]
    assert len(points) == 6
    assert all(points[i][1] == points[i + 1][1] for i in range(0, 6, 2))  # each run is horizontal


def test_bars_are_as_long_as_their_values():
    svg = charts.bar_rows_chart("b", "t", ["a", "b", "c"], [("v", [0.4, 0.2, 0.0], charts.BLUE)])
    widths = [float(r["width"]) for r in Shapes(svg).all("rect")]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.2) and widths[2] == 0
    assert re.findall(r">(0\.\d{3})<", svg) == ["0.400", "0.200", "0.000"]


def test_long_labels_are_shortened_but_kept_whole_in_the_tooltip():
    label = "x" * 60
    svg = charts.bar_rows_chart("b", "t", [label], [("v", [1.0], charts.BLUE)])
    assert charts.short(label) in svg and f"<title>{label}</title>" in svg
    assert len(charts.short(label)) == charts.MAX_LABEL_CHARS


def test_columns_carry_their_values_and_the_reference_line():
    svg = charts.column_chart("lift", "t", ["10%", "20%"], [3.0, 1.5], x_label="", y_label="", reference=1.0)
    rects = Shapes(svg).all("rect")
    heights = [float(r["height"]) for r in rects if r.get("fill") == charts.BLUE]
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.2)  # coordinates have one decimal
    assert any(line.get("stroke") == charts.ORANGE for line in Shapes(svg).all("line"))


def test_a_scatter_without_points_is_an_empty_chart():
    svg = charts.scatter_chart("s", "t", [], [], x_label="", y_label="")
    assert Shapes(svg).all("circle") == [] and 'data-chart="s"' in svg


@settings(max_examples=200, deadline=None)
@given(low=st.floats(-1e6, 1e6), span=st.floats(1e-3, 1e6))
def test_nice_ticks_cover_the_range_in_equal_round_steps(low, span):
    high = low + span
    ticks = charts.nice_ticks(low, high)
    step = ticks[1] - ticks[0]
    # covered, give or take a millionth of a step (a value that close to a tick is drawn on it)
    assert ticks[0] <= low + step * 1e-6 and ticks[-1] >= high - step * 1e-6
    assert 3 <= len(ticks) <= 12
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert all(math.isclose(s, step, rel_tol=1e-6, abs_tol=1e-9) for s in steps)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5, 10))


def test_tick_labels_have_the_decimals_their_step_needs():
    assert [charts.tick_label(v, 0.2) for v in (0, 0.2, 0.4)] == ["0.0", "0.2", "0.4"]
    assert charts.tick_label(25000, 5000) == "25,000"
    assert charts.tick_label(0.05, 0.05) == "0.05"
