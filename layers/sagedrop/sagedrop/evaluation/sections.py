"""The report's sections as plain values for the template: metrics beside their baseline, the
headline figures, the confusion matrix heat map, the schema, the run and its cost (the data report's
section is :mod:`.data_section`).

No markup here (the template has it, and escapes every value); no JSON dumps either — nested
values become ``Parent · child`` rows or ``key: value`` lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .constants import BINARY, MULTICLASS, REGRESSION
from .report import label_names

METRIC_NAMES = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "macro_f1": "Macro F1",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "brier_score": "Brier score",
}
PROBLEM_NAMES = {
    BINARY: "binary classification",
    MULTICLASS: "multiclass classification",
    REGRESSION: "regression",
}
#: Metrics where less is better; the others are scores where more is better.
LOWER_IS_BETTER = frozenset({"rmse", "mae", "brier_score"})
#: Metrics that do not depend on the decision threshold.
THRESHOLD_FREE = frozenset({"roc_auc", "brier_score"})


def percent(value: float | None, decimals: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{decimals}f}%"


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def humanize(key: Any) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def plain(value: Any) -> str:
    """Any JSON value as short readable text (never JSON): nested values as ``key: value`` lists."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {plain(item)}" for key, item in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value) or "—"
    return str(value)


def facts(
    mapping: Mapping[str, Any] | None, skip: Sequence[str] = (), prefix: str = "", counts: bool = False
) -> list[tuple[str, str]]:
    """``(name, value)`` rows of a mapping, nested mappings flattened as ``Parent · child``.

    Top-level keys are made readable; nested keys (hyperparameter names, label values) are kept as
    they are. With ``counts`` integers get thousands separators.
    """
    rows: list[tuple[str, str]] = []
    for key, value in (mapping or {}).items():
        if key in skip:
            continue
        name = f"{prefix}{key}" if prefix else humanize(key)
        if isinstance(value, Mapping) and value:
            rows += facts(value, prefix=f"{name} · ", counts=counts)
        elif counts and isinstance(value, int) and not isinstance(value, bool):
            rows.append((name, f"{value:,}"))
        else:
            rows.append((name, plain(value)))
    return rows


def _metric_text(name: str, value: float | None, problem_type: str) -> str:
    if value is None:
        return "n/a"
    return number(value) if problem_type == REGRESSION and name != "r2" else f"{value:.4f}"


def _better(name: str, value: float | None, base: float | None) -> bool | None:
    if value is None or base is None:
        return None
    return value < base if name in LOWER_IS_BETTER else value > base


def metrics_table(evaluation: Mapping[str, Any]) -> dict:
    """Metrics beside their baseline; with a chosen threshold, also the metrics at 0.5."""
    problem_type = evaluation["problem_type"]
    metrics, baseline = evaluation["metrics"], evaluation.get("baseline") or {}
    threshold = evaluation.get("threshold") if problem_type == BINARY else None
    at_half = evaluation.get("metrics_at_0_5") if threshold else None
    columns = ["Model"]
    if threshold:
        columns = [f"At threshold {plain(threshold.get('value'))}", "At 0.5"]
    columns.append("Baseline (training mean)" if problem_type == REGRESSION else "Baseline (majority class)")
    rows = []
    for name, value in metrics.items():
        cells = [_metric_text(name, value, problem_type)]
        if threshold:
            half = (at_half or {}).get(name, value if name in THRESHOLD_FREE else None)
            cells.append(_metric_text(name, half, problem_type))
        base = baseline.get(name)
        cells.append("—" if base is None else _metric_text(name, base, problem_type))
        direction = "lower is better" if name in LOWER_IS_BETTER else ""
        rows.append({"name": METRIC_NAMES.get(name, name), "hint": direction, "cells": cells})
    note = None
    if threshold:
        chosen_on = threshold.get("chosen_on") or "validation"
        metric = METRIC_NAMES.get(str(threshold.get("metric")), humanize(threshold.get("metric") or "a metric"))
        note = (
            f"The decision threshold {plain(threshold.get('value'))} was chosen on the {chosen_on} split "
            f"to optimise {metric}; the metrics at the default threshold 0.5 are shown for comparison."
        )
    return {"columns": columns, "rows": rows, "note": note}


def headline_cards(evaluation: Mapping[str, Any], cost: Mapping[str, Any] | None) -> list[dict]:
    """The few headline figures at the top of the page."""
    problem_type = evaluation["problem_type"]
    metrics, baseline = evaluation["metrics"], evaluation.get("baseline") or {}
    names = {
        BINARY: ("roc_auc", "f1", "accuracy", "brier_score"),
        MULTICLASS: ("accuracy", "macro_f1"),
        REGRESSION: ("rmse", "r2", "mae"),
    }[problem_type]
    shown = []
    for name in names:
        if name not in metrics:
            continue
        base = baseline.get(name)
        detail = "" if base is None else f"baseline {_metric_text(name, base, problem_type)}"
        better = _better(name, metrics[name], base)
        tone = "" if better is None else ("good" if better else "bad")
        shown.append(
            {
                "label": METRIC_NAMES[name],
                "value": _metric_text(name, metrics[name], problem_type),
                "detail": detail,
                "tone": tone,
            }
        )
    if cost:
        shown.append(
            {"label": "Estimated cost", "value": usd(cost.get("total_usd")), "detail": "of this run", "tone": ""}
        )
    return shown


def usd(value: float | None) -> str:
    if value is None:
        return "n/a"
    if 0 < value < 0.0001:
        return "< $0.0001"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _heat(share: float) -> tuple[str, str]:
    """Background and text colour for a share in [0, 1]: white to deep blue."""
    low, high = np.array([239, 246, 255]), np.array([30, 64, 175])
    rgb = (low + (high - low) * max(0.0, min(1.0, share))).round().astype(int)
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})", ("#fff" if share > 0.5 else "#1f2937")


