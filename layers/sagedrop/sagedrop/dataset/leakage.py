"""The data gate's leakage checks: a column that alone predicts the label, a column that names the row.

Values in, values out (numpy and pandas only: this runs in the preprocessing Lambda).

**Single column.** How well one feature column alone predicts the label, on the training rows (a
random sample of at most ``DATA_REPORT_SAMPLE_ROWS`` of them); every score is in [0, 1], 1 meaning
perfectly, and a column at or above ``SINGLE_COLUMN_LIMIT`` is a leakage suspect:

- a numeric column of a classification: its ROC AUC, either direction (max(AUC, 1 − AUC)); with
  more classes the mean over the pairs of the ``MAX_AUC_CLASSES`` largest ones (Hand & Till). Rows
  without a value are left out, and so is a class with fewer than ``MIN_CLASS_ROWS`` of them: a
  handful of rows can be separated by chance;
- a text column of a binary classification: the ROC AUC of the rate of class 1 among the rows with
  the row's value; of a multiclass one, the share of the majority-class answer's errors that
  answering the majority class of the row's value removes (Goodman & Kruskal's λ);
- a numeric column of a regression: |Spearman's rank correlation| with the label;
- a text column of a regression: the R² of the label's mean per value.

Per-value scores are cross-fitted (each half of the rows is answered from the other half), so a
column with a value per row does not look perfect. A numeric column with missing values is also
scored on "has a value or not" the same way: a field filled in only after the outcome is a
classic leak. The column's score is the highest of its scores.

**Identifier.** A column of at least ``IDENTIFIER_MIN_ROWS`` values, at least
``IDENTIFIER_DISTINCT_SHARE`` of them different, that is text, or whole numbers that nearly fill
their range (a row number, a sequence id) or sit under an identifier's name (``id``,
``customer_id``, ``userId``, ``Unnamed: 0``). Kept as a feature, it lets the model memorise rows
and answers new rows (new ids) arbitrarily.

Only the columns preprocessing keeps as features are checked (the model never sees the others). A
finding stops the run unless the configuration acknowledges its column or turns the gate off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.dataset.encoding import DROPPED
from sagedrop.dataset.label import REGRESSION

SINGLE_COLUMN_LIMIT = 0.99
MIN_CLASS_ROWS = 10
MAX_AUC_CLASSES = 10
IDENTIFIER_MIN_ROWS = 100
IDENTIFIER_DISTINCT_SHARE = 0.95
# Whole numbers spanning at most this many times their count of distinct values count as a sequence.
IDENTIFIER_SPAN = 1.5

# The failure message names this many findings at most (the data report has every one).
MESSAGE_FINDINGS = 10

SINGLE_COLUMN = "single_column"
IDENTIFIER = "identifier"

#: What each metric is called where people read it (the report, the error message).
METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pairwise_roc_auc": "ROC AUC (mean over class pairs)",
    "majority_errors_removed": "share of majority-class errors removed (λ)",
    "spearman": "|Spearman correlation|",
    "r2_by_value": "R² of the label's mean per value",
}

# Status of a finding, as data_report.json and the report show it.
STOPS = "stops the run"
ACKNOWLEDGED = "acknowledged"
NOT_ENFORCED = "reported only (data_checks.enabled is false)"

_ID_NAME = re.compile(
    r"^(?:unnamed:\s*\d+|index|idx|row|row[\s_-]?(?:id|number|num|no)|#|id|uuid|guid)$|(?:^|[\W_])(?:id|uuid|guid)$",
    re.IGNORECASE,
)
_CAMEL_ID = re.compile(r"[a-z0-9](?:Id|ID)$")


def looks_like_identifier_name(name: str) -> bool:
    name = str(name).strip()
    return bool(_ID_NAME.search(name) or _CAMEL_ID.search(name))


# --- single column -------------------------------------------------------------------------------


def column_association(series: pd.Series, y: np.ndarray, problem_type: str, seed: int) -> dict[str, Any] | None:
    """``{"metric", "score", "rows"}``: how well ``series`` alone predicts ``y`` (see the module docstring).

    ``y`` is the encoded label of the same rows (classes 0..K-1, or values). None when nothing can
    be scored (too few rows of a class, a constant label).
    """
    y = np.asarray(y)
    missing = series.isna().to_numpy()
    scores = []
    if pd.api.types.is_numeric_dtype(series.dtype):
        present = ~missing
        x = series.to_numpy(dtype=float)[present]
        if problem_type == REGRESSION:
            scores.append(("spearman", _spearman(x, y[present].astype(float))))
        else:
            scores.append(_auc_score(x, y[present].astype(np.int64)))
        if missing.any():
            scores.append(_by_value(missing.astype(np.int64), y, problem_type, seed))
    else:
        codes, _ = pd.factorize(series, use_na_sentinel=False)
        scores.append(_by_value(codes, y, problem_type, seed))
    scored = [(metric, score) for metric, score in scores if score is not None]
    if not scored:
        return None
    metric, score = max(scored, key=lambda item: item[1])
    return {"metric": metric, "score": round(float(score), 4), "rows": int(len(y))}


def _auc_score(x: np.ndarray, classes: np.ndarray) -> tuple[str, float | None]:
    counts = np.bincount(classes) if len(classes) else np.zeros(0, np.int64)
    usable = [c for c in np.argsort(-counts, kind="stable")[:MAX_AUC_CLASSES] if counts[c] >= MIN_CLASS_ROWS]
    if len(usable) < 2:
        return "roc_auc", None
    aucs = []
    for position, first in enumerate(usable):
        for second in usable[position + 1 :]:
            pair = (classes == first) | (classes == second)
            auc = _auc(x[pair], classes[pair] == first)
            aucs.append(max(auc, 1.0 - auc))
    return ("roc_auc" if len(aucs) == 1 else "pairwise_roc_auc"), float(np.mean(aucs))


def _auc(x: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC from the rank sum (Mann–Whitney U); ties count one half."""
    ranks = pd.Series(x).rank(method="average").to_numpy()
    n1 = int(positive.sum())
    n0 = len(x) - n1
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < MIN_CLASS_ROWS:
        return None
    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return None
    return abs(float(np.corrcoef(rx, ry)[0, 1]))


