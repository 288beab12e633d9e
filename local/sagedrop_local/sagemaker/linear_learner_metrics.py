"""The metrics the Linear Learner reports, and the decision threshold it calibrates.

Names are those of "Metrics computed by the linear learner algorithm" in the developer guide
(``<channel>:<name>``): binary ``objective_loss``, ``binary_classification_accuracy``,
``binary_f_beta``, ``precision``, ``recall``, ``roc_auc_score``; multiclass ``objective_loss``,
``multiclass_accuracy``, ``multiclass_top_k_accuracy``, ``macro_f_beta``, ``macro_precision``,
``macro_recall``, ``dcg``; regression ``objective_loss``, ``mse``, ``absolute_loss``.

Threshold: ``binary_classifier_model_selection_criteria`` chooses the decision threshold on the
calibration rows (validation, else training): the one with the best accuracy, F-beta, precision at
``target_recall`` or recall at ``target_precision``; ``loss_function`` keeps the default (0.5 for
``logistic``, 0 for the ``hinge_loss`` margin). Among equally good thresholds the one nearest the
default wins, and thresholds sit midway between neighbouring scores. A row is class 1 when its
score is *above* the threshold.
"""

from __future__ import annotations

import math

import numpy as np

from .linear_learner_hyperparameters import BINARY, MULTICLASS


def default_threshold(loss: str) -> float:
    return 0.5 if loss == "logistic" else 0.0


def calibrate(
    scores: np.ndarray,
    labels: np.ndarray,
    criterion: str,
    default: float,
    *,
    f_beta: float = 1.0,
    target_recall: float = 0.8,
    target_precision: float = 0.8,
) -> tuple[float, float]:
    """(threshold, value of the criterion there); ``loss_function`` gives (default, nan)."""
    rows = len(scores)
    if criterion == "loss_function" or rows == 0:
        return default, math.nan
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    true_positive = np.concatenate([[0.0], np.cumsum(y)])
    false_positive = np.concatenate([[0.0], np.cumsum(1.0 - y)])
    positives = true_positive[-1]
    # Cut i predicts the top i rows positive; only cuts between distinct scores can be thresholds.
    valid = np.concatenate([[True], s[:-1] > s[1:], [True]])
    thresholds = np.empty(rows + 1)
    thresholds[0] = s[0]
    thresholds[1:rows] = (s[:-1] + s[1:]) / 2.0
    thresholds[rows] = np.nextafter(s[-1], -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = (true_positive + (rows - positives) - false_positive) / rows
        predicted = true_positive + false_positive
        precision = np.where(predicted > 0, true_positive / np.maximum(predicted, 1), 0.0)
        recall = true_positive / positives if positives else np.zeros(rows + 1)
        beta2 = f_beta**2
        denominator = beta2 * precision + recall
        f_score = np.where(
            denominator > 0, (1 + beta2) * precision * recall / np.where(denominator > 0, denominator, 1), 0
        )
    if criterion == "accuracy":
        value = accuracy
    elif criterion == "f_beta":
        value = f_score
    elif criterion == "precision_at_target_recall":
        value = np.where(recall >= target_recall, precision, -np.inf)
    else:  # recall_at_target_precision
        value = np.where(precision >= target_precision, recall, -np.inf)
    value = np.where(valid, value, -np.inf)
    best = value.max()
    if not np.isfinite(best):
        return default, 0.0
    candidates = np.flatnonzero(value >= best - 1e-12)
    chosen = candidates[np.argmin(np.abs(thresholds[candidates] - default))]
    return float(thresholds[chosen]), float(best)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney with tied scores sharing their rank); nan for one class."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0
    ranks = average_rank[inverse]
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def _f(precision: float, recall: float, beta: float) -> float:
    denominator = beta**2 * precision + recall
    return (1 + beta**2) * precision * recall / denominator if denominator > 0 else 0.0


def binary_metrics(
    scores: np.ndarray, labels: np.ndarray, losses: np.ndarray, threshold: float, f_beta: float
) -> dict[str, float]:
    predicted = scores > threshold
    actual = labels == 1
    true_positive = float(np.sum(predicted & actual))
    precision = true_positive / predicted.sum() if predicted.any() else 0.0
    recall = true_positive / actual.sum() if actual.any() else 0.0
    return {
        "objective_loss": float(losses.mean()),
        "binary_classification_accuracy": float(np.mean(predicted == actual)),
        "binary_f_beta": _f(precision, recall, f_beta),
        "precision": precision,
        "recall": recall,
        "roc_auc_score": roc_auc(scores, labels),
    }


def multiclass_metrics(
    probabilities: np.ndarray, labels: np.ndarray, losses: np.ndarray, top_k: int, f_beta: float
) -> dict[str, float]:
    classes = labels.astype(int)
    predicted = probabilities.argmax(axis=1)
    # Rank of the true class among the scores, 1 = best (ties count against it).
    true_scores = probabilities[np.arange(len(classes)), classes]
    rank = 1 + np.sum(probabilities > true_scores[:, None], axis=1)
    present = np.union1d(classes, predicted)
    precisions, recalls, f_scores = [], [], []
    for label in present:
        hits = float(np.sum((predicted == label) & (classes == label)))
        precision = hits / np.sum(predicted == label) if np.any(predicted == label) else 0.0
        recall = hits / np.sum(classes == label) if np.any(classes == label) else 0.0
        precisions.append(precision)
        recalls.append(recall)
        f_scores.append(_f(precision, recall, f_beta))
    return {
        "objective_loss": float(losses.mean()),
        "multiclass_accuracy": float(np.mean(predicted == classes)),
        "multiclass_top_k_accuracy": float(np.mean(rank <= top_k)),
        "macro_f_beta": float(np.mean(f_scores)),
        "macro_precision": float(np.mean(precisions)),
        "macro_recall": float(np.mean(recalls)),
        "dcg": float(np.mean(1.0 / np.log2(1.0 + rank))),
    }


def regression_metrics(predictions: np.ndarray, labels: np.ndarray, losses: np.ndarray) -> dict[str, float]:
    errors = predictions - labels
    return {
        "objective_loss": float(losses.mean()),
        "mse": float(np.mean(errors**2)),
        "absolute_loss": float(np.mean(np.abs(errors))),
    }


def metrics_for(predictor_type: str, **kwargs) -> dict[str, float]:
    """The predictor type's metric set; undefined values (AUC on one class) are left out."""
    if predictor_type == BINARY:
        values = binary_metrics(**kwargs)
    elif predictor_type == MULTICLASS:
        values = multiclass_metrics(**kwargs)
    else:
        values = regression_metrics(**kwargs)
    return {name: float(value) for name, value in values.items() if math.isfinite(value)}