def confusion(evaluation: Mapping[str, Any]) -> dict | None:
    if not evaluation.get("confusion_matrix"):
        return None
    matrix = np.asarray(evaluation["confusion_matrix"]["matrix"], dtype=np.int64)
    labels = [str(label) for label in evaluation["confusion_matrix"]["labels"]]
    observed = matrix.sum(axis=1)
    rows = []
    for i, label in enumerate(labels):
        cells = []
        for j in range(len(labels)):
            share = matrix[i, j] / observed[i] if observed[i] else 0.0
            background, colour = _heat(share)
            cells.append(
                {
                    "count": f"{matrix[i, j]:,}",
                    "share": f"{share:.0%}",
                    "style": f"background:{background};color:{colour}",
                }
            )
        rows.append({"label": label, "cells": cells})
    return {"labels": labels, "rows": rows}


def per_class(evaluation: Mapping[str, Any]) -> list[dict]:
    """Multiclass: precision, recall, F1 and support of each class."""
    return [
        {
            "label": str(item["label"]),
            "cells": [_metric_text(key, item[key], MULTICLASS) for key in ("precision", "recall", "f1")],
            "support": f"{int(item['support']):,}",
        }
        for item in evaluation.get("per_class") or []
    ]


_ENCODING_KINDS = {"numeric": "Numeric", "one_hot": "Text", "dropped": "—"}


def _encoding_action(encoding: Mapping[str, Any]) -> str:
    kind = encoding.get("kind")
    if kind == "numeric":
        text = "used as a number; missing values left for XGBoost's default branch"
        coerced = encoding.get("non_numeric_as_missing")
        return text + (f"; {coerced:,} non-numeric values read as missing" if coerced else "")
    if kind == "one_hot":
        text = f"one-hot encoded into {len(encoding.get('features', [])):,} columns"
        return text + (f" ({encoding['note']})" if encoding.get("note") else "")
    if kind == "dropped":
        return f"dropped: {encoding.get('reason', 'no reason recorded')}"
    return plain(encoding)


def schema_section(schema: Mapping[str, Any]) -> dict:
    encodings = schema.get("encodings") or {}
    columns = [
        {
            "name": column,
            "kind": _ENCODING_KINDS.get(encoding.get("kind"), plain(encoding.get("kind"))),
            "missing": "—" if encoding.get("missing") is None else f"{encoding['missing']:,}",
            "action": _encoding_action(encoding),
            "dropped": encoding.get("kind") == "dropped",
        }
        for column, encoding in encodings.items()
    ]
    rows = schema.get("rows") if isinstance(schema.get("rows"), Mapping) else {}
    label = None
    if schema.get("label") is not None:
        mapping, count = schema.get("label_mapping"), schema.get("class_count")
        classes = label_names(mapping, int(count)) if mapping is not None and count else []
        label = {"name": schema["label"], "classes": ", ".join(classes)}
    skip = (
        "encodings",
        "rows",
        "label",
        "label_mapping",
        "label_stats",
        "features",
        "feature_count",
        "source_columns",
        "dropped_columns",
        "class_count",
        "problem_type",
    )
    return {
        "columns": columns,
        "rows": [(humanize(k), f"{v:,}" if isinstance(v, int) else plain(v)) for k, v in rows.items()],
        "label": label,
        "features": [str(f) if not isinstance(f, Mapping) else plain(f) for f in schema.get("features") or []],
        "facts": facts(schema, skip=skip),
    }


def run_section(run: Mapping[str, Any] | None) -> dict | None:
    if not run:
        return None
    config, hyperparameters = run.get("config"), run.get("hyperparameters")
    return {
        "facts": facts(run, skip=("config", "hyperparameters", "steps", "estimated_cost_usd")),
        "config": facts(config) if isinstance(config, Mapping) else [],
        # by name: what the training job used, configured or added by the problem type and the data
        "hyperparameters": sorted((str(k), plain(v)) for k, v in hyperparameters.items())
        if isinstance(hyperparameters, Mapping)
        else [],
    }


def _quantity(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value >= 1 else f"{value:.4g}"


def _unit_price(value: float | None) -> str:
    if value is None:
        return "not in the price table"
    return "$" + np.format_float_positional(value, trim="-")


def cost_section(cost: Mapping[str, Any] | None) -> dict | None:
    """sagedrop.pricing.estimate_run_cost's items as table rows."""
    if not cost:
        return None
    lines = [
        {
            "what": item.get("what"),
            "quantity": _quantity(float(item.get("quantity") or 0)),
            "unit": item.get("unit"),
            "unit_price": _unit_price(item.get("unit_price_usd")),
            "usd": usd(item.get("usd")),
        }
        for item in cost.get("items", [])
    ]
    return {
        "lines": lines,
        "total": usd(cost.get("total_usd")),
        "as_of": cost.get("prices_as_of"),
        "region": cost.get("region"),
        "complete": cost.get("complete", True),
    }


def timings_section(timings: Sequence[Mapping[str, Any]] | None) -> dict | None:
    """Seconds per state, visits summed (a wait loop visits its states many times), in first-visit order."""
    if not timings:
        return None
    totals: dict[str, list[float]] = {}
    for visit in timings:
        entry = totals.setdefault(str(visit.get("state")), [0.0, 0])
        entry[0] += float(visit.get("seconds") or 0.0)
        entry[1] += 1
    return {
        "rows": [{"state": n, "visits": int(v[1]), "seconds": f"{v[0]:,.1f}"} for n, v in totals.items()],
        "states": list(totals),
        "seconds": [v[0] for v in totals.values()],
        "total": f"{sum(v[0] for v in totals.values()):,.1f}",
    }