def _by_value(codes: np.ndarray, y: np.ndarray, problem_type: str, seed: int) -> tuple[str, float | None]:
    """Cross-fitted per-value answer vs the overall answer: λ (classification) or R² (regression)."""
    n = len(codes)
    if n < 2 * MIN_CLASS_ROWS:
        return ("r2_by_value" if problem_type == REGRESSION else "majority_errors_removed"), None
    half = np.random.default_rng(seed).permutation(n) < n // 2
    groups = int(codes.max()) + 1 if n else 0
    if problem_type == REGRESSION:
        values = y.astype(float)
        loss = baseline = 0.0
        for fit, scored in ((half, ~half), (~half, half)):
            sums = np.bincount(codes[fit], weights=values[fit], minlength=groups)
            sizes = np.bincount(codes[fit], minlength=groups)
            overall = values[fit].mean()
            means = np.where(sizes > 0, sums / np.maximum(sizes, 1), overall)
            loss += float(((values[scored] - means[codes[scored]]) ** 2).sum())
            baseline += float(((values[scored] - overall) ** 2).sum())
        return "r2_by_value", (None if baseline == 0 else max(0.0, 1.0 - loss / baseline))
    classes = y.astype(np.int64)
    k = int(classes.max()) + 1 if n else 0
    if k == 2:
        # Two classes: the other half's rate of class 1 per value ranks the rows; their AUC.
        rate = np.zeros(n)
        for fit, scored in ((half, ~half), (~half, half)):
            ones = np.bincount(codes[fit], weights=classes[fit], minlength=groups)
            sizes = np.bincount(codes[fit], minlength=groups)
            rate[scored] = np.where(sizes > 0, ones / np.maximum(sizes, 1), classes[fit].mean())[codes[scored]]
        return _auc_score(rate, classes)
    errors = baseline_errors = 0
    for fit, scored in ((half, ~half), (~half, half)):
        table = np.bincount(codes[fit] * k + classes[fit], minlength=groups * k).reshape(groups, k)
        overall = int(np.bincount(classes[fit], minlength=k).argmax())
        answer = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), overall)
        errors += int((answer[codes[scored]] != classes[scored]).sum())
        baseline_errors += int((classes[scored] != overall).sum())
    return "majority_errors_removed", (None if baseline_errors == 0 else max(0.0, 1.0 - errors / baseline_errors))


# --- identifiers ---------------------------------------------------------------------------------


