"""Which column is the label, what kind of problem it poses, and how it is encoded for XGBoost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.errors import LabelNotFoundError, UnusableLabelError

BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"

LABEL_NAMES = ("y", "label", "target", "class")
MAX_CLASSES = 50
# Whole-number labels with at most this many distinct values are classes; more are a quantity.
MAX_INTEGER_CLASSES = 10


def resolve_label(columns: Sequence[str], configured: str | None) -> str:
    """The configured label; else a column named y/label/target/class (any case); else the last column."""
    columns = [str(column) for column in columns]
    if configured is not None:
        if configured in columns:
            return configured
        folded = [column for column in columns if column.casefold() == configured.casefold()]
        hint = f" (did you mean {folded[0]!r}?)" if folded else ""
        raise LabelNotFoundError(
            f"label column {configured!r} is not in the CSV{hint}; columns: {', '.join(map(repr, columns))}"
        )
    by_name = {column.strip().casefold(): column for column in reversed(columns)}
    for name in LABEL_NAMES:
        if name in by_name:
            return by_name[name]
    return columns[-1]


def infer_problem_type(label_series: pd.Series, configured: str | None) -> str:
    """binary (2 values), multiclass (text, or ≤ 10 whole numbers), else regression; checks ``configured``.

    Missing values are ignored here (the caller drops those rows).
    """
    name = label_series.name
    present = label_series.dropna()
    if present.empty:
        raise UnusableLabelError(f"label column {name!r} has no values")
    numeric = pd.api.types.is_numeric_dtype(present.dtype)
    distinct = present.nunique()
    if distinct < 2:
        raise UnusableLabelError(
            f"label column {name!r} has one value only ({present.iloc[0]!r}); there is nothing to learn"
        )
    if configured is not None:
        if configured == BINARY and distinct != 2:
            raise UnusableLabelError(
                f"problem_type is binary_classification but label column {name!r} has {distinct} distinct values"
            )
        if configured == MULTICLASS and distinct > MAX_CLASSES:
            raise UnusableLabelError(
                f"label column {name!r} has {distinct} distinct values; multiclass_classification supports "
                f"at most {MAX_CLASSES}"
            )
        if configured == REGRESSION and not numeric:
            example = next((value for value in present if not _is_number(value)), present.iloc[0])
            raise UnusableLabelError(
                f"problem_type is regression but label column {name!r} is not numeric (e.g. {example!r})"
            )
        return configured
    if distinct == 2:
        return BINARY
    if not numeric:
        if distinct > MAX_CLASSES:
            raise UnusableLabelError(
                f"label column {name!r} holds text with {distinct} distinct values, more than the "
                f"{MAX_CLASSES} classes sagedrop supports; choose another label or clean this one"
            )
        return MULTICLASS
    values = present.to_numpy(dtype=float)
    if distinct <= MAX_INTEGER_CLASSES and np.all(values == np.round(values)):
        return MULTICLASS
    return REGRESSION


def encode_label(label_series: pd.Series, problem_type: str) -> tuple[np.ndarray, list[Any] | None]:
    """Classification: codes 0..K-1 in sorted order of the original values, and that list.

    Regression: the values as floats and None. Missing labels must have been dropped already.
    """
    if problem_type == REGRESSION:
        return label_series.to_numpy(dtype=float), None
    categories = sorted(pd.unique(label_series.to_numpy()), key=_sort_key)
    codes = pd.Categorical(label_series.to_numpy(), categories=categories).codes.astype(np.int64)
    return codes, [_plain(value) for value in categories]


def _sort_key(value: Any) -> tuple[int, Any]:
    # Numbers sort numerically, text alphabetically; a (rare) mix puts numbers first.
    if isinstance(value, int | float | np.integer | np.floating):
        return (0, float(value))
    return (1, str(value))


def _plain(value: Any) -> Any:
    """A JSON-friendly original value: 1.0 -> 1, numpy scalars -> Python."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def label_stats_from_training(problem_type: str, y_train: Sequence[float] | np.ndarray, class_count: int = 0) -> dict:
    """What the baselines need from the training labels, JSON-serialisable.

    Classification: ``{"majority_class": <encoded class>, "class_counts": [n0, n1, …]}`` (the first
    class wins a tie; ``class_count`` pads the counts of classes absent from training with zeros);
    regression: ``{"mean": <training mean>}``.
    """
    y_train = np.asarray(y_train, dtype=float)
    if problem_type == REGRESSION:
        return {"mean": float(y_train.mean())}
    return label_stats_from_counts(np.bincount(y_train.astype(np.int64), minlength=class_count))


def label_stats_from_counts(class_counts: Sequence[int] | np.ndarray) -> dict:
    """:func:`label_stats_from_training` of a classification, from the training rows' count of each class."""
    counts = np.asarray(class_counts, dtype=np.int64)
    return {"majority_class": int(counts.argmax()), "class_counts": [int(c) for c in counts]}
