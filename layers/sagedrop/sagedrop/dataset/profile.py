"""The data report (``runs/<run-id>/data_report.json``): what the upload holds and what preprocessing made of it.

Values in, values out (numpy and pandas only: this runs in the preprocessing Lambda). Per column:
its type as the data shows it, missing share, distinct values, what preprocessing did (read from the
encodings, never decided again here) and a few summary figures; duplicate rows; the label's balance;
and the leakage checks of :mod:`sagedrop.dataset.leakage` with the gate's verdict. Counts are exact
(hashing, linear in the rows); the single-column scores use at most ``DATA_REPORT_SAMPLE_ROWS``
training rows, and the report says so when it sampled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.dataset import leakage
from sagedrop.dataset.encoding import DROPPED, NUMERIC, ONE_HOT
from sagedrop.dataset.label import REGRESSION
from sagedrop.limits import DATA_REPORT_SAMPLE_ROWS

REPORT_VERSION = 1
TOP_VALUES = 5
SHARE_DECIMALS = 4
# A text column whose values average at least this many words is free text rather than an identifier.
FREE_TEXT_WORDS = 3
FREE_TEXT_SAMPLE = 1_000  # values whose words are counted

# Column types as the report names them.
NUMERIC_TYPE = "numeric"
BINARY_TYPE = "binary"
CATEGORICAL_TYPE = "categorical"
TEXT_TYPE = "text"
IDENTIFIER_TYPE = "identifier"
CONSTANT_TYPE = "constant"
EMPTY_TYPE = "empty"


def build_data_report(
    frame: pd.DataFrame,
    label: str,
    encodings: Mapping[str, Mapping[str, Any]],
    y: np.ndarray,
    problem_type: str,
    label_mapping: Sequence[Any] | None,
    *,
    source: str = "",
    input_rows: int,
    train_rows: np.ndarray,
    acknowledged: Iterable[str] = (),
    enabled: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """The data report of one upload.

    ``frame`` holds the rows that have a label (as read, every column); ``y`` their encoded label;
    ``input_rows`` the upload's data rows before those without a label were dropped; ``train_rows``
    the positions (into ``frame``) of the training split; ``acknowledged`` and ``enabled`` the
    configuration's ``data_checks``. ``checks.findings`` lists what the leakage checks found, each
    with its ``status``; ``checks.passed`` is False when one of them stops the run.
    """
    rows = len(frame)
    train_rows = np.asarray(train_rows, dtype=np.int64)
    sample = train_rows
    if len(train_rows) > DATA_REPORT_SAMPLE_ROWS:
        sample = np.sort(np.random.default_rng(seed).choice(train_rows, DATA_REPORT_SAMPLE_ROWS, replace=False))
    # One hashing pass per column gives its missing values, distinct values, counts and row codes.
    facts = {column: _facts(frame[column]) for column in frame.columns}
    identifiers = {}
    for column, fact in facts.items():
        if column != label:
            evidence = leakage.identifier_evidence(column, rows - fact.missing, len(fact.uniques), fact.numbers)
            if evidence is not None:
                identifiers[column] = evidence
    associations, findings = leakage.find_leakage(frame, encodings, y, problem_type, sample, seed, identifiers)
    acknowledged = list(dict.fromkeys(acknowledged))
    judged = leakage.judge(findings, acknowledged, enabled)

    columns = []
    for column, fact in facts.items():
        if column == label:
            columns.append(_label_column(column, fact, input_rows))
            continue
        entry = _column(column, fact, rows, encodings[column], column in identifiers)
        if column in associations:
            entry["label_association"] = associations[column]
        columns.append(entry)

    duplicates = 0
    if rows:
        codes = pd.DataFrame({str(position): fact.codes for position, fact in enumerate(facts.values())})
        duplicates = int(pd.util.hash_pandas_object(codes, index=False).duplicated().sum())
    return {
        "report_version": REPORT_VERSION,
        "source": source,
        "label": label,
        "problem_type": problem_type,
        "rows": {"input": int(input_rows), "kept": rows, "dropped_missing_label": int(input_rows - rows)},
        "duplicates": {"rows": duplicates, "share": _share(duplicates, rows)},
        "label_balance": _label_balance(y, problem_type, label_mapping),
        "columns": columns,
        "checks": {
            "enabled": bool(enabled),
            "passed": all(finding["status"] != leakage.STOPS for finding in judged),
            "limits": {
                "single_column": leakage.SINGLE_COLUMN_LIMIT,
                "identifier_distinct_share": leakage.IDENTIFIER_DISTINCT_SHARE,
            },
            "scored_rows": int(len(sample)),
            "sampled": {"rows": int(len(sample)), "of_training_rows": int(len(train_rows))}
            if len(sample) < len(train_rows)
            else None,
            "acknowledged": acknowledged,
            "acknowledged_not_in_csv": [name for name in acknowledged if name not in encodings],
            "findings": judged,
        },
    }


@dataclass(frozen=True)
class _Facts:
    codes: np.ndarray  # per row: the index of its value in ``uniques``, -1 when missing
    uniques: pd.Index
    counts: np.ndarray  # rows per value of ``uniques``
    missing: int
    numbers: np.ndarray | None  # the present values of a numeric column


def _facts(series: pd.Series) -> _Facts:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    present = codes[codes >= 0]
    numbers = None
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float)
        numbers = values[codes >= 0]
    counts = np.bincount(present, minlength=len(uniques))
    return _Facts(codes, uniques, counts, int(len(codes) - len(present)), numbers)


def _share(count: int, total: int) -> float:
    return round(count / total, SHARE_DECIMALS) if total else 0.0


def _figure(value: Any) -> float | int | None:
    """A summary figure as JSON: whole numbers as int, others to 6 significant digits."""
    value = float(value)
    if not np.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return float(f"{value:.6g}")


def _column(column: str, fact: _Facts, rows: int, encoding: Mapping[str, Any], identifier: bool) -> dict[str, Any]:
    distinct = len(fact.uniques)
    kind = _column_type(fact, encoding, identifier)
    entry: dict[str, Any] = {
        "column": column,
        "role": "feature" if encoding["kind"] != DROPPED else "dropped",
        "type": kind,
        "missing": fact.missing,
        "missing_share": _share(fact.missing, rows),
        "distinct": distinct,
        "encoding": encoding["kind"],
        "features": len(encoding.get("features", [])),
        "action": action_of(encoding),
    }
    if fact.numbers is not None and distinct:
        entry["summary"] = _numbers_summary(fact.numbers)
    elif kind in (BINARY_TYPE, CATEGORICAL_TYPE, CONSTANT_TYPE):
        top = [int(i) for i in np.argsort(-fact.counts, kind="stable")[:TOP_VALUES]]
        counts = [int(fact.counts[i]) for i in top]
        entry["summary"] = {
            "top": [
                {"value": str(fact.uniques[i]), "count": count, "share": _share(count, rows)}
                for i, count in zip(top, counts, strict=True)
            ]
        }
    return entry


def _numbers_summary(values: np.ndarray) -> dict[str, Any]:
    return {
        "min": _figure(values.min()),
        "median": _figure(np.median(values)),
        "max": _figure(values.max()),
        "mean": _figure(values.mean()),
        "std": _figure(values.std()),
    }


def _column_type(fact: _Facts, encoding: Mapping[str, Any], identifier: bool) -> str:
    distinct = len(fact.uniques)
    if distinct == 0:
        return EMPTY_TYPE
    if distinct == 1:
        return CONSTANT_TYPE
    if fact.numbers is None and encoding["kind"] == DROPPED:  # text with a value per row: an id, or sentences
        words = pd.Series(fact.uniques[:FREE_TEXT_SAMPLE].astype(str)).str.split().str.len()
        return TEXT_TYPE if words.mean() >= FREE_TEXT_WORDS else IDENTIFIER_TYPE
    if identifier:
        return IDENTIFIER_TYPE
    if distinct == 2:
        return BINARY_TYPE
    return NUMERIC_TYPE if fact.numbers is not None else CATEGORICAL_TYPE


def action_of(encoding: Mapping[str, Any]) -> str:
    """What preprocessing did with a column, in words, from its encoding (schema.json)."""
    kind = encoding["kind"]
    if kind == NUMERIC:
        text = "kept as a number"
        if encoding.get("non_numeric_as_missing"):
            text += f"; {encoding['non_numeric_as_missing']:,} non-numeric values read as missing"
        if "fill" in encoding:
            text += f"; a missing value becomes the training mean {encoding['fill']:.6g}"
        return text
    if kind == ONE_HOT:
        text = f"one-hot encoded: {len(encoding['categories']):,} categories"
        if encoding.get("other_values"):
            text += f"; {encoding['other_values']:,} values of rarer categories become all zeros"
        return text
    return f"dropped: {encoding.get('reason', 'no reason recorded')}"


def _label_column(column: str, fact: _Facts, input_rows: int) -> dict[str, Any]:
    """The label's own row in the column table; its missing values are the rows that were dropped."""
    missing = int(input_rows - len(fact.codes))
    distinct = len(fact.uniques)
    return {
        "column": column,
        "role": "label",
        "type": BINARY_TYPE if distinct == 2 else (NUMERIC_TYPE if fact.numbers is not None else CATEGORICAL_TYPE),
        "missing": missing,
        "missing_share": _share(missing, input_rows),
        "distinct": distinct,
        "encoding": None,
        "features": 0,
        "action": "the label" + (f"; {missing:,} rows without one were dropped" if missing else ""),
    }


def _label_balance(y: np.ndarray, problem_type: str, label_mapping: Sequence[Any] | None) -> dict[str, Any]:
    y = np.asarray(y)
    if problem_type == REGRESSION:
        return {"kind": "values", "summary": _numbers_summary(y.astype(float))}
    labels = list(label_mapping or [])
    counts = np.bincount(y.astype(np.int64), minlength=len(labels))
    classes = [
        {"label": str(labels[index]) if index < len(labels) else str(index), "count": int(count)}
        for index, count in enumerate(counts)
    ]
    for item in classes:
        item["share"] = _share(item["count"], len(y))
    return {"kind": "classes", "classes": classes}
