"""The text table for logs and the HTML report."""

import re
from html.parser import HTMLParser

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
        assert self.stack and self.stack[-1] == tag, (
            f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        )
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


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


SCHEMA = {
    "problem_type": BINARY,
    "row_counts": {"train": 31647, "validation": 6782, "test": 6782},
    "features": [{"name": "age", "type": "numeric"}, {"name": "job<script>", "type": "categorical"}],
}
RUN = {
    "run_id": "run-1",
    "status": "SUCCEEDED",
    "resources": {"training_job": "sagedrop-run-1-train", "endpoint": "sagedrop-run-1"},
    "timings": {"preprocess": 3.1, "training": 245.0},
}


def test_binary_report_is_well_formed_self_contained_and_escaped():
    # Given labels that would be markup if not escaped
    y, p = binary_case()
    evaluation = build_evaluation(
        "run-1", BINARY, "y", y, p, ["no & <i>", "<b>yes</b>"], {"majority_class": 0}
    )
    # When
    page = render_report_html(evaluation, SCHEMA, RUN, y_true=y, predictions=p)
    # Then
    checker = check_html(page)
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;b&gt;yes&lt;/b&gt;" in page and "no &amp; &lt;i&gt;" in page
    assert "<b>" not in page and "<i>" not in page and "<script" not in page
    assert "job&lt;script&gt;" in page
    assert checker.counts.get("svg") == 1 and checker.counts.get("polyline") == 1
    points = next(a["points"] for tag, a in checker.attrs if tag == "polyline").split()
    assert 2 <= len(points) <= 200
    # no external assets
    assert not any(key in attrs for _, attrs in checker.attrs for key in ("src", "href"))
    text = " ".join(checker.text)
    for fact in (
        "sagedrop-run-1-train",
        "31647",
        "6782",
        "ROC AUC",
        f"{evaluation['metrics']['accuracy']:.4f}",
    ):
        assert fact in text


def test_regression_report_has_a_sampled_scatter():
    rng = np.random.default_rng(1)
    y = rng.normal(50, 10, 5000)
    pred = y + rng.normal(0, 3, 5000)
    evaluation = build_evaluation("run-9", REGRESSION, "price", y, pred, None, {"mean": 49.0})
    checker = check_html(render_report_html(evaluation, None, None, y_true=y, predictions=pred))
    assert checker.counts.get("svg") == 1
    assert checker.counts.get("circle") == 2000
    assert "RMSE" in " ".join(checker.text)


def test_multiclass_report_has_per_class_table_and_no_chart():
    y = np.array([0, 1, 2, 2])
    p = np.eye(3)[[0, 1, 1, 2]]
    evaluation = build_evaluation("run-5", MULTICLASS, "c", y, p, ["x", "y", "z"], {"majority_class": 2})
    checker = check_html(render_report_html(evaluation, None, None, y_true=y, predictions=p))
    assert "svg" not in checker.counts
    assert "Per class" in " ".join(checker.text)


def test_report_without_predictions_or_one_class_still_renders():
    evaluation = build_evaluation("r", BINARY, "y", [1, 1], [0.9, 0.2], None, {"majority_class": 1})
    check_html(render_report_html(evaluation, None, None))
    page = render_report_html(evaluation, None, None, y_true=[1, 1], predictions=[0.9, 0.2])
    check_html(page)
    assert "single class" in page
