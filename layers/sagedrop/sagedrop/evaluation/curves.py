"""The numbers behind the report's charts, in plain numpy (the unit tests check each against
scikit-learn): precision-recall, cumulative gain and lift, calibration bins and the Brier score.

:func:`chart_data` gathers them for one run in a small JSON-serialisable dict — the curves are
thinned to a few hundred points and the scatter plots sampled — so a report can be drawn again
later (say, when the run's cost is known) without the test predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .constants import BINARY, REGRESSION
from .metrics import downsample_curve, roc_curve, threshold_counts

#: Deciles for gain and lift, ten bins for the reliability diagram.
GAIN_BINS = 10
CALIBRATION_BINS = 10
MAX_CURVE_POINTS = 200
MAX_SCATTER_POINTS = 2000
_SIGNIFICANT = 6  # digits kept in chart data: plenty for a chart, and small


def precision_recall_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every distinct threshold, as scikit-learn's ``precision_recall_curve``.

    ``(precision, recall, thresholds)``: thresholds increasing, recall decreasing, and a last point
    (precision 1, recall 0) with no threshold. Empty arrays when no test row is positive (recall is
    undefined; scikit-learn warns and sets it to 1).
    """
    positive = np.asarray(y_true) == 1
    n_pos = int(positive.sum())
    if n_pos == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    true_positives, predicted, thresholds = threshold_counts(positive, scores)
    predicted += true_positives  # false positives + true positives, in place: arrays as long as the test split
    precision = true_positives / predicted  # never 0/0: each threshold predicts at least one row
    del predicted
    precision = np.r_[precision[::-1], 1.0]
    recall = np.r_[(true_positives / n_pos)[::-1], 0.0]
    return precision, recall, thresholds[::-1]


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the precision-recall step curve, as scikit-learn's ``average_precision_score``.

    ``None`` when no test row is positive.
    """
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return _area_under_steps(precision, recall)


def _area_under_steps(precision: np.ndarray, recall: np.ndarray) -> float | None:
    if not len(precision):
        return None
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def cumulative_gain(y_true: np.ndarray, scores: np.ndarray, bins: int = GAIN_BINS) -> dict[str, list[float]] | None:
    """Share of all positives found in the top 10 %, 20 %, … of rows by score, and the lift.

    ``{"share": [0.1, …, 1.0], "gain": […], "lift": […]}`` where ``lift = gain / share`` (1.0 is a
    random ordering). Rows whose scores tie across a decile boundary count in proportion, so the
    answer does not depend on the row order. ``None`` when no test row is positive.
    """
    positive = np.asarray(y_true) == 1
    n_pos = int(positive.sum())
    if n_pos == 0:
        return None
    true_positives, rows_taken, _ = threshold_counts(positive, scores)
    rows_taken += true_positives  # in place: arrays as long as the test split
    rows_taken = np.r_[0, rows_taken]
    share = np.arange(1, bins + 1) / bins
    gain = np.interp(share * len(positive), rows_taken, np.r_[0, true_positives]) / n_pos
    return {"share": share.tolist(), "gain": gain.tolist(), "lift": (gain / share).tolist()}


def calibration_bins(
    y_true: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS
) -> dict[str, list[float]]:
    """The reliability diagram: for each non-empty bin of equal width on [0, 1], the mean predicted
    probability, the observed share of positives and the number of rows.

    The bins are scikit-learn's ``calibration_curve(strategy="uniform")`` (a probability on an edge
    goes to the lower bin); probabilities outside [0, 1] are clipped into it.
    """
    positive = (np.asarray(y_true) == 1).astype(float)
    probabilities = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    edges = np.linspace(0.0, 1.0, bins + 1)
    bin_of = np.searchsorted(edges[1:-1], probabilities)
    count = np.bincount(bin_of, minlength=bins)
    predicted_sum = np.bincount(bin_of, weights=probabilities, minlength=bins)
    positive_sum = np.bincount(bin_of, weights=positive, minlength=bins)
    seen = count > 0
    return {
        "lower": edges[:-1][seen].tolist(),
        "upper": edges[1:][seen].tolist(),
        "mean_predicted": (predicted_sum[seen] / count[seen]).tolist(),
        "observed": (positive_sum[seen] / count[seen]).tolist(),
        "count": count[seen].astype(int).tolist(),
    }


def brier_score(y_true: np.ndarray, probabilities: np.ndarray) -> float | None:
    """Mean squared difference between the predicted probability and the outcome (0 is perfect;
    always answering 0.5 scores 0.25). ``None`` without rows."""
    y_true = np.asarray(y_true, dtype=float)
    if not len(y_true):
        return None
    return float(np.mean((np.asarray(probabilities, dtype=float) - (y_true == 1)) ** 2))


def sample_rows(n: int, max_rows: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_rows`` of ``n`` rows, drawn at random once, in ascending order."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


def _rounded(values: Sequence[float] | np.ndarray) -> list[float]:
    return [float(f"{float(v):.{_SIGNIFICANT}g}") for v in values]


def _binary_chart_data(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    data: dict[str, Any] = {"positive_rate": float(np.mean(y_true == 1)) if len(y_true) else None}
    fpr, tpr = roc_curve(y_true, probabilities)
    if len(fpr):
        fpr, tpr = downsample_curve(fpr, tpr, MAX_CURVE_POINTS)
        data["roc"] = {"fpr": _rounded(fpr), "tpr": _rounded(tpr)}
    precision, recall, _ = precision_recall_curve(y_true, probabilities)
    if len(precision):
        data["average_precision"] = _area_under_steps(precision, recall)  # the curve in hand, not computed again
        recall, precision = downsample_curve(recall, precision, MAX_CURVE_POINTS)
        data["precision_recall"] = {"recall": _rounded(recall), "precision": _rounded(precision)}
    gain = cumulative_gain(y_true, probabilities)
    if gain is not None:
        data["gain"] = {key: _rounded(values) for key, values in gain.items()}
    if len(y_true):
        calibration = calibration_bins(y_true, probabilities)
        data["calibration"] = {
            key: values if key == "count" else _rounded(values) for key, values in calibration.items()
        }
        data["brier_score"] = brier_score(y_true, probabilities)
    return data


def chart_data(problem_type: str, y_true: Sequence[float] | np.ndarray, predictions: Any) -> dict[str, Any]:
    """What the report draws from the test labels and predictions, JSON-serialisable and small.

    Binary: ROC and precision-recall curves (at most 200 points each), average precision, the
    positive rate, cumulative gain and lift by decile, the calibration bins and the Brier score.
    Regression: a random sample of at most 2,000 (actual, predicted) pairs and the number of rows
    it was drawn from. Multiclass: nothing —
    its charts come from evaluation.json's per-class scores.
    """
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    if problem_type == BINARY:
        return _binary_chart_data(y_true, np.asarray(predictions, dtype=float).reshape(-1))
    if problem_type == REGRESSION:
        predicted = np.asarray(predictions, dtype=float).reshape(-1)
        keep = sample_rows(len(y_true), MAX_SCATTER_POINTS)
        finite = np.isfinite(y_true[keep]) & np.isfinite(predicted[keep])
        keep = keep[finite]
        return {
            "scatter": {"actual": _rounded(y_true[keep]), "predicted": _rounded(predicted[keep]), "rows": len(y_true)}
        }
    return {}
