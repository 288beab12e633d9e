"""The report's Data section from data_report.json: the gate's verdict, findings, columns, balance."""

from __future__ import annotations

import copy
import re

import pytest

from sagedrop.dataset.leakage import ACKNOWLEDGED, NOT_ENFORCED, STOPS
from sagedrop.evaluation import render_report_html
from sagedrop.evaluation.data_section import data_report_section
from tests.unit.evaluation import samples
from tests.unit.evaluation.test_render import check_html


@pytest.fixture(scope="module")
def binary():
    return samples.binary_inputs()


def page_text(inputs: dict, report: dict | None) -> tuple[str, str]:
    page = render_report_html(inputs["evaluation"], inputs["schema"], inputs["run"], data_report=report)
    return page, " ".join(" ".join(check_html(page).text).split())


def section_html(page: str, name: str) -> str:
    match = re.search(rf'<table[^>]*data-section="{name}".*?</table>', page, re.S)
    assert match, name
    return match.group(0)


def test_an_acknowledged_finding_passes_and_is_marked_in_findings_and_columns(binary):
    report = binary["data_report"]
    page, text = page_text(binary, report)
    assert "The data gate passed, with 1 acknowledged finding." in text
    findings = section_html(page, "data-findings")
    assert "duration" in findings and 'class="badge ack"' in findings and ACKNOWLEDGED in findings
    columns = section_html(page, "data-report-columns")
    row = re.search(r"<tr class=\"[^\"]*flagged[^\"]*\">.*?</tr>", columns, re.S).group(0)
    assert "<code>duration</code>" in row and "leakage finding, acknowledged" in row
    # every column of the report has its row, the label marked
    for column in report["columns"]:
        assert f"<code>{column['column']}</code>" in columns
    assert "the label" in columns


def test_a_stopped_run_says_so_and_badges_the_finding(binary):
    report = copy.deepcopy(binary["data_report"])
    report["checks"]["passed"] = False
    finding = report["checks"]["findings"][0]
    finding.update(acknowledged=False, status=STOPS)
    page, text = page_text(binary, report)
    assert "The data gate stopped the run" in text
    assert 'class="badge stop"' in section_html(page, "data-findings")
    assert "leakage finding, acknowledged" not in page and "leakage finding" in page


def test_a_disabled_gate_is_named(binary):
    report = copy.deepcopy(binary["data_report"])
    report["checks"]["enabled"] = False
    report["checks"]["findings"][0].update(acknowledged=False, status=NOT_ENFORCED)
    _, text = page_text(binary, report)
    assert "The data gate is off (data_checks.enabled is false)" in text


def test_columns_show_type_missing_share_distinct_action_and_score_with_bars(binary):
    report = binary["data_report"]
    section = data_report_section(report)
    by_name = {column["name"]: column for column in section["columns"]}
    for column in report["columns"]:
        shown = by_name[column["column"]]
        assert shown["distinct"] == f"{column['distinct']:,}" and shown["action"] == column["action"]
        share = column["missing_share"]
        assert shown["missing_style"] == f"width:{share * 100:.2f}%"
        if "label_association" in column:
            assert shown["score"] == f"{column['label_association']['score']:.3f}"
        else:
            assert shown["score"] is None
    assert by_name["customer_id"]["type"] == "Identifier" and by_name["customer_id"]["dropped"]
    assert (
        by_name["job"]["missing"]
        == f"{next(c for c in report['columns'] if c['column'] == 'job')['missing_share']:.1%}"
    )


def test_the_label_balance_is_one_bar_whose_segments_are_the_class_shares(binary):
    report = binary["data_report"]
    section = data_report_section(report)
    classes = report["label_balance"]["classes"]
    assert [c["label"] for c in section["balance"]["classes"]] == [c["label"] for c in classes]
    widths = [float(re.search(r"width:([\d.]+)%", c["style"]).group(1)) for c in section["balance"]["classes"]]
    assert widths == pytest.approx([c["share"] * 100 for c in classes], abs=0.01)
    assert sum(widths) == pytest.approx(100, abs=0.05)
    page, _ = page_text(binary, report)
    assert page.count('class="stack"') == 1


def test_a_regression_shows_the_label_figures():
    inputs = samples.regression_inputs()
    page, text = page_text(inputs, inputs["data_report"])
    assert "Label values" in text and "Standard deviation" in text
    assert 'data-section="label-figures"' in page and 'class="stack"' not in page


def test_acknowledged_names_that_are_no_column_are_listed(binary):
    report = copy.deepcopy(binary["data_report"])
    report["checks"]["acknowledged_not_in_csv"] = ["durtion"]
    _, text = page_text(binary, report)
    assert "Acknowledged in data_checks but not a column of the CSV: durtion" in text


def test_a_sampled_report_says_so(binary):
    report = copy.deepcopy(binary["data_report"])
    report["checks"]["sampled"] = {"rows": 20000, "of_training_rows": 31648}
    _, text = page_text(binary, report)
    assert "random sample of 20,000 of the 31,648 training rows" in text


@pytest.mark.parametrize(
    "report",
    [
        {"columns": [{"column": "age"}]},
        {"checks": {}, "duplicates": {"rows": "many"}, "label_balance": {"kind": "classes", "classes": [{}]}},
        {"columns": [{"column": "x", "missing_share": 7, "label_association": {"score": "high"}}], "checks": None},
    ],
)
def test_a_partial_or_odd_report_still_renders(binary, report):
    page, _ = page_text(binary, report)
    check_html(page)
    assert 'data-section="data-rows"' in page or 'data-section="data-report-columns"' in page


def test_without_a_data_report_the_page_has_no_data_gate(binary):
    page, text = page_text(binary, None)
    assert "Data gate" not in text and 'data-section="data-report-columns"' not in page
    assert "Columns and what preprocessing did with them" in text  # from schema.json, as before


def test_a_report_sampled_while_streaming_says_which_figures_are_from_the_sample(binary):
    report = copy.deepcopy(binary["data_report"])
    report["sampled"] = {"rows": 150000, "of_rows": 2400000}
    report["duplicates"]["counted_in_sample"] = True
    page, text = page_text(binary, report)
    assert "random sample of 150,000 of its 2,400,000 rows with a label" in text
    assert "in the sample" in section_html(page, "data-rows")
