"""The text table for logs and the HTML report."""

import json
import re
from html.parser import HTMLParser
from importlib import resources

import numpy as np
import pytest

from sagedrop.evaluation import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    build_evaluation,
    confusion_table,
    render_report_html,
)
from sagedrop.evaluation.curves import chart_data
from sagedrop.evaluation.sections import run_section
from sagedrop.pricing import estimate_run_cost
from tests.unit.evaluation import samples

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}
SVG_LEAVES = {"line", "rect", "circle", "polyline", "path"}


class TagChecker(HTMLParser):
    """Fails on a closing tag that does not match the open one; counts what it saw."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.counts, self.text = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.attrs = getattr(self, "attrs", []) + [(tag, dict(attrs))]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.attrs = getattr(self, "attrs", []) + [(tag, dict(attrs))]

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        if not self.stack or self.stack[-1] != "style":
            self.text.append(data)


def charts_in(checker: TagChecker) -> dict[str, dict]:
    """The charts of a page by their data-chart name, with their attributes."""
    return {attrs["data-chart"]: attrs for _, attrs in checker.attrs if "data-chart" in attrs}


def svg_of(page: str, chart: str) -> TagChecker:
    """The one SVG chart named ``chart``, parsed on its own."""
    match = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', page, re.S)
    assert match, f"no {chart} chart"
    return check_html(match.group(0))


def check_html(page: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    return checker


def column_starts(header: str) -> list[int]:
    """Where the columns after the first start: after each run of two or more spaces."""
    return [match.end() for match in re.finditer(r" {2,}", header)]


TUTORIAL = {
    "run_id": "run-1",
    "problem_type": BINARY,
    "label": "y",
    "rows": 12357,
    "metrics": {"accuracy": 0.895, "precision": 0.6316, "recall": 0.2027, "f1": 0.3069, "roc_auc": 0.78},
    "baseline": {"accuracy": 0.885},
    "confusion_matrix": {"labels": ["No Purchase", "Purchase"], "matrix": [[10769, 167], [1133, 288]]},
}


def test_confusion_table_reproduces_the_tutorial():
    table = confusion_table(TUTORIAL)
    assert table.startswith("Overall Classification Rate: 89.5%\n")
    assert "Majority-class baseline: 88.5%" in table
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("Predicted"))
    assert lines[lines.index(header) + 1] == "Observed"
    no_row = next(line for line in lines if line.startswith("No Purchase"))
    yes_row = next(line for line in lines if line.startswith("Purchase "))
    # column percentages: 10769 / (10769 + 1133) = 90%, 167 / (167 + 288) = 37%
    assert re.findall(r"\d+% \(\d+\)", no_row) == ["90% (10769)", "37% (167)"]
    assert re.findall(r"\d+% \(\d+\)", yes_row) == ["10% (1133)", "63% (288)"]
    # aligned: every column starts where its header does
    starts = column_starts(header)
    assert [header[start:].rstrip() for start in starts] == ["No Purchase    Purchase", "Purchase"]
    for column, start in enumerate(starts):
        assert no_row[start:].startswith(["90%", "37%"][column])
        assert yes_row[start:].startswith(["10%", "63%"][column])


@pytest.mark.parametrize("k", [2, 3, 6])
def test_confusion_table_aligns_k_classes_of_any_width(k):
    labels = ["a", "a much longer class name", "b"][: min(k, 3)] + [f"class-{i}" for i in range(3, k)]
    matrix = (np.arange(k * k).reshape(k, k) * 37 + 1).tolist()
    evaluation = {"problem_type": MULTICLASS, "metrics": {"accuracy": 0.5, "macro_f1": 0.4}, "baseline": {}}
    evaluation["confusion_matrix"] = {"labels": labels, "matrix": matrix}
    lines = confusion_table(evaluation).splitlines()
    header = next(line for line in lines if line.startswith("Predicted"))
    rows = lines[lines.index(header) + 2 :]
    assert len(rows) == k
    starts = column_starts(header)
    assert [header[start:].split("  ")[0] for start in starts] == labels
    for row, counts in zip(rows, matrix, strict=True):
        for start, count in zip(starts, counts, strict=True):
            assert re.match(rf"\d+% \({count}\)", row[start:])
    assert all(line == line.rstrip() for line in lines)


def test_a_column_nobody_was_predicted_shows_a_dash():
    evaluation = dict(TUTORIAL, confusion_matrix={"labels": ["n", "y"], "matrix": [[5, 0], [3, 0]]})
    assert "- (0)" in confusion_table(evaluation)


def test_regression_gets_a_metrics_table():
    evaluation = build_evaluation("r", REGRESSION, "v", [1.0, 2.0, 4.0], [1.5, 2.0, 3.0], None, {"mean": 2.0})
    table = confusion_table(evaluation)
    assert table.splitlines()[0].split() == ["Metric", "Model", "Baseline", "(training", "mean)"]
    assert re.search(r"^RMSE\s+0\.6455\s+1\.291$", table, re.M)
    assert "R2" in table or "R²" in table


def binary_case(n=3000, seed=7):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    return y, p


SCHEMA = samples.schema("y", BINARY, ["no", "yes"], 6782)
SCHEMA["rows"] = {"input": 45215, "dropped_missing_label": 4, "train": 31647, "validation": 6782, "test": 6782}
SCHEMA["encodings"]["job<script>"] = {"kind": "numeric", "features": ["job<script>"], "missing": 0}
RUN = {
    "run_id": "run-1",
    "status": "SUCCEEDED",
    "resources": {"training_job": "sagedrop-run-1-train", "endpoint": "sagedrop-run-1"},
    "timings": {"preprocess": 3.1, "training": 245.0},
}


def test_binary_report_is_well_formed_self_contained_and_escaped():
    # Given labels that would be markup if not escaped
    y, p = binary_case()
    evaluation = build_evaluation("run-1", BINARY, "y", y, p, ["no & <i>", "<b>yes</b>"], {"majority_class": 0})
    # When
    page = render_report_html(evaluation, SCHEMA, RUN, y_true=y, predictions=p)
    # Then
    checker = check_html(page)
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;b&gt;yes&lt;/b&gt;" in page and "no &amp; &lt;i&gt;" in page
    assert "<b>" not in page and "<i>" not in page and "<script" not in page
    assert "job&lt;script&gt;" in page
    roc = svg_of(page, "roc")
    assert roc.counts.get("svg") == 1 and roc.counts.get("polyline") == 2  # the curve and the diagonal
    points = max((a["points"].split() for tag, a in roc.attrs if tag == "polyline"), key=len)
    assert 2 <= len(points) <= 200
    # no external assets
    assert not any(key in attrs for _, attrs in checker.attrs for key in ("src", "href"))
    text = " ".join(checker.text)
    for fact in (
        "sagedrop-run-1-train",
        "31,647",
        "6,782",
        "ROC AUC",
        f"{evaluation['metrics']['accuracy']:.4f}",
    ):
        assert fact in text


def test_regression_report_has_a_sampled_scatter_and_residuals():
    rng = np.random.default_rng(1)
    y = rng.normal(50, 10, 5000)
    pred = y + rng.normal(0, 3, 5000)
    evaluation = build_evaluation("run-9", REGRESSION, "price", y, pred, None, {"mean": 49.0})
    page = render_report_html(evaluation, None, None, y_true=y, predictions=pred)
    checker = check_html(page)
    assert set(charts_in(checker)) == {"predicted-vs-actual", "residuals"}
    for chart in ("predicted-vs-actual", "residuals"):
        assert svg_of(page, chart).counts.get("circle") == 2000
    assert "RMSE" in " ".join(checker.text)
    assert "2,000 test rows, a random sample of the 5,000" in " ".join(checker.text)


def test_multiclass_report_has_per_class_table_and_bars_and_no_curves():
    y = np.array([0, 1, 2, 2])
    p = np.eye(3)[[0, 1, 1, 2]]
    evaluation = build_evaluation("run-5", MULTICLASS, "c", y, p, ["x", "y", "z"], {"majority_class": 2})
    page = render_report_html(evaluation, None, None, y_true=y, predictions=p)
    checker = check_html(page)
    assert set(charts_in(checker)) == {"confusion-matrix", "per-class"}
    bars = svg_of(page, "per-class")
    assert bars.counts.get("rect") == 3 * 2 + 2  # precision and recall per class, two legend keys
    assert "Per class" in " ".join(checker.text)


def test_report_without_predictions_or_one_class_still_renders():
    evaluation = build_evaluation("r", BINARY, "y", [1, 1], [0.9, 0.2], None, {"majority_class": 1})
    check_html(render_report_html(evaluation, None, None))
    page = render_report_html(evaluation, None, None, y_true=[1, 1], predictions=[0.9, 0.2])
    check_html(page)
    assert "single class" in page


@pytest.mark.parametrize("problem_type", samples.PROBLEM_TYPES)
def test_every_chart_of_a_full_report_is_there_and_no_value_is_dumped_as_json(problem_type):
    page = samples.render(problem_type)
    checker = check_html(page)
    assert set(charts_in(checker)) == samples.EXPECTED_CHARTS[problem_type]
    text = " ".join(checker.text)
    assert "{" not in text and "[" not in text  # nested values are tables or "key: value" lists
    assert not any(key in attrs for _, attrs in checker.attrs for key in ("src", "href"))
    assert checker.counts.get("script") is None
    for heading in ("Metrics", "Data", "Columns and what preprocessing did with them", "The run"):
        assert heading in text
    assert "Estimated cost of the run" in text and "Time per step" in text and "Effective configuration" in text
    assert "Hyperparameters of the training job" in text


def test_the_training_jobs_hyperparameters_are_a_table_of_their_own_by_name():
    run = samples.run_facts("r-1") | {"hyperparameters": {"objective": "reg:squarederror", "min_child_weight": "20"}}

    section = run_section(run)

    assert section["hyperparameters"] == [("min_child_weight", "20"), ("objective", "reg:squarederror")]
    assert not any(name.startswith("Hyperparameters") for name, _ in section["facts"])  # not twice
    assert run_section({"run_id": "r-1"})["hyperparameters"] == []


def test_a_chosen_threshold_is_shown_beside_the_default_one():
    inputs = samples.binary_inputs(threshold=0.31)
    page = render_report_html(inputs["evaluation"], None, None, chart_data=chart_data(BINARY, *binary_case()))
    text = " ".join(check_html(page).text)
    metrics, at_half = inputs["evaluation"]["metrics"], inputs["evaluation"]["metrics_at_0_5"]
    assert "At threshold 0.31" in text and "At 0.5" in text
    assert "chosen on the validation split to optimise F1" in text
    row = re.search(r"Recall.*?</tr>", page, re.S).group(0)
    assert re.findall(r"\d\.\d{4}", row)[:2] == [f"{metrics['recall']:.4f}", f"{at_half['recall']:.4f}"]
    # both operating points are marked on the precision-recall curve
    assert svg_of(page, "precision-recall").counts.get("circle") >= 2


def test_a_report_drawn_again_from_chart_data_is_the_same_page():
    # the finish step can redraw the report (with timings and cost) without the test predictions
    inputs = samples.binary_inputs()
    y, p = inputs["y_true"], inputs["predictions"]
    direct = render_report_html(inputs["evaluation"], inputs["schema"], y_true=y, predictions=p)
    data = json.loads(json.dumps(chart_data(BINARY, y, p)))
    assert render_report_html(inputs["evaluation"], inputs["schema"], chart_data=data) == direct


EVIL = "<script>alert(1)</script>"


def test_every_injected_text_is_escaped_in_tables_and_charts():
    # Given hostile text wherever a report shows data it did not write itself
    inputs = samples.binary_inputs(labels=(EVIL, "<b>yes</b>"))
    evaluation = inputs["evaluation"]
    evaluation["label"] = EVIL
    evaluation["feature_importance"][0]["column"] = EVIL
    schema = inputs["schema"]
    schema["encodings"][EVIL] = {"kind": "dropped", "reason": EVIL}
    schema["source"] = EVIL
    run = inputs["run"]
    run["config"]["hyperparameters"][EVIL] = EVIL
    run["source"]["key"] = EVIL
    report = inputs["data_report"]
    report["columns"].append({"column": EVIL, "type": EVIL, "missing_share": 0.5, "distinct": 3, "action": EVIL})
    report["checks"]["findings"].append({"check": EVIL, "column": EVIL, "detail": EVIL, "status": EVIL})
    report["label_balance"] = {"kind": "classes", "classes": [{"label": EVIL, "count": 3, "share": 1.0}]}
    timings = [*inputs["timings"], {"state": EVIL, "seconds": 1.0}]
    cost = dict(
        inputs["cost"],
        items=[
            *inputs["cost"]["items"],
            {"what": EVIL, "quantity": 1, "unit": EVIL, "unit_price_usd": None, "usd": None},
        ],
    )
    # When
    page = render_report_html(
        evaluation,
        schema,
        run,
        y_true=inputs["y_true"],
        predictions=inputs["predictions"],
        data_report=report,
        timings=timings,
        cost=cost,
    )
    # Then no markup got through, in the HTML or inside the SVG charts
    checker = check_html(page)
    assert "<script" not in page and "<b>" not in page
    assert checker.counts.get("script") is None and checker.counts.get("b") is None
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 12
    importance = svg_of(page, "feature-importance")
    assert EVIL in " ".join(importance.text)  # the label is text in the chart (its tooltip), not markup
    assert EVIL in " ".join(svg_of(page, "timings").text)
    assert "not in the price table" in " ".join(checker.text)


def test_cost_timings_and_data_report_sections():
    inputs = samples.binary_inputs()
    cost = estimate_run_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=3600,
        endpoint_instance_type="ml.unknown",
        endpoint_seconds=60,
    )
    report = {
        "duplicates": {"rows": 12345, "share": 0.02},
        "columns": [{"column": "age", "type": "numeric", "missing_share": 0.25, "distinct": 77, "action": "kept"}],
    }
    timings = [{"state": "Check training", "seconds": 0.5}] * 3 + [{"state": "Evaluate the model", "seconds": 7.0}]
    page = render_report_html(inputs["evaluation"], None, None, data_report=report, timings=timings, cost=cost)
    text = " ".join(check_html(page).text)
    training = next(item for item in cost["items"] if item["what"].startswith("Training"))
    assert f"${training['usd']:.4f}" in text and "$0.23" in text  # an hour of ml.m5.xlarge
    assert "not in the price table" in text and "left out of the total" in text
    assert re.search(r"Check training\s*</th><td class=\"num\">3</td><td class=\"num\">1\.5</td>", page)
    assert "12,345" in text and "25.0%" in text and "77" in text


def test_the_template_ships_inside_the_package():
    template = resources.files("sagedrop.evaluation").joinpath("templates/report.html.j2")
    assert template.is_file() and "autoescap" in template.read_text()
