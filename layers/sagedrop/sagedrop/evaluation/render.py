"""Human-readable views of an evaluation: a log-friendly text table and a one-page HTML report.

Both read the evaluation.json document (:func:`~sagedrop.evaluation.build_evaluation`). The report
is rendered from ``templates/report.html.j2`` by Jinja2 with autoescaping; this module turns the
documents into plain values and the charts (:mod:`.charts`, drawn from :mod:`.curves`' numbers)
for it. The page is self-contained: inline CSS and SVG, no scripts, no external assets — it opens
straight from S3 or a mail attachment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import data_section, figures, sections
from .constants import REGRESSION
from .curves import chart_data as compute_chart_data
from .sections import METRIC_NAMES, PROBLEM_NAMES, number, percent
from .tuning_section import tuning_section

_GAP = 4  # spaces between text-table columns, as in the tutorial's layout


# --- text ----------------------------------------------------------------------------------------
def _columns(rows: list[list[str]]) -> str:
    """Left-aligned columns, ``_GAP`` spaces apart, no trailing spaces."""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    return "\n".join("".join(cell.ljust(widths[i] + _GAP) for i, cell in enumerate(row)).rstrip() for row in rows)


def confusion_table(evaluation: Mapping[str, Any]) -> str:
    """The AWS tutorial's confusion table, for logs and notifications.

    Classification: the overall classification rate (accuracy), the majority-class baseline, then
    observed classes as rows and predicted classes as columns; each cell is the share of its
    *predicted column* and the count, e.g. ``90% (10769)``. Regression: a small metrics table.
    """
    metrics = evaluation["metrics"]
    baseline = evaluation.get("baseline") or {}
    if evaluation["problem_type"] == REGRESSION:
        rows = [["Metric", "Model", "Baseline (training mean)"]]
        for name in ("rmse", "mae", "r2"):
            base = number(baseline[name]) if name in baseline else "-"
            rows.append([METRIC_NAMES[name], number(metrics.get(name)), base])
        return _columns(rows)

    matrix = np.asarray(evaluation["confusion_matrix"]["matrix"], dtype=np.int64)
    labels = [str(label) for label in evaluation["confusion_matrix"]["labels"]]
    predicted = matrix.sum(axis=0)
    lines = [f"Overall Classification Rate: {percent(metrics.get('accuracy'))}"]
    lines.append(f"Majority-class baseline: {percent(baseline.get('accuracy'))}")
    if "macro_f1" in metrics:
        macro_f1 = metrics.get("macro_f1")
        lines.append("Macro F1: " + ("n/a" if macro_f1 is None else f"{macro_f1:.4f}"))
    rows = [["Predicted", *labels], ["Observed"]]
    for i, label in enumerate(labels):
        cells = [
            f"{matrix[i, j] / predicted[j]:.0%} ({matrix[i, j]})" if predicted[j] else f"- ({matrix[i, j]})"
            for j in range(len(labels))
        ]
        rows.append([label, *cells])
    return "\n".join(lines) + "\n\n" + _columns(rows)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("sagedrop.evaluation", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report_html(
    evaluation: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    *,
    y_true: np.ndarray | Sequence[float] | None = None,
    predictions: np.ndarray | Sequence[float] | None = None,
    chart_data: Mapping[str, Any] | None = None,
    data_report: Mapping[str, Any] | None = None,
    timings: Sequence[Mapping[str, Any]] | None = None,
    cost: Mapping[str, Any] | None = None,
    trials: Mapping[str, Any] | None = None,
) -> str:
    """One self-contained HTML page about a run.

    ``evaluation`` is evaluation.json; ``schema`` schema.json; ``run`` the run's facts (input,
    resources, training metrics; ``config`` the effective run configuration). The curves need the
    test labels and predictions as passed to ``build_evaluation`` (``y_true``, ``predictions``), or
    the :func:`~sagedrop.evaluation.curves.chart_data` computed from them earlier. ``data_report``
    is data_report.json; ``timings`` the state visits (run.json's ``steps``); ``cost`` what
    :func:`sagedrop.pricing.estimate_run_cost` returned; ``trials`` a tuned run's tuning/trials.json.
    Everything but ``evaluation`` is optional;
    every text is escaped.
    """
    problem_type = evaluation["problem_type"]
    if chart_data is None and y_true is not None and predictions is not None:
        chart_data = compute_chart_data(problem_type, y_true, predictions)
    timings_rows = sections.timings_section(timings)
    context = {
        "title": f"sagedrop evaluation — {evaluation['run_id']}",
        "run_id": evaluation["run_id"],
        "problem": PROBLEM_NAMES.get(problem_type, problem_type),
        "label": evaluation["label"],
        "test_rows": f"{evaluation['rows']:,}",
        "summary": _summary_sentence(evaluation),
        "cards": sections.headline_cards(evaluation, cost),
        "metrics": sections.metrics_table(evaluation),
        "confusion": sections.confusion(evaluation),
        "confusion_text": confusion_table(evaluation) if evaluation.get("confusion_matrix") else None,
        "per_class": sections.per_class(evaluation),
        "figures": figures.figures(evaluation, chart_data),
        "importance": figures.importance_figure(evaluation),
        "tuning": tuning_section(trials),
        "schema": sections.schema_section(schema) if schema else None,
        "data_report": data_section.data_report_section(data_report),
        "run": sections.run_section(run),
        "timings": timings_rows,
        "timings_chart": figures.timings_chart(timings_rows["states"], timings_rows["seconds"])
        if timings_rows
        else None,
        "cost": sections.cost_section(cost),
    }
    return _environment().get_template("report.html.j2").render(context)


def _summary_sentence(evaluation: Mapping[str, Any]) -> str:
    metrics = evaluation["metrics"]
    baseline = evaluation.get("baseline") or {}
    if evaluation["problem_type"] == REGRESSION:
        rmse, base = metrics.get("rmse"), baseline.get("rmse")
        text = f"The model's typical error (RMSE) on the {evaluation['rows']:,} test rows is {number(rmse)}"
        if base is not None:
            text += f"; always predicting the training mean gives {number(base)}"
        return text + "."
    accuracy, base = metrics.get("accuracy"), baseline.get("accuracy")
    text = f"The model is right on {percent(accuracy)} of the {evaluation['rows']:,} test rows"
    if base is not None:
        text += f"; always answering the most frequent training class would be right on {percent(base)}"
    return text + "."
