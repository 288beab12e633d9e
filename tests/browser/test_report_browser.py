"""The report of each problem type, opened in headless Chromium: it loads nothing, logs no error,
draws every chart, fits the window, and leaves a screenshot (a CI artifact)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.unit.evaluation import samples

pytestmark = pytest.mark.browser

CHARTS_JS = """JSON.stringify([...document.querySelectorAll('[data-chart]')].map(e => {
  const box = e.getBoundingClientRect();
  return {id: e.dataset.chart, width: box.width, height: box.height,
          marks: e.querySelectorAll('polyline,circle,rect,line,td').length};
}))"""
OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def open_report(browser, tmp_path: Path, name: str, html: str, width: int = 1280):
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path.as_uri(), browser.open(path.as_uri(), width=width)


@pytest.mark.parametrize("problem_type", samples.PROBLEM_TYPES)
def test_report_opens_cleanly_with_every_chart(problem_type, browser, tmp_path, screenshot_dir):
    import json

    # Given the full report of a run of this problem type
    url, page = open_report(browser, tmp_path, problem_type, samples.render(problem_type))
    # Then the browser logged no error and fetched nothing but the page itself
    assert page.console_errors() == []
    assert page.requested_urls() == [url]
    assert page.evaluate("document.scripts.length") == 0
    # and every expected chart is there, laid out and drawn
    charts = {chart["id"]: chart for chart in json.loads(page.evaluate(CHARTS_JS))}
    assert set(charts) == samples.EXPECTED_CHARTS[problem_type]
    for chart in charts.values():
        assert chart["width"] > 250 and chart["height"] > 100, chart
        assert chart["marks"] >= 4, chart
    # and nothing sticks out of a desktop window
    assert page.evaluate(OVERFLOW_JS) <= 0
    shot = page.screenshot(screenshot_dir / f"report-{problem_type}.png")
    width, height = png_size(shot)
    assert width == 1280 and height > 2000  # the whole page, not the first screen


def test_report_fits_a_phone_screen(browser, tmp_path, screenshot_dir):
    _, page = open_report(browser, tmp_path, "narrow", samples.render(samples.BINARY), width=390)
    assert page.console_errors() == []
    # wide tables scroll inside their own box; the page itself never scrolls sideways
    assert page.evaluate(OVERFLOW_JS) <= 0
    assert png_size(page.screenshot(screenshot_dir / "report-binary-phone.png"))[0] == 390


def test_injected_markup_is_shown_as_text_and_never_runs(browser, tmp_path):
    attack = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    inputs = samples.binary_inputs(labels=(attack, "yes"))
    inputs["schema"]["encodings"][attack] = {"kind": "numeric", "features": [attack], "missing": 0}
    inputs["evaluation"]["feature_importance"][0]["column"] = attack
    inputs["run"]["config"]["label"] = attack
    from sagedrop.evaluation import render_report_html

    html = render_report_html(inputs.pop("evaluation"), inputs.pop("schema"), inputs.pop("run"), **inputs)
    url, page = open_report(browser, tmp_path, "injected", html)
    assert page.evaluate("window.pwned === undefined")
    assert page.evaluate("document.scripts.length + document.images.length") == 0
    assert page.requested_urls() == [url]
    # the text is on the page, as text
    assert page.evaluate("document.body.innerText.includes('<script>window.pwned = 1</script>')")
