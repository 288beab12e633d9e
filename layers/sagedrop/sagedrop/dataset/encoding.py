"""Feature encodings: learned once from the uploaded data, saved in schema.json, re-applicable.

- numeric columns pass through; a missing value stays missing (an empty CSV field, which XGBoost
  reads as "missing" and routes down each tree's learned default branch) — unless the encoding
  carries a ``fill`` value (:func:`with_fill_values`, for an algorithm that cannot read a missing
  value), which then stands in for it, in the training splits and in every request alike;
- text columns are one-hot encoded like ``pd.get_dummies`` in the AWS tutorial: one 0/1 feature per
  category, named ``<column>_<category>``, categories sorted; a missing or unseen value is all zeros;
- a text column with more than ``MAX_CATEGORIES`` categories keeps the ``MAX_CATEGORIES`` most
  frequent ones (the rest are all zeros), unless nearly every value is different (an identifier or
  free text), in which case it is dropped;
- all-missing and constant columns are dropped. Every drop is recorded with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

MAX_CATEGORIES = 100
# A text column with more than MAX_CATEGORIES categories and at least this share of distinct values
# among its non-missing values is an identifier or free text: nothing to learn from it.
IDENTIFIER_SHARE = 0.9

NUMERIC = "numeric"
ONE_HOT = "one_hot"
DROPPED = "dropped"


def learn_encodings(
    frame: pd.DataFrame,
    columns: Iterable[str],
    coerced: Mapping[str, int] | None = None,
    reserved: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """One encoding per source column, in column order; ``reserved`` names no feature may take."""
    coerced = coerced or {}
    used = set(reserved)
    encodings: dict[str, dict[str, Any]] = {}
    for column in columns:
        series = frame[column]
        missing = int(series.isna().sum())
        present = len(series) - missing
        if present == 0:
            encodings[column] = {"kind": DROPPED, "reason": "all values are missing"}
            continue
        if pd.api.types.is_numeric_dtype(series.dtype):
            if missing == 0 and series.nunique() == 1:
                encodings[column] = {"kind": DROPPED, "reason": f"constant ({_plain(series.iloc[0])!r})"}
                continue
            encoding = {"kind": NUMERIC, "features": [_unique_name(column, used)], "missing": missing}
            if coerced.get(column):
                encoding["non_numeric_as_missing"] = int(coerced[column])
            encodings[column] = encoding
            continue
        counts = series.value_counts(dropna=True)
        encodings[column] = text_encoding(column, counts, len(counts), present, missing, used)
    return encodings


def text_encoding(
    column: str, counts: pd.Series, distinct: int, present: int, missing: int, used: set[str]
) -> dict[str, Any]:
    """A text column's encoding: dropped (constant, or identifier-like), else one-hot of its categories.

    ``counts``: the non-missing values and their counts, for the whole file (the streaming path may
    have pruned rare values, hence ``distinct`` apart); beyond MAX_CATEGORIES the most frequent are kept
    and the ``present`` rows of the other values are encoded as all zeros.
    """
    if distinct == 1 and missing == 0:
        return {"kind": DROPPED, "reason": f"constant ({counts.index[0]!r})"}
    other = 0
    if distinct > MAX_CATEGORIES:
        if distinct >= IDENTIFIER_SHARE * present:
            return {
                "kind": DROPPED,
                "reason": f"{distinct} distinct values in {present} rows: an identifier or free text",
            }
        # Most frequent first; ties in a fixed (sorted) order so the choice is reproducible.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
        kept = ranked[:MAX_CATEGORIES]
        other = int(present - sum(count for _, count in kept))
        categories = sorted(str(value) for value, _ in kept)
    else:
        categories = sorted(str(value) for value in counts.index)
    encoding = {
        "kind": ONE_HOT,
        "categories": categories,
        "features": [_unique_name(f"{column}_{category}", used) for category in categories],
        "missing": missing,
    }
    if other:
        encoding["other_values"] = other
        encoding["note"] = (
            f"{distinct} categories; kept the {MAX_CATEGORIES} most frequent, "
            f"the other {other} values are encoded as all zeros"
        )
    return encoding


def with_fill_values(
    encodings: Mapping[str, Mapping[str, Any]], training_features: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """``encodings`` with a ``fill`` on every numeric column: its mean over ``training_features``.

    The mean of the training rows only, so the validation and test rows do not leak into it; a
    column with no value among them fills 0.
    """
    filled: dict[str, dict[str, Any]] = {}
    for column, encoding in encodings.items():
        filled[column] = dict(encoding)
        if encoding["kind"] == NUMERIC:
            values = pd.to_numeric(training_features[encoding["features"][0]], errors="coerce").to_numpy(float)
            present = values[np.isfinite(values)]
            filled[column]["fill"] = float(present.mean()) if present.size else 0.0
    return filled


def feature_names(encodings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [name for encoding in encodings.values() for name in encoding.get("features", [])]


def apply_encodings(frame: pd.DataFrame, encodings: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The numeric feature frame for ``frame`` (raw or as read by read_table), in schema order.

    Numeric features are int64 or float64 (NaN = missing); one-hot features are uint8.
    """
    columns: dict[str, Any] = {}
    n = len(frame)
    for column, encoding in encodings.items():
        kind = encoding["kind"]
        if kind == DROPPED:
            continue
        series = frame[column]
        if kind == NUMERIC:
            if not pd.api.types.is_numeric_dtype(series.dtype):
                series = pd.to_numeric(series, errors="coerce")
            values = series.to_numpy()
            if values.dtype.kind == "f":
                values = np.where(np.isfinite(values), values, encoding.get("fill", np.nan))
            columns[encoding["features"][0]] = values
        elif kind == ONE_HOT:
            categories = encoding["categories"]
            values = series.to_numpy(dtype=object)
            if not pd.api.types.is_object_dtype(series.dtype) and not pd.api.types.is_string_dtype(series.dtype):
                values = np.array([None if pd.isna(v) else str(_plain(v)) for v in values], dtype=object)
            codes = pd.Categorical(values, categories=categories).codes
            matrix = np.zeros((n, len(categories)), dtype=np.uint8)
            rows = np.flatnonzero(codes >= 0)
            matrix[rows, codes[rows]] = 1
            for position, name in enumerate(encoding["features"]):
                columns[name] = matrix[:, position]
        else:
            raise ValueError(f"unknown encoding kind {kind!r} for column {column!r}")
    return pd.DataFrame(columns, index=frame.index)


def _unique_name(name: str, used: set[str]) -> str:
    candidate, suffix = name, 2
    while candidate in used:
        candidate, suffix = f"{name}~{suffix}", suffix + 1
    used.add(candidate)
    return candidate


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
