"""Build ``runs/<run-id>/evaluation.json`` — a public contract that scripts read.

Shape (issue 2)::

    {
      "run_id": "…", "problem_type": "binary_classification", "label": "y", "rows": 6782,
      "metrics": {"accuracy": 0.91, "precision": 0.66, "recall": 0.45, "f1": 0.53, "roc_auc": 0.93,
                  "brier_score": 0.07},
      "baseline": {"accuracy": 0.88},
      "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[5800, 190], [430, 362]]}
    }

* binary: ``brier_score`` is the mean squared error of the predicted probability (lower is
  better; it does not depend on the decision threshold);
* multiclass: ``metrics`` = ``accuracy``, ``macro_f1``; ``baseline`` = ``accuracy``; an extra
  ``per_class`` list of ``{"label", "precision", "recall", "f1", "support"}`` in class order;
* regression: ``metrics`` = ``rmse``, ``mae``, ``r2``; ``baseline`` = ``rmse``;
  ``confusion_matrix`` is ``null``.

Matrix rows are observed classes, columns predicted classes; ``labels`` are the original label
values as strings. Every float is rounded to 4 decimals; a metric that is undefined for the test
rows (ROC AUC with one class, R² with constant values) or overflows is ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sagedrop.dataset.label import label_stats_from_training  # noqa: F401 - part of this module's API

from . import metrics as m
from .constants import BINARY, BINARY_THRESHOLD, DECIMALS, MULTICLASS, PROBLEM_TYPES, REGRESSION
from .curves import brier_score


def _round(value: float | None) -> float | None:
    # evaluation.json must stay valid JSON: an overflowed value is reported as null.
    return None if value is None or not np.isfinite(value) else round(float(value), DECIMALS)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _as_index(value: Any) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def label_names(label_mapping: Sequence | Mapping | None, n_classes: int) -> list[str]:
    """Original label values as strings, in encoded-class order 0..n_classes-1.

    ``label_mapping`` may be a list (``["no", "yes"]``: position = encoded class — the preferred
    form), a dict from original value to encoded class (``{"no": 0, "yes": 1}``), or a dict from
    encoded class to original value (``{"0": "no", "1": "yes"}``). ``None`` names classes by their
    encoded number.
    """
    if label_mapping is None:
        return [str(index) for index in range(n_classes)]
    if isinstance(label_mapping, Mapping):
        expected = set(range(n_classes))
        values = list(label_mapping.values())
        if all(_is_int(v) for v in values) and {int(v) for v in values} == expected:
            names = {int(index): str(original) for original, index in label_mapping.items()}
        else:
            keys = [_as_index(key) for key in label_mapping]
            if None in keys or set(keys) != expected:
                raise ValueError(f"label mapping does not cover classes 0..{n_classes - 1}: {label_mapping!r}")
            names = {index: str(original) for index, original in zip(keys, values, strict=True)}
        if len(names) != n_classes:
            raise ValueError(f"label mapping is not one-to-one: {label_mapping!r}")
        return [names[index] for index in range(n_classes)]
    names = [str(original) for original in label_mapping]
    if len(names) != n_classes:
        raise ValueError(f"label mapping has {len(names)} classes, the predictions have {n_classes}")
    return names


def _majority_class(label_stats: Mapping) -> int:
    if label_stats.get("majority_class") is not None:
        return int(label_stats["majority_class"])
    counts = label_stats.get("class_counts")
    if isinstance(counts, Mapping):
        counts = {int(k): v for k, v in counts.items()}
        return max(sorted(counts), key=lambda k: counts[k])
    if counts:
        return int(np.argmax(counts))
    raise ValueError("label_stats needs 'majority_class' or 'class_counts' for a classification baseline")


def _encoded_classes(y_true: np.ndarray, n_classes: int) -> np.ndarray:
    if len(y_true) and (not np.all(y_true == np.round(y_true)) or y_true.min() < 0 or y_true.max() >= n_classes):
        raise ValueError(f"test labels must be encoded classes 0..{n_classes - 1}")
    return y_true.astype(np.int64)


def _matrix_json(matrix: np.ndarray, labels: list[str]) -> dict:
    return {"labels": labels, "matrix": [[int(count) for count in row] for row in matrix]}


def build_evaluation(
    run_id: str,
    problem_type: str,
    label: str,
    y_true: Sequence[float] | np.ndarray,
    predictions: np.ndarray,
    label_mapping: Sequence | Mapping | None,
    label_stats: Mapping[str, Any],
    analysis: Mapping[str, Any] | None = None,
) -> dict:
    """The evaluation.json document for one run (see the module docstring for the shape).

    ``analysis``: the model analysis's ``analysis.json`` when the run had one. Its decision threshold
    (binary) is the one the deployed model applies: the metrics are computed at it, and at 0.5 under
    ``metrics_at_0_5`` for comparison; its feature importance and kept rounds are copied over.

    ``y_true`` are the test labels as written in the test split (encoded classes 0..K-1 for
    classification); ``predictions`` what :func:`~sagedrop.evaluation.parse_predictions` returned;
    ``label_stats`` what :func:`label_stats_from_training` returns for the *training* labels.
    """
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"unknown problem type {problem_type!r}")
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    predictions = np.asarray(predictions, dtype=float)
    if predictions.shape[0] != len(y_true):
        raise ValueError(f"{len(y_true)} test labels but {predictions.shape[0]} predictions")
    evaluation: dict[str, Any] = {
        "run_id": run_id,
        "problem_type": problem_type,
        "label": label,
        "rows": int(len(y_true)),
    }

    if problem_type == REGRESSION:
        scores = m.regression_metrics(y_true, predictions.reshape(-1))
        training_mean = label_stats.get("mean")
        if training_mean is None:
            raise ValueError("label_stats needs 'mean' (the training labels' mean) for a regression baseline")
        evaluation["metrics"] = {name: _round(scores[name]) for name in ("rmse", "mae", "r2")}
        evaluation["baseline"] = {"rmse": _round(m.mean_baseline_rmse(y_true, float(training_mean)))}
        evaluation["confusion_matrix"] = None
        return _with_analysis(evaluation, analysis)

    n_classes = 2 if problem_type == BINARY else int(predictions.reshape(len(y_true), -1).shape[1])
    if problem_type == MULTICLASS and label_mapping is not None and len(label_mapping) != n_classes:
        raise ValueError(f"label mapping has {len(label_mapping)} classes, the predictions have {n_classes}")
    labels = label_names(label_mapping, n_classes)
    classes = _encoded_classes(y_true, n_classes)
    baseline = {"accuracy": _round(m.majority_baseline_accuracy(classes, _majority_class(label_stats)))}

    if problem_type == BINARY:
        chosen = (analysis or {}).get("threshold") or None
        threshold = float(chosen["value"]) if chosen else BINARY_THRESHOLD
        scores = m.binary_metrics(classes, predictions.reshape(-1), threshold)
        names = ("accuracy", "precision", "recall", "f1", "roc_auc")
        evaluation["metrics"] = {name: _round(scores[name]) for name in names}
        evaluation["metrics"]["brier_score"] = _round(brier_score(classes, predictions.reshape(-1)))
        if chosen:
            evaluation["threshold"] = {key: chosen.get(key) for key in ("value", "chosen_on", "metric")}
            at_half = m.binary_metrics(classes, predictions.reshape(-1))
            evaluation["metrics_at_0_5"] = {name: _round(at_half[name]) for name in names}
        evaluation["baseline"] = baseline
        evaluation["confusion_matrix"] = _matrix_json(scores["confusion_matrix"], labels)
        return _with_analysis(evaluation, analysis)

    scores = m.multiclass_metrics(classes, predictions, n_classes)
    evaluation["metrics"] = {"accuracy": _round(scores["accuracy"]), "macro_f1": _round(scores["macro_f1"])}
    evaluation["baseline"] = baseline
    evaluation["confusion_matrix"] = _matrix_json(scores["confusion_matrix"], labels)
    per_class = scores["per_class"]
    evaluation["per_class"] = [
        {
            "label": labels[index],
            "precision": _round(per_class["precision"][index]),
            "recall": _round(per_class["recall"][index]),
            "f1": _round(per_class["f1"][index]),
            "support": int(per_class["support"][index]),
        }
        for index in range(n_classes)
    ]
    return _with_analysis(evaluation, analysis)


def _with_analysis(evaluation: dict, analysis: Mapping[str, Any] | None) -> dict:
    """The model analysis's explanations and kept rounds, when the run had an analysis."""
    if analysis:
        evaluation["feature_importance"] = list(analysis.get("feature_importance") or [])
        if analysis.get("importance_method"):
            evaluation["importance_method"] = analysis["importance_method"]
        evaluation["rounds"] = analysis.get("rounds")
    return evaluation


def headline_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """The few numbers worth a CloudWatch metric and a line in the notification.

    The model's metrics under their own names plus the baseline as ``baseline_<name>``; undefined
    metrics (``null``) are left out.
    """
    headline = {name: float(value) for name, value in evaluation["metrics"].items() if value is not None}
    headline.update(
        {f"baseline_{name}": float(value) for name, value in evaluation["baseline"].items() if value is not None}
    )
    return headline
