"""Feature importance by the uploaded column: encoded features summed back to their source column.

The model sees encoded features (a number column keeps one feature, a category column becomes one
indicator per category); a person thinks in the columns of the file. The importance of a column is
the mean absolute contribution of its features, summed, over the rows explained — TreeSHAP
contributions from XGBoost's ``pred_contribs`` — as a share of all columns' total (the shares add
up to 1). Multiclass contributions (one set per class) are averaged over the classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def feature_columns(encodings: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Encoded feature name → source column, from schema.json's ``encodings``."""
    owner = {}
    for column, encoding in encodings.items():
        for feature in encoding.get("features") or []:
            owner[feature] = column
    return owner


def importance_by_column(
    contributions: np.ndarray, features: Sequence[str], owner: Mapping[str, str]
) -> list[dict[str, Any]]:
    """``[{"column", "importance"}, …]`` sorted by importance (largest first, then by name).

    ``contributions``: ``(rows, features + 1)`` or, multiclass, ``(rows, classes, features + 1)``;
    the last entry of each row is the bias, which belongs to no column.
    """
    values = np.abs(np.asarray(contributions, dtype=float))
    # Sums, not means: the shares are the same, and a mean of tiny contributions can underflow to 0.
    if values.ndim == 3:
        values = values.sum(axis=1)
    if values.ndim != 2 or values.shape[1] != len(features) + 1:
        raise ValueError(f"contributions of shape {values.shape} do not fit {len(features)} features")
    per_feature = values[:, :-1].sum(axis=0)
    totals: dict[str, float] = {}
    for feature, value in zip(features, per_feature, strict=True):
        column = owner.get(feature)
        if column is None:
            raise ValueError(f"feature {feature!r} belongs to no source column")
        totals[column] = totals.get(column, 0.0) + float(value)
    grand = sum(totals.values())
    shares = {column: (value / grand if grand > 0 else 0.0) for column, value in totals.items()}
    ranked = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    return [{"column": column, "importance": round(share, 4)} for column, share in ranked]
