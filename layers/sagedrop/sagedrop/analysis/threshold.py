"""Choosing a binary model's decision threshold on held-out rows.

A row is predicted class 1 when its probability is *above* the threshold (the decoder's rule).
The candidates are the distinct probabilities themselves (predicting class 1 above each of them)
and 0 (everything positive): between two adjacent probabilities every threshold predicts the same
rows, so no other value can score better. Rules:

* ``f1`` — the F1 score of class 1, maximised;
* ``balanced_accuracy`` — the mean of the true positive and true negative rates, maximised;
* ``cost`` — ``false_positive × FP + false_negative × FN``, minimised (a cost matrix).

Ties go to the candidate nearest 0.5, so a flat score keeps the usual threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F1 = "f1"
BALANCED_ACCURACY = "balanced_accuracy"
COST = "cost"
RULES = (F1, BALANCED_ACCURACY, COST)
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ThresholdRule:
    """What to optimise; ``false_positive``/``false_negative`` are the costs of the ``cost`` rule."""

    metric: str = F1
    false_positive: float = 1.0
    false_negative: float = 1.0

    def __post_init__(self) -> None:
        if self.metric not in RULES:
            raise ValueError(f"unknown threshold metric {self.metric!r}; one of {', '.join(RULES)}")
        if min(self.false_positive, self.false_negative) < 0:
            raise ValueError("costs must not be negative")


@dataclass(frozen=True)
class ThresholdChoice:
    value: float
    metric: str
    score: float  #: the rule's value at ``value`` on the rows it was chosen on
    score_at_default: float  #: ... and at 0.5, for comparison


def candidate_counts(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(thresholds, true_positives, false_positives)``: class 1 predicted when ``score > threshold``.

    Thresholds decreasing: every distinct score, then 0 when no score is 0 (all rows positive).
    """
    positive = np.asarray(y_true).reshape(-1) == 1
    scores = np.asarray(scores, dtype=float).reshape(-1)
    distinct = np.unique(scores)[::-1]  # decreasing
    if len(distinct) == 0 or distinct[-1] > 0:
        distinct = np.r_[distinct, 0.0]
    order = np.sort(scores)
    above = len(scores) - np.searchsorted(order, distinct, side="right")  # rows with score > t
    positive_scores = np.sort(scores[positive])
    true_positives = len(positive_scores) - np.searchsorted(positive_scores, distinct, side="right")
    return distinct, true_positives.astype(float), (above - true_positives).astype(float)


def rule_values(rule: ThresholdRule, tp: np.ndarray, fp: np.ndarray, positives: int, negatives: int) -> np.ndarray:
    """The rule's value at each candidate (higher is better: a cost is negated)."""
    fn = positives - tp
    tn = negatives - fp
    if rule.metric == F1:
        denominator = 2 * tp + fp + fn
        return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    if rule.metric == BALANCED_ACCURACY:
        tpr = tp / positives if positives else np.zeros_like(tp)
        tnr = tn / negatives if negatives else np.zeros_like(tp)
        return (tpr + tnr) / 2
    return -(rule.false_positive * fp + rule.false_negative * fn)


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, rule: ThresholdRule) -> ThresholdChoice:
    """The threshold that optimises ``rule`` on these rows (labels 0/1, scores = P(class 1))."""
    y_true = np.asarray(y_true).reshape(-1)
    scores = np.asarray(scores, dtype=float).reshape(-1)
    if len(y_true) != len(scores):
        raise ValueError(f"{len(y_true)} labels but {len(scores)} scores")
    if len(y_true) == 0:
        raise ValueError("no rows to choose a threshold on")
    positives = int((y_true == 1).sum())
    negatives = len(y_true) - positives
    thresholds, tp, fp = candidate_counts(y_true, scores)
    values = rule_values(rule, tp, fp, positives, negatives)
    best = values.max()
    tied = np.flatnonzero(np.isclose(values, best, rtol=0, atol=1e-12))
    chosen = tied[np.argmin(np.abs(thresholds[tied] - DEFAULT_THRESHOLD))]
    default_tp = float(((scores > DEFAULT_THRESHOLD) & (y_true == 1)).sum())
    default_fp = float(((scores > DEFAULT_THRESHOLD) & (y_true != 1)).sum())
    at_default = rule_values(rule, np.array([default_tp]), np.array([default_fp]), positives, negatives)[0]
    sign = -1.0 if rule.metric == COST else 1.0
    return ThresholdChoice(
        value=float(thresholds[chosen]),
        metric=rule.metric,
        score=float(sign * values[chosen]),
        score_at_default=float(sign * at_default),
    )
