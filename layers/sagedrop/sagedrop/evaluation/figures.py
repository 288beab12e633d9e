"""Which charts the report shows, drawn from evaluation.json and the chart data (:mod:`.curves`).

Each figure is ``{"id", "title", "svg", "caption"}``; the SVG comes from :mod:`.charts`, which
escapes every text it draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import charts
from .constants import BINARY, MULTICLASS, REGRESSION
from .sections import plain

MAX_IMPORTANCE_ROWS = 25


def _figure(chart_id: str, title: str, svg: Any, caption: str = "") -> dict:
    return {"id": chart_id, "title": title, "svg": svg, "caption": caption}


def _binary_figures(evaluation: Mapping[str, Any], data: Mapping[str, Any]) -> list[dict]:
    metrics = evaluation["metrics"]
    figures = []
    if "roc" in data:
        auc = metrics.get("roc_auc")
        series = [
            charts.Series("Random", [0, 1], [0, 1], charts.GREY, "dashed"),
            charts.Series("Model", data["roc"]["fpr"], data["roc"]["tpr"]),
        ]
        svg = charts.line_chart(
            "roc",
            "ROC curve",
            series,
            x_label="False positive rate",
            y_label="True positive rate (recall)",
            annotation=None if auc is None else f"AUC {auc:.3f}",
        )
        figures.append(
            _figure(
                "roc",
                "ROC curve",
                svg,
                "Recall against the share of negatives flagged, "
                "over every threshold; the diagonal is a random ordering.",
            )
        )
    else:
        figures.append(_figure("roc", "ROC curve", None, "No ROC curve: the test rows hold a single class."))
    if "precision_recall" in data:
        pr = data["precision_recall"]
        rate = data.get("positive_rate") or 0.0
        series = [
            charts.Series("Random", [0, 1], [rate, rate], charts.GREY, "dashed"),
            charts.Series("Model", pr["recall"], pr["precision"], charts.BLUE, "step"),
        ]
        threshold = evaluation.get("threshold")
        at_half = evaluation.get("metrics_at_0_5") if threshold else metrics
        if threshold:
            series.append(
                charts.Series(
                    f"At {plain(threshold.get('value'))}",
                    [metrics["recall"]],
                    [metrics["precision"]],
                    charts.ORANGE,
                    "points",
                )
            )
        if at_half and at_half.get("recall") is not None:
            series.append(charts.Series("At 0.5", [at_half["recall"]], [at_half["precision"]], charts.GREEN, "points"))
        ap = data.get("average_precision")
        svg = charts.line_chart(
            "precision-recall",
            "Precision-recall curve",
            series,
            x_label="Recall",
            y_label="Precision",
            annotation=None if ap is None else f"Average precision {ap:.3f}",
        )
        figures.append(
            _figure(
                "precision-recall",
                "Precision-recall curve",
                svg,
                f"Precision against recall over every threshold; a random model sits at the "
                f"positive rate ({rate:.1%}).",
            )
        )
    if "gain" in data:
        gain, rate = data["gain"], data.get("positive_rate") or 1.0
        share = [0.0, *gain["share"]]
        series = [
            charts.Series("Random", [0, 1], [0, 1], charts.GREY, "dashed"),
            charts.Series("Perfect", [0, min(rate, 1.0), 1], [0, 1, 1], charts.GREEN, "dashed"),
            charts.Series("Model", share, [0.0, *gain["gain"]]),
            charts.Series("Model", share, [0.0, *gain["gain"]], charts.BLUE, "points"),
        ]
        svg = charts.line_chart(
            "gain",
            "Cumulative gain",
            series[:3] + series[3:],
            x_label="Share of rows, highest scores first",
            y_label="Share of positives found",
        )
        figures.append(
            _figure(
                "gain",
                "Cumulative gain by decile",
                svg,
                "The share of all positives found by acting on the top 10 %, 20 %, … of rows.",
            )
        )
        deciles = [f"{round(s * 100)}%" for s in gain["share"]]
        svg = charts.column_chart(
            "lift",
            "Cumulative lift by decile",
            deciles,
            gain["lift"],
            x_label="Top share of rows by score",
            y_label="Lift",
            reference=1.0,
            reference_name="Random (lift 1)",
        )
        figures.append(
            _figure(
                "lift",
                "Cumulative lift by decile",
                svg,
                "How many times more positives the top rows hold than a random pick of as many.",
            )
        )
    if "calibration" in data:
        calibration, brier = data["calibration"], metrics.get("brier_score", data.get("brier_score"))
        svg = charts.calibration_chart(
            "calibration",
            "Calibration (reliability diagram)",
            calibration["mean_predicted"],
            calibration["observed"],
            calibration["count"],
            annotation=None if brier is None else f"Brier score {brier:.4f}",
        )
        rate = data.get("positive_rate")
        reference = (
            ""
            if rate is None
            else (f" Always predicting the test positive rate would score a Brier score of {rate * (1 - rate):.4f}.")
        )
        figures.append(
            _figure(
                "calibration",
                "Calibration",
                svg,
                "Observed share of positives against the mean predicted probability in ten equal-width "
                "bins; on the diagonal the probabilities can be read as frequencies." + reference,
            )
        )
    return figures


def _multiclass_figures(evaluation: Mapping[str, Any]) -> list[dict]:
    per_class = evaluation.get("per_class") or []
    if not per_class:
        return []
    labels = [str(item["label"]) for item in per_class]
    series = [
        ("Precision", [item["precision"] for item in per_class], charts.BLUE),
        ("Recall", [item["recall"] for item in per_class], charts.ORANGE),
    ]
    svg = charts.bar_rows_chart("per-class", "Precision and recall per class", labels, series, x_max=1.0)
    return [
        _figure(
            "per-class",
            "Precision and recall per class",
            svg,
            "For each class: how often a prediction of it is right (precision) and how many of its rows are "
            "found (recall).",
        )
    ]


def _regression_figures(data: Mapping[str, Any]) -> list[dict]:
    scatter = data.get("scatter")
    if not scatter or not scatter["actual"]:
        return []
    actual, predicted = scatter["actual"], scatter["predicted"]
    residuals = [a - p for a, p in zip(actual, predicted, strict=True)]
    rows = scatter.get("rows", len(actual))
    sample = f"{len(actual):,} test rows" + (f", a random sample of the {rows:,}" if rows > len(actual) else "")
    return [
        _figure(
            "predicted-vs-actual",
            "Predicted vs actual",
            charts.scatter_chart(
                "predicted-vs-actual", "Predicted vs actual", actual, predicted, x_label="Actual", y_label="Predicted"
            ),
            f"{sample}; on the dashed line the prediction is exact.",
        ),
        _figure(
            "residuals",
            "Residuals",
            charts.scatter_chart(
                "residuals",
                "Residuals against the prediction",
                predicted,
                residuals,
                x_label="Predicted",
                y_label="Actual − predicted",
                reference="zero",
            ),
            "A pattern (a curve, a funnel) means errors that depend on the prediction.",
        ),
    ]


def importance_figure(evaluation: Mapping[str, Any]) -> dict | None:
    """Feature importance by source column: bars for the first 25, and their numbers with each
    column's share of the total and the running share."""
    items = evaluation.get("feature_importance") or []
    if not items:
        return None
    shown = items[:MAX_IMPORTANCE_ROWS]
    svg = charts.bar_rows_chart(
        "feature-importance",
        "Feature importance by column",
        [str(item["column"]) for item in shown],
        [("Importance", [item["importance"] for item in shown], charts.BLUE)],
        value_format="{:.3g}",
    )
    total = sum(max(0.0, float(item["importance"])) for item in items) or 1.0
    rows, running = [], 0.0
    for item in shown:
        share = max(0.0, float(item["importance"])) / total
        running += share
        rows.append(
            {
                "column": str(item["column"]),
                "importance": f"{item['importance']:.3g}",
                "share": f"{share:.1%}",
                "cumulative": f"{running:.1%}",
            }
        )
    return {"svg": svg, "rows": rows, "more": len(items) - len(shown), "method": evaluation.get("importance_method")}


def figures(evaluation: Mapping[str, Any], data: Mapping[str, Any] | None) -> list[dict]:
    """The charts of a run's problem type; binary and regression need the chart data."""
    problem_type = evaluation["problem_type"]
    if problem_type == MULTICLASS:
        return _multiclass_figures(evaluation)
    if data is None:
        return []
    if problem_type == BINARY:
        return _binary_figures(evaluation, data)
    if problem_type == REGRESSION:
        return _regression_figures(data)
    return []


def timings_chart(states: Sequence[str], seconds: Sequence[float]) -> Any:
    """Seconds per state as horizontal bars."""
    return charts.bar_rows_chart(
        "timings",
        "Seconds per step",
        list(states),
        [("Seconds", list(seconds), charts.BLUE)],
        value_format="{:,.1f} s",
        x_label="Seconds (all visits)",
    )
