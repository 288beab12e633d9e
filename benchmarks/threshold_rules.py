"""Rules for choosing a binary decision threshold on the validation split, for benchmarks/defaults_sweep.py.

``f1@thr`` is the pipeline's own (sagedrop.analysis.threshold: the best F1 over every candidate);
the others are candidates for choosing it more robustly, measured beside it. Each takes the
validation labels (0/1) and scores and returns a threshold: class 1 *above* it, as the pipeline decides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sagedrop.analysis.threshold import F1, ThresholdRule, candidate_counts, choose_threshold, rule_values

F1_RULE = ThresholdRule(F1)


def pipeline_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The threshold the pipeline's analysis chooses (F1 of class 1, class 1 above it)."""
    return choose_threshold(y, scores, F1_RULE).value


def bagged_threshold(y: np.ndarray, scores: np.ndarray, rounds: int = 100) -> float:
    """Candidate rule: the median of the pipeline's choice over bootstrap resamples of the rows."""
    rng = np.random.default_rng(0)
    picks = [rng.integers(0, len(y), len(y)) for _ in range(rounds)]
    return float(np.median([pipeline_threshold(y[rows], scores[rows]) for rows in picks]))


def smoothed_threshold(y: np.ndarray, scores: np.ndarray, window: float = 0.02) -> float:
    """Candidate rule: the best F1 after averaging it over neighbouring candidates (``window`` of them)."""
    thresholds, tp, fp = candidate_counts(y, scores)
    positives = int((y == 1).sum())
    f1 = rule_values(F1_RULE, tp, fp, positives, len(y) - positives)
    width = max(1, int(len(f1) * window))
    return float(thresholds[int(np.argmax(np.convolve(f1, np.ones(width) / width, mode="same")))])


def oracle_f1(y: np.ndarray, scores: np.ndarray) -> float:
    """The F1 of the best threshold on these rows themselves: what no rule can beat."""
    return choose_threshold(y, scores, F1_RULE).score


#: column → the rule that chooses the threshold on the validation split
THRESHOLD_RULES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "f1@thr": pipeline_threshold,
    "f1@bag": bagged_threshold,
    "f1@smooth": smoothed_threshold,
}
