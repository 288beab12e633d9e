"""Classification and regression metrics in plain numpy.

scikit-learn and scipy would not fit in the Lambda package next to pandas, so the few metrics the
evaluation needs are written out here; the unit tests compare every one with scikit-learn.

Conventions (the same as scikit-learn with ``zero_division=0``):

* precision is 0 when nothing was predicted positive, recall is 0 when the class never occurs,
  F1 is 0 when both are 0 — no warning, no NaN;
* ROC AUC is ``None`` when the test rows hold a single class (it is undefined);
* R² is ``None`` when the observed values are all equal (undefined; scikit-learn reports 0.0 or
  1.0 there);
* a binary prediction is class 1 when its probability is above 0.5.
"""

from __future__ import annotations

import numpy as np

from .constants import BINARY_THRESHOLD


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with rows = observed class, columns = predicted class (classes 0..n_classes-1)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]] if len(values) else np.array([], bool)
    group = np.cumsum(starts_group) - 1
    sizes = np.bincount(group) if len(values) else np.array([], int)
    last_rank = np.cumsum(sizes)
    mean_rank = last_rank - (sizes - 1) / 2.0
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = mean_rank[group]
    return ranks


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula; ``None`` if one class.

    The positives' rank sum is taken group by group of tied scores (each at its mean rank) from the
    sorted scores, without an array of every row's rank: about 20 bytes a row at its peak instead of
    65, which matters to the evaluation Lambda at millions of test rows. Ranks and their sums are
    whole or half numbers far below 2**53, so the sum is exact and the area is what
    :func:`average_ranks` gives.
    """
    positive = np.asarray(y_true) == 1
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores, kind="mergesort")
    positives = np.flatnonzero(positive[order])  # sorted positions of the positive rows
    ordered = scores[order]
    del order
    # -1, the last position of each group of equal scores, the last position
    bounds = np.concatenate(([-1], np.flatnonzero(ordered[1:] != ordered[:-1]), [len(positive) - 1]))
    del ordered
    group = np.searchsorted(bounds, positives)  # each positive's group (1-based): bounds[g-1] < p <= bounds[g]
    # mean rank of a group = (first + last) / 2 + 1 (ranks are 1-based)
    rank_sum = (int((bounds[group - 1] + 1).sum()) + int(bounds[group].sum())) / 2.0 + n_pos
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def threshold_counts(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives when predicting positive at or above each distinct score.

    ``(true_positives, false_positives, thresholds)`` with thresholds in decreasing order — the
    counts every threshold curve (ROC, precision-recall, gain) is drawn from. Temporaries are
    dropped as soon as they are used: the evaluation runs this on millions of test rows.
    """
    y_true = np.asarray(y_true) == 1
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="mergesort")
    ordered_true = y_true[order]
    ordered_scores = scores[order]
    del order
    # A curve only moves at the last row of each run of equal scores.
    if len(scores):
        last_of_run = np.append(np.flatnonzero(ordered_scores[1:] != ordered_scores[:-1]), len(scores) - 1)
    else:
        last_of_run = np.empty(0, np.int64)
    thresholds = ordered_scores[last_of_run]
    del ordered_scores
    true_positives = np.cumsum(ordered_true)[last_of_run]
    false_positives = last_of_run + 1 - true_positives  # rows taken minus the positives among them
    return true_positives, false_positives, thresholds


def roc_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1).

    Empty arrays when the test rows hold a single class (the curve is undefined).
    """
    positive = np.asarray(y_true) == 1
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.empty(0), np.empty(0)
    true_positives, false_positives, _ = threshold_counts(positive, scores)
    fpr = np.r_[0.0, false_positives / n_neg]
    del false_positives  # one curve-long array at a time: the test split may have millions of rows
    return fpr, np.r_[0.0, true_positives / n_pos]


def downsample_curve(x: np.ndarray, y: np.ndarray, max_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` evenly spaced points of a curve, keeping both ends."""
    if len(x) <= max_points:
        return np.asarray(x), np.asarray(y)
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return np.asarray(x)[keep], np.asarray(y)[keep]


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support from a confusion matrix."""
    true_positives = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    return {
        "precision": _safe_divide(true_positives, predicted),
        "recall": _safe_divide(true_positives, support),
        "f1": _safe_divide(2 * true_positives, predicted + support),
        "support": support,
        "predicted": predicted,
    }


def binary_metrics(y_true: np.ndarray, probabilities: np.ndarray, threshold: float = BINARY_THRESHOLD) -> dict:
    """accuracy, precision, recall, f1, roc_auc and the 2×2 confusion matrix (class 1 positive above ``threshold``)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=float)
    y_pred = (probabilities > threshold).astype(np.int64)
    matrix = confusion_matrix(y_true, y_pred, 2)
    (tn, fp), (fn, tp) = matrix
    rows = len(y_true)
    return {
        "accuracy": float((tp + tn) / rows) if rows else 0.0,
        "precision": float(_safe_divide(tp, tp + fp)),
        "recall": float(_safe_divide(tp, tp + fn)),
        "f1": float(_safe_divide(2 * tp, 2 * tp + fp + fn)),
        "roc_auc": roc_auc(y_true, probabilities),
        "confusion_matrix": matrix,
    }


def multiclass_metrics(y_true: np.ndarray, probabilities: np.ndarray, n_classes: int) -> dict:
    """accuracy, macro F1, per-class scores and the K×K confusion matrix.

    The prediction is the class with the highest probability (the first one on a tie, as
    ``numpy.argmax`` and the container's ``predicted_label``). Macro F1 averages over the classes
    that occur in the test rows or in the predictions — scikit-learn's default — so a class absent
    from both does not pull the average down.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=float).reshape(len(y_true), n_classes)
    y_pred = probabilities.argmax(axis=1) if len(y_true) else np.empty(0, np.int64)
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    scores = per_class_scores(matrix)
    seen = (scores["support"] + scores["predicted"]) > 0
    rows = len(y_true)
    return {
        "accuracy": float(np.trace(matrix) / rows) if rows else 0.0,
        "macro_f1": float(scores["f1"][seen].mean()) if seen.any() else 0.0,
        "per_class": scores,
        "confusion_matrix": matrix,
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """RMSE, MAE and R² (``None`` when every observed value is the same, or it overflows)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if not len(y_true):
        return {"rmse": 0.0, "mae": 0.0, "r2": None}
    with np.errstate(over="ignore", invalid="ignore"):
        residuals = y_true - y_pred
        total = float(((y_true - y_true.mean()) ** 2).sum())
        squared = float((residuals**2).sum())
        # ptp as well as total: the mean of equal floats can differ from them in the last bit.
        r2 = 1.0 - squared / total if np.ptp(y_true) > 0 and total > 0 else None
        return {
            "rmse": float(np.sqrt(squared / len(y_true))),
            "mae": float(np.mean(np.abs(residuals))),
            "r2": r2 if r2 is not None and np.isfinite(r2) else None,
        }


def majority_baseline_accuracy(y_true: np.ndarray, majority_class: int) -> float:
    """Accuracy of always answering the training set's most frequent class."""
    y_true = np.asarray(y_true)
    return float(np.mean(y_true == majority_class)) if len(y_true) else 0.0


def mean_baseline_rmse(y_true: np.ndarray, training_mean: float) -> float:
    """RMSE of always answering the training set's mean."""
    y_true = np.asarray(y_true, dtype=float)
    if not len(y_true):
        return 0.0
    with np.errstate(over="ignore"):
        return float(np.sqrt(np.mean((y_true - training_mean) ** 2)))