def identifier_evidence(name: str, present: int, distinct: int, numbers: np.ndarray | None) -> str | None:
    """Why a column looks like an identifier (a phrase), or None.

    ``present``: its values that are not missing; ``distinct``: how many differ; ``numbers``: those
    values of a numeric column (None for text).
    """
    if present < IDENTIFIER_MIN_ROWS or distinct < IDENTIFIER_DISTINCT_SHARE * present:
        return None
    counted = f"{distinct:,} distinct values in {present:,} rows"
    if numbers is None:
        return counted
    if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
        low, high = numbers.min(), numbers.max()
        if high - low + 1 <= IDENTIFIER_SPAN * distinct:
            return f"{counted}, whole numbers from {low:,.0f} to {high:,.0f}: a row number or sequence"
        if looks_like_identifier_name(name):
            return f"{counted}, whole numbers under an identifier's name"
    elif looks_like_identifier_name(name):
        return f"{counted} under an identifier's name"
    return None


# --- the gate ------------------------------------------------------------------------------------


def find_leakage(
    frame: pd.DataFrame,
    encodings: Mapping[str, Mapping[str, Any]],
    y: np.ndarray,
    problem_type: str,
    sample: np.ndarray,
    seed: int,
    identifiers: Mapping[str, str],
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Each feature column's association with the label, and the findings (no decision yet).

    ``frame`` holds the rows that have a label, ``y`` their encoded label; ``sample`` the positions
    (into both) of the training rows the single-column scores use; ``identifiers`` the
    :func:`identifier_evidence` of each column that has some (judged on every row).
    """
    associations: dict[str, dict[str, Any]] = {}
    findings: list[dict[str, Any]] = []
    for column, encoding in encodings.items():
        if encoding["kind"] == DROPPED:
            continue  # the model never sees it: the report's column table says why it was dropped
        if column in identifiers:
            findings.append({"check": IDENTIFIER, "column": column, "detail": identifiers[column]})
        series = frame[column]
        association = column_association(series.iloc[sample], y[sample], problem_type, seed)
        if association is None:
            continue
        associations[column] = association
        if association["score"] >= SINGLE_COLUMN_LIMIT:
            findings.append(
                {
                    "check": SINGLE_COLUMN,
                    "column": column,
                    "metric": association["metric"],
                    "score": association["score"],
                    "limit": SINGLE_COLUMN_LIMIT,
                    "detail": f"{METRIC_NAMES[association['metric']]} {association['score']:.4f} ≥ "
                    f"{SINGLE_COLUMN_LIMIT} on {association['rows']:,} training rows",
                }
            )
    return associations, findings


def judge(findings: Sequence[Mapping[str, Any]], acknowledged: Iterable[str], enabled: bool) -> list[dict[str, Any]]:
    """The findings with their ``acknowledged`` flag and ``status`` (see the STOPS… constants)."""
    acknowledged = set(acknowledged)
    judged = []
    for finding in findings:
        is_acknowledged = finding["column"] in acknowledged
        if is_acknowledged:
            status = ACKNOWLEDGED
        elif not enabled:
            status = NOT_ENFORCED
        else:
            status = STOPS
        judged.append({**finding, "acknowledged": is_acknowledged, "status": status})
    return judged


def gate_message(findings: Sequence[Mapping[str, Any]], label: str) -> str | None:
    """The DataLeakageError message for the findings that stop the run, or None when none does.

    It names at most ``MESSAGE_FINDINGS`` findings (a run's failure message must stay short; the
    data report has them all) and the ``data_checks`` line that would acknowledge their columns.
    """
    stopping = [finding for finding in findings if finding["status"] == STOPS]
    if not stopping:
        return None
    parts = []
    for finding in stopping[:MESSAGE_FINDINGS]:
        if finding["check"] == SINGLE_COLUMN:
            parts.append(
                f"column {finding['column']!r} alone predicts the label {label!r} almost perfectly "
                f"({finding['detail']})"
            )
        else:
            parts.append(
                f"column {finding['column']!r} looks like an identifier ({finding['detail']}) and would be a feature"
            )
    if len(stopping) > MESSAGE_FINDINGS:
        parts.append(f"and {len(stopping) - MESSAGE_FINDINGS:,} more findings (all in the data report)")
    columns = list(dict.fromkeys(finding["column"] for finding in stopping[:MESSAGE_FINDINGS]))
    acknowledge = json.dumps({"data_checks": {"acknowledge": columns}}, ensure_ascii=False)
    return (
        "data gate: "
        + "; ".join(parts)
        + ". Remove such a column from the CSV or, if it is legitimate, acknowledge it in the folder's "
        + f"sagedrop.json: {acknowledge}"
    )
