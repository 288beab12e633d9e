"""Human-readable views of an evaluation: a log-friendly text table and a one-page HTML report.

Both read the evaluation.json document (:func:`~sagedrop.evaluation.build_evaluation`); the HTML
report can also draw the ROC curve (binary) or a predicted-vs-actual scatter (regression) when it is
handed the test labels and predictions. The page is self-contained: inline CSS and SVG, no scripts,
no external assets — it opens straight from S3 or a mail attachment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from .constants import BINARY, MULTICLASS, REGRESSION
from .metrics import downsample_curve, roc_curve

_GAP = 4  # spaces between text-table columns, as in the tutorial's layout
_METRIC_NAMES = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "macro_f1": "Macro F1",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}
_PROBLEM_NAMES = {
    BINARY: "binary classification",
    MULTICLASS: "multiclass classification",
    REGRESSION: "regression",
}
MAX_ROC_POINTS = 200
MAX_SCATTER_POINTS = 2000


# --- text ----------------------------------------------------------------------------------------
def _percent(value: float | None, decimals: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{decimals}f}%"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _columns(rows: list[list[str]]) -> str:
    """Left-aligned columns, ``_GAP`` spaces apart, no trailing spaces."""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    return "\n".join(
        "".join(cell.ljust(widths[i] + _GAP) for i, cell in enumerate(row)).rstrip() for row in rows
    )


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
            base = _number(baseline[name]) if name in baseline else "-"
            rows.append([_METRIC_NAMES[name], _number(metrics.get(name)), base])
        return _columns(rows)

    matrix = np.asarray(evaluation["confusion_matrix"]["matrix"], dtype=np.int64)
    labels = [str(label) for label in evaluation["confusion_matrix"]["labels"]]
    predicted = matrix.sum(axis=0)
    lines = [f"Overall Classification Rate: {_percent(metrics.get('accuracy'))}"]
    lines.append(f"Majority-class baseline: {_percent(baseline.get('accuracy'))}")
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


# --- HTML helpers --------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _heat(share: float) -> tuple[str, str]:
    """Background and text colour for a share in [0, 1]: white to deep blue."""
    low, high = np.array([247, 251, 255]), np.array([8, 69, 148])
    rgb = (low + (high - low) * max(0.0, min(1.0, share))).round().astype(int)
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})", ("#fff" if share > 0.55 else "#111")


def _fmt_compact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _key_value_table(items: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{_e(key)}</th><td>{_e(_fmt_compact(value))}</td></tr>"
        for key, value in items.items()
    )
    return f"<table class='kv'>{rows}</table>"


def _metric_rows(evaluation: Mapping[str, Any]) -> str:
    metrics = evaluation["metrics"]
    baseline = evaluation.get("baseline") or {}
    ratio = evaluation["problem_type"] != REGRESSION
    rows = []
    for name, value in metrics.items():
        shown = _number(value) if not ratio or value is None else f"{value:.4f}"
        base = baseline.get(name)
        base_shown = "—" if base is None else (f"{base:.4f}" if ratio else _number(base))
        rows.append(
            f"<tr><th scope='row'>{_e(_METRIC_NAMES.get(name, name))}</th>"
            f"<td class='num'>{_e(shown)}</td><td class='num'>{_e(base_shown)}</td></tr>"
        )
    baseline_name = "Baseline (training mean)" if not ratio else "Baseline (majority class)"
    return (
        "<table class='metrics'><thead><tr><th>Metric</th><th>Model</th>"
        f"<th>{_e(baseline_name)}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _summary_sentence(evaluation: Mapping[str, Any]) -> str:
    metrics = evaluation["metrics"]
    baseline = evaluation.get("baseline") or {}
    if evaluation["problem_type"] == REGRESSION:
        rmse, base = metrics.get("rmse"), baseline.get("rmse")
        text = f"The model's typical error (RMSE) on the {evaluation['rows']:,} test rows is {_number(rmse)}"
        if base is not None:
            text += f"; always predicting the training mean gives {_number(base)}"
        return text + "."
    accuracy, base = metrics.get("accuracy"), baseline.get("accuracy")
    text = f"The model is right on {_percent(accuracy)} of the {evaluation['rows']:,} test rows"
    if base is not None:
        text += f"; always answering the most frequent training class would be right on {_percent(base)}"
    return text + "."


def _confusion_html(evaluation: Mapping[str, Any]) -> str:
    matrix = np.asarray(evaluation["confusion_matrix"]["matrix"], dtype=np.int64)
    labels = evaluation["confusion_matrix"]["labels"]
    observed = matrix.sum(axis=1)
    head = "".join(f"<th scope='col'>{_e(label)}</th>" for label in labels)
    body = []
    for i, label in enumerate(labels):
        cells = []
        for j in range(len(labels)):
            share = matrix[i, j] / observed[i] if observed[i] else 0.0
            background, colour = _heat(share)
            cells.append(
                f"<td style='background:{background};color:{colour}'>"
                f"<strong>{matrix[i, j]:,}</strong><br><small>{share:.0%}</small></td>"
            )
        body.append(f"<tr><th scope='row'>{_e(label)}</th>{''.join(cells)}</tr>")
    return (
        "<table class='confusion'><thead><tr><th class='corner'>observed ↓ / predicted →</th>"
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "<p class='note'>Rows are the observed classes, columns the predicted ones; the shade and "
        "the percentage are the share of the observed class (the diagonal is each class's recall).</p>"
    )


def _per_class_html(per_class: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{_e(item['label'])}</th>"
        + "".join(f"<td class='num'>{_e(_ratio(item[key]))}</td>" for key in ("precision", "recall", "f1"))
        + f"<td class='num'>{int(item['support']):,}</td></tr>"
        for item in per_class
    )
    return (
        "<table class='metrics'><thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th>"
        f"<th>Support</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# --- SVG -----------------------------------------------------------------------------------------
_SIZE, _PAD = 360, 44


def _axes(x_label: str, y_label: str, x_range: tuple[float, float], y_range: tuple[float, float]) -> str:
    inner = _SIZE - 2 * _PAD
    parts = [
        f"<rect x='{_PAD}' y='{_PAD}' width='{inner}' height='{inner}' fill='#fff' stroke='#999'/>",
    ]
    for k in range(5):
        t = k / 4
        x = _PAD + t * inner
        y = _SIZE - _PAD - t * inner
        x_value = x_range[0] + t * (x_range[1] - x_range[0])
        y_value = y_range[0] + t * (y_range[1] - y_range[0])
        parts.append(
            f"<line x1='{x:.1f}' y1='{_SIZE - _PAD}' x2='{x:.1f}' y2='{_SIZE - _PAD + 4}' stroke='#999'/>"
        )
        parts.append(
            f"<text x='{x:.1f}' y='{_SIZE - _PAD + 16}' text-anchor='middle'>{_e(f'{x_value:.3g}')}</text>"
        )
        parts.append(f"<line x1='{_PAD - 4}' y1='{y:.1f}' x2='{_PAD}' y2='{y:.1f}' stroke='#999'/>")
        parts.append(f"<text x='{_PAD - 6}' y='{y + 4:.1f}' text-anchor='end'>{_e(f'{y_value:.3g}')}</text>")
    parts.append(f"<text x='{_SIZE / 2}' y='{_SIZE - 6}' text-anchor='middle'>{_e(x_label)}</text>")
    parts.append(
        f"<text x='12' y='{_SIZE / 2}' text-anchor='middle' transform='rotate(-90 12 {_SIZE / 2})'>"
        f"{_e(y_label)}</text>"
    )
    return "".join(parts)


def _to_svg_xy(x: np.ndarray, y: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]):
    inner = _SIZE - 2 * _PAD
    x_span = (x_range[1] - x_range[0]) or 1.0
    y_span = (y_range[1] - y_range[0]) or 1.0
    sx = _PAD + (np.asarray(x, float) - x_range[0]) / x_span * inner
    sy = _SIZE - _PAD - (np.asarray(y, float) - y_range[0]) / y_span * inner
    return sx, sy


def _svg(title: str, content: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {_SIZE} {_SIZE}' width='{_SIZE}' "
        f"height='{_SIZE}' role='img' aria-label='{_e(title)}' class='chart'><title>{_e(title)}</title>"
        f"{content}</svg>"
    )


def roc_svg(y_true: np.ndarray, probabilities: np.ndarray, auc: float | None) -> str | None:
    """An inline SVG ROC curve (at most 200 points); ``None`` when the test rows hold one class."""
    fpr, tpr = roc_curve(np.asarray(y_true), np.asarray(probabilities, float))
    if not len(fpr):
        return None
    fpr, tpr = downsample_curve(fpr, tpr, MAX_ROC_POINTS)
    sx, sy = _to_svg_xy(fpr, tpr, (0, 1), (0, 1))
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx, sy, strict=True))
    (dx0, dx1), (dy0, dy1) = _to_svg_xy(np.array([0, 1]), np.array([0, 1]), (0, 1), (0, 1))
    label = "ROC curve" + ("" if auc is None else f" (AUC {auc:.3f})")
    content = (
        _axes("False positive rate", "True positive rate", (0, 1), (0, 1))
        + f"<line x1='{dx0:.1f}' y1='{dy0:.1f}' x2='{dx1:.1f}' y2='{dy1:.1f}' stroke='#bbb' "
        "stroke-dasharray='4 4'/>"
        + f"<polyline points='{points}' fill='none' stroke='#08519c' stroke-width='2'/>"
        + f"<text x='{_SIZE / 2}' y='{_PAD - 14}' text-anchor='middle' class='title'>{_e(label)}</text>"
    )
    return _svg(label, content)


def scatter_svg(y_true: np.ndarray, y_pred: np.ndarray, seed: int = 0) -> str | None:
    """Predicted against actual values (a random sample of at most 2,000 points) with the y = x line."""
    y_true = np.asarray(y_true, float).reshape(-1)
    y_pred = np.asarray(y_pred, float).reshape(-1)
    if not len(y_true):
        return None
    if len(y_true) > MAX_SCATTER_POINTS:
        keep = np.random.default_rng(seed).choice(len(y_true), MAX_SCATTER_POINTS, replace=False)
        y_true, y_pred = y_true[keep], y_pred[keep]
    low = float(min(y_true.min(), y_pred.min()))
    high = float(max(y_true.max(), y_pred.max()))
    if high == low:
        low, high = low - 1, high + 1
    span = (low, high)
    sx, sy = _to_svg_xy(y_true, y_pred, span, span)
    dots = "".join(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2'/>" for x, y in zip(sx, sy, strict=True))
    (dx0, dx1), (dy0, dy1) = _to_svg_xy(np.array(span), np.array(span), span, span)
    title = "Predicted vs actual"
    content = (
        _axes("Actual", "Predicted", span, span)
        + f"<line x1='{dx0:.1f}' y1='{dy0:.1f}' x2='{dx1:.1f}' y2='{dy1:.1f}' stroke='#bbb' "
        "stroke-dasharray='4 4'/>"
        + f"<g fill='#08519c' fill-opacity='0.35'>{dots}</g>"
        + f"<text x='{_SIZE / 2}' y='{_PAD - 14}' text-anchor='middle' class='title'>{_e(title)}</text>"
    )
    return _svg(title, content)


# --- schema and run ------------------------------------------------------------------------------
def _feature_rows(features: Any) -> str | None:
    if not isinstance(features, Sequence) or isinstance(features, str) or not features:
        return None
    if all(isinstance(f, Mapping) for f in features):
        columns = []
        for feature in features:
            for key in feature:
                if key not in columns and not isinstance(feature[key], Mapping | list):
                    columns.append(key)
        head = "".join(f"<th>{_e(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_e(_fmt_compact(f.get(c, '')))}</td>" for c in columns) + "</tr>"
            for f in features
        )
        return f"<table class='features'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    items = "".join(f"<li>{_e(_fmt_compact(f))}</li>" for f in features)
    return f"<ol class='features'>{items}</ol>"


def _schema_html(schema: Mapping[str, Any]) -> str:
    parts = []
    splits = next(
        (schema[key] for key in ("row_counts", "rows", "splits") if isinstance(schema.get(key), Mapping)),
        None,
    )
    if splits:
        parts.append("<h3>Rows per split</h3>" + _key_value_table(splits))
    feature_key = next((key for key in ("features", "feature_names", "columns") if key in schema), None)
    features = _feature_rows(schema.get(feature_key)) if feature_key else None
    if features:
        count = len(schema[feature_key])
        parts.append(f"<h3>Features ({count}, in model order)</h3>{features}")
    shown = {"row_counts", "rows", "splits", feature_key}
    rest = {k: v for k, v in schema.items() if k not in shown}
    if rest:
        parts.append("<h3>Other schema facts</h3>" + _key_value_table(rest))
    return "".join(parts)


def _run_html(run: Mapping[str, Any]) -> str:
    scalars = {k: v for k, v in run.items() if not isinstance(v, Mapping)}
    parts = [_key_value_table(scalars)] if scalars else []
    for key, value in run.items():
        if isinstance(value, Mapping) and value:
            parts.append(f"<h3>{_e(key.replace('_', ' ').capitalize())}</h3>{_key_value_table(value)}")
    return "".join(parts)


_CSS = """
body{font:15px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1b1f24;
margin:0;background:#f4f6f8}
main{max-width:1040px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #dde2e8;
padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.sub{color:#57606a;margin:0 0 14px}.lead{font-size:16px;margin:10px 0 18px}
table{border-collapse:collapse;margin:6px 0 10px}th,td{padding:5px 10px;text-align:left;vertical-align:top}
table.metrics th,table.metrics td,table.kv th,table.kv td,table.features td,table.features th{
border-bottom:1px solid #eaeef2}thead th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{color:#57606a;font-weight:600;white-space:nowrap}table.kv td{word-break:break-all}
table.confusion td{text-align:center;min-width:90px;padding:10px 12px;border:1px solid #fff}
table.confusion th{text-align:center;vertical-align:middle}
th.corner{color:#57606a;font-weight:normal;font-size:12px}
.note{color:#57606a;font-size:13px;margin:4px 0;max-width:460px}
.row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
svg.chart{font-size:11px;fill:#333;background:#fff}svg.chart text.title{font-size:13px;font-weight:600}
ol.features{columns:3;margin:4px 0;padding-left:22px}
"""


def render_report_html(
    evaluation: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    *,
    y_true: np.ndarray | Sequence[float] | None = None,
    predictions: np.ndarray | Sequence[float] | None = None,
) -> str:
    """One self-contained HTML page about a run's evaluation.

    Headline metrics against the baseline, the confusion matrix as a shaded table (classification),
    per-class scores (multiclass), an SVG ROC curve (binary) or a predicted-vs-actual scatter
    (regression) when ``y_true`` and ``predictions`` (as passed to ``build_evaluation``) are given,
    the schema summary and the run's facts. All text is HTML-escaped.
    """
    problem_type = evaluation["problem_type"]
    title = f"sagedrop evaluation — {evaluation['run_id']}"
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='sub'>{_e(_PROBLEM_NAMES.get(problem_type, problem_type))} of "
        f"<code>{_e(evaluation['label'])}</code> · {evaluation['rows']:,} test rows</p>",
        f"<p class='lead'>{_e(_summary_sentence(evaluation))}</p>",
        "<h2>Metrics</h2>",
        _metric_rows(evaluation),
    ]

    chart = None
    if y_true is not None and predictions is not None:
        if problem_type == BINARY:
            chart = roc_svg(np.asarray(y_true), np.asarray(predictions), evaluation["metrics"].get("roc_auc"))
            if chart is None:
                chart = "<p class='note'>No ROC curve: the test rows hold a single class.</p>"
        elif problem_type == REGRESSION:
            chart = scatter_svg(np.asarray(y_true), np.asarray(predictions))

    if evaluation.get("confusion_matrix"):
        out.append("<h2>Confusion matrix</h2><div class='row'><div>")
        out.append(_confusion_html(evaluation))
        out.append(
            "<p class='note'>The same counts in the AWS tutorial's layout, where each percentage is "
            "the share of its <em>predicted</em> column (the diagonal is each class's precision):</p>"
        )
        out.append(f"<pre>{_e(confusion_table(evaluation))}</pre></div>")
        if chart:
            out.append(f"<div>{chart}</div>")
        out.append("</div>")
    elif chart:
        out.append(f"<h2>Predictions</h2>{chart}")
    if evaluation.get("per_class"):
        out.append("<h2>Per class</h2>" + _per_class_html(evaluation["per_class"]))
    if schema:
        out.append("<h2>Data</h2>" + _schema_html(schema))
    if run:
        out.append("<h2>Run</h2>" + _run_html(run))
    out.append("</main></body></html>")
    return "\n".join(out)
