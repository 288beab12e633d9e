"""Permutation importance by uploaded column, measured through the deployed model.

For a model the analysis job cannot open (Linear Learner's is an MXNet model: no TreeSHAP), the
importance of a column is how much the model's score on a sample of the test rows drops when that
column's values are shuffled among the rows (Breiman's permutation importance). It goes through the
endpoint with raw rows, so it needs nothing of the model but its answers, and it is by the columns
a caller sends. Score: ROC AUC (binary), accuracy (multiclass), R² (regression).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from . import metrics as m
from .constants import BINARY, MULTICLASS

#: ``scores of every row`` for a raw CSV with a header, as ``sagedrop.predicting.predict_raw_csv`` gives them.
Predict = Callable[[bytes], np.ndarray]


def read_raw_sample(data: bytes, delimiter: str, rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A seeded sample of at most ``rows`` rows of a raw CSV, as text exactly as written; and their positions."""
    frame = pd.read_csv(io.BytesIO(data), sep=delimiter, dtype=str, keep_default_na=False, na_filter=False)
    picked = np.sort(np.random.default_rng(seed).permutation(len(frame))[:rows])
    return frame.iloc[picked].reset_index(drop=True), picked


def _score(problem_type: str, y: np.ndarray, scores: np.ndarray) -> float:
    if problem_type == BINARY:
        return float(m.roc_auc(y, scores.reshape(-1)) or 0.0)
    if problem_type == MULTICLASS:
        return float(np.mean(scores.reshape(len(y), -1).argmax(axis=1) == y))
    return float(m.regression_metrics(y, scores.reshape(-1))["r2"] or 0.0)


def permutation_importance(
    frame: pd.DataFrame,
    y_true: Sequence[float] | np.ndarray,
    predict: Predict,
    problem_type: str,
    *,
    delimiter: str = ",",
    seed: int = 0,
) -> list[dict]:
    """``[{"column", "importance"}, …]`` (the score's drop, never below 0), largest first."""
    y = np.asarray(y_true, dtype=float)

    def score(rows: pd.DataFrame) -> float:
        return _score(problem_type, y, predict(rows.to_csv(sep=delimiter, index=False).encode("utf-8")))

    base = score(frame)
    rng = np.random.default_rng(seed)
    drops = {}
    for column in frame.columns:
        shuffled = frame.copy()
        shuffled[column] = frame[column].to_numpy()[rng.permutation(len(frame))]
        drops[str(column)] = max(0.0, base - score(shuffled))
    ranked = sorted(drops.items(), key=lambda item: (-item[1], item[0]))
    return [{"column": column, "importance": round(drop, 4)} for column, drop in ranked]
