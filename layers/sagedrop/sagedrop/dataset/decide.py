"""From the first pass's figures to the decisions of the whole-file path: types, label, encodings, schema, report.

Each function mirrors the whole-file function it names, on streamed counts instead of a frame; the
tests compare the two on random tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.algorithms import Algorithm
from sagedrop.dataset import leakage
from sagedrop.dataset.encoding import DROPPED, NUMERIC, _unique_name, text_encoding
from sagedrop.dataset.label import MULTICLASS, REGRESSION, encode_label, infer_problem_type, label_stats_from_counts
from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.passes import LABEL_TRACKED_VALUES, ColumnScan, LabelScan, split_at
from sagedrop.dataset.profile import build_data_report
from sagedrop.dataset.reader import _Distinct
from sagedrop.dataset.split import SPLITS
from sagedrop.dataset.stream import Dialect, Opener, chunks, failer, line_of_data_row
from sagedrop.errors import InvalidCsvError, UnusableLabelError
from sagedrop.problem_types import LABEL_DOMAINS, LabelDomain

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Target:
    """The label's decisions: problem type, mapping, rows per split, and the training label statistics."""

    problem_type: str
    mapping: list[Any] | None
    split_rows: list[int]
    label_stats: dict[str, Any]
    class_counts: list[int] | None  # every split


def column_types(scans: Mapping[str, ColumnScan], opener: Opener, dialect: Dialect, source: str) -> dict[str, str]:
    """``reader._typed`` per column, with its refusals (a refused number, two number styles) by line."""
    fail = failer(source)
    types = {}
    for name, scan in scans.items():
        if not scan.is_numeric():
            types[name] = "text"
            continue
        if scan.first_refused is not None:
            row, problem = scan.first_refused
            raise fail(f"line {line_of_data_row(opener, dialect, row, source):,}, column {name!r}: {problem}")
        conflict = scan.style_conflict()
        if conflict is not None:
            row, other, problem = conflict
            other_line = line_of_data_row(opener, dialect, other, source)
            line = line_of_data_row(opener, dialect, row, source)
            raise fail(f"line {line:,}, column {name!r}: {problem.replace('{other}', f'{other_line:,}')}")
        types[name] = "int" if scan.is_integer() else "float"
    return types


def label_decision(label: str, kind: str, scan: ColumnScan, labels: LabelScan, configured: str | None) -> Target:
    """``infer_problem_type`` and ``encode_label`` on the label's distinct values, with its counts per split."""
    numeric = kind != "text"
    if numeric:
        by_value: dict[float, np.ndarray] = {}
        for key, counts in labels.values.items():
            number = labels.numbers[key]
            if np.isfinite(number):
                by_value[number] = by_value.get(number, 0) + counts
        values: list[Any] = list(by_value)
        split_rows = [int(n) for n in labels.number_rows]
    else:
        by_value = dict(labels.values)
        values = list(by_value)
        split_rows = [int(n) for n in labels.number_rows + labels.text_rows]
    if labels.overflowed:  # more distinct values than any classification allows: their count is estimated
        values = (
            [float(i) + 0.5 for i in range(LABEL_TRACKED_VALUES + 1)]
            if numeric
            else [str(i) for i in range(LABEL_TRACKED_VALUES + 1)]
        )
    distinct = pd.Series(values, name=label, dtype=(np.int64 if kind == "int" else np.float64) if numeric else object)
    problem_type = infer_problem_type(distinct, configured)
    if problem_type == REGRESSION:
        mean = float(labels.number_sums[0] / labels.number_rows[0]) if labels.number_rows[0] else float("nan")
        return Target(problem_type, None, split_rows, {"mean": mean}, None)
    _, mapping = encode_label(distinct, problem_type)
    per_split = np.zeros((3, len(mapping)), dtype=np.int64)
    index = {_key(value, numeric): position for position, value in enumerate(mapping)}
    for value, counts in by_value.items():
        per_split[:, index[_key(value, numeric)]] += counts
    stats = label_stats_from_counts(per_split[0])  # from the counts: a row per training label would be O(rows)
    return Target(problem_type, mapping, split_rows, stats, [int(n) for n in per_split.sum(axis=0)])


def _key(value: Any, numeric: bool) -> Any:
    return float(value) if numeric else str(value)


def check_label(target: Target, label: str, algorithm: Algorithm, source: str) -> None:
    mapping = target.mapping
    if algorithm is Algorithm.LINEAR_LEARNER and target.problem_type == MULTICLASS and len(mapping) < 3:
        raise UnusableLabelError(
            f"{source}: label {label!r} has {len(mapping)} classes; Linear Learner's multiclass classifier needs "
            "at least 3 (num_classes ≥ 3): set problem_type 'binary_classification'"
        )
    if target.problem_type != REGRESSION and sum(1 for n in target.label_stats["class_counts"] if n) < 2:
        raise UnusableLabelError(
            f"{source}: the train split holds one class only; label {label!r} needs more rows of each class"
        )


def check_label_domain(
    objective: str | None, target: Target, label: str, scan: ColumnScan, opener: Opener, dialect: Dialect, source: str
) -> None:
    """A regression label outside the chosen objective's domain (``LABEL_DOMAINS``), named by its first line.

    ``scan.low`` is the smallest label of a kept row; only then is the upload read again (an error path).
    """
    domain = LABEL_DOMAINS.get(objective or "")
    if target.problem_type != REGRESSION or domain is None or _admits(domain, scan.low):  # no label: low is inf
        return
    row, value = _first_outside(domain, label, opener, dialect, source)
    line = line_of_data_row(opener, dialect, row, source)
    raise UnusableLabelError(
        f"{source}: line {line:,}, column {label!r}: the label {value!r} is not {domain.says}, but objective "
        f"{objective!r} trains on {domain.says} labels only (XGBoost refuses the job): correct or drop such "
        "rows, or choose another objective"
    )


def _admits(domain: LabelDomain, value: float) -> bool:
    with np.errstate(over="ignore"):
        return domain.admits(float(np.float32(value)))  # XGBoost reads labels as 32-bit floats (-1e-50 is -0.0)


def _first_outside(domain: LabelDomain, label: str, opener: Opener, dialect: Dialect, source: str) -> tuple[int, str]:
    """(data row, its text) of the first label outside ``domain``."""
    for chunk in chunks(opener, dialect, source):
        distinct = _Distinct(chunk.frame[label].to_numpy(), dialect.delimiter)
        outside = distinct.numeric & ~distinct.missing & ~np.array([_admits(domain, n) for n in distinct.numbers])
        rows = np.flatnonzero(outside[distinct.codes])
        if rows.size:
            return chunk.start + int(rows[0]), str(distinct.stripped[distinct.codes[rows[0]]])
    raise AssertionError("the scan saw a label outside the domain that the second reading did not")  # noqa: EM101


def encodings(
    scans: Mapping[str, ColumnScan],
    columns: list[str],
    types: Mapping[str, str],
    label: str,
    algorithm: Algorithm,
    source: str,
) -> dict[str, dict[str, Any]]:
    """``learn_encodings`` (and ``with_fill_values`` for an algorithm that reads no missing value)."""
    used = {label}
    result: dict[str, dict[str, Any]] = {}
    for column in columns:
        scan = scans[column]
        numeric = types[column] != "text"
        missing = scan.missing + (scan.not_numbers_kept if numeric else 0)
        present = scan.present - (scan.not_numbers_kept if numeric else 0)
        if present == 0:
            result[column] = {"kind": DROPPED, "reason": "all values are missing"}
            continue
        if numeric:
            if missing == 0 and scan.low == scan.high:
                constant = int(scan.low) if types[column] == "int" else scan.low
                result[column] = {"kind": DROPPED, "reason": f"constant ({constant!r})"}
                continue
            encoding = {"kind": NUMERIC, "features": [_unique_name(column, used)], "missing": missing}
            if scan.not_numbers:
                encoding["non_numeric_as_missing"] = int(scan.not_numbers)
            if not algorithm.reads_missing_values:
                encoding["fill"] = scan.train_sum / scan.train_count if scan.train_count else 0.0
            result[column] = encoding
            continue
        result[column] = text_encoding(column, scan.value_counts(), scan.distinct(), present, missing, used)
    if not any(encoding.get("features") for encoding in result.values()):
        reasons = "; ".join(f"{c}: {e['reason']}" for c, e in result.items())
        raise InvalidCsvError(f"{source}: no usable feature columns besides the label {label!r} ({reasons})")
    return result


def schema(
    source: str,
    label: str,
    target: Target,
    encodings: dict[str, dict[str, Any]],
    source_columns: list[str],
    dialect: Dialect,
    fractions: tuple[float, float, float],
    seed: int,
    rows: int,
    labels: LabelScan,
) -> dict[str, Any]:
    """schema.json, as ``prepare_dataset`` writes it."""
    features = [name for encoding in encodings.values() for name in encoding.get("features", [])]
    kept = sum(target.split_rows)
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "label": label,
        "problem_type": target.problem_type,
        "features": features,
        "feature_count": len(features),
        "source_columns": source_columns,
        "encodings": encodings,
        "label_mapping": target.mapping,
        "class_count": len(target.mapping) if target.mapping is not None else None,
        "rows": {
            "input": rows,
            "dropped_missing_label": rows - kept,
            **dict(zip(SPLITS, target.split_rows, strict=True)),
        },
        "delimiter": dialect.delimiter,
        "header": dialect.header,
        "text_encoding": dialect.encoding.name,
        "label_stats": target.label_stats,
        "dropped_columns": [
            {"column": column, "reason": encoding["reason"]}
            for column, encoding in encodings.items()
            if encoding["kind"] == DROPPED
        ],
        "split": {
            "fractions": dict(zip(SPLITS, fractions, strict=True)),
            "seed": seed,
            "stratified": False,
            "method": "position",
        },
    }


def encode_labels(labels: pd.Series, mapping: list[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """(encoded labels of the rows that have one, which rows have one) with the whole file's mapping."""
    keep = labels.notna().to_numpy()
    present = labels[keep]
    if mapping is None:
        return present.to_numpy(dtype=float), keep
    numeric = pd.api.types.is_numeric_dtype(labels.dtype)
    categories = [float(value) for value in mapping] if numeric else [str(value) for value in mapping]
    values = present.to_numpy(dtype=float) if numeric else present.astype(str).to_numpy(dtype=object)
    return pd.Categorical(values, categories=categories).codes.astype(np.int64), keep


def encode_label_rows(distinct: _Distinct, kind: str, mapping: list[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """``encode_labels`` of a chunk's label column of type ``kind``, worked out once per distinct value."""
    encoded, present = encode_labels(pd.Series(distinct.typed_values(kind)), mapping)
    every = np.zeros(len(present), dtype=encoded.dtype)
    every[present] = encoded
    keep = present[distinct.codes]
    return every[distinct.codes[keep]], keep


def data_report(
    frame: pd.DataFrame,
    label: str,
    target: Target,
    encodings: Mapping[str, Mapping[str, Any]],
    types: Mapping[str, str],
    scans: Mapping[str, ColumnScan],
    rows: int,
    config: PrepareOptions,
    source: str,
    fractions: tuple[float, float, float],
) -> dict[str, Any]:
    """``build_data_report`` on the sampled rows; the figures the stream knows exactly replace the sample's."""
    y, keep = encode_labels(frame[label], target.mapping)
    positions = np.asarray(frame.attrs.get("rows", np.arange(len(frame))))[keep]
    frame = frame.loc[keep].reset_index(drop=True)
    splits = split_at(config.seed, positions, fractions)
    kept_rows = sum(target.split_rows)
    report = build_data_report(
        frame,
        label,
        encodings,
        y,
        target.problem_type,
        target.mapping,
        source=source,
        input_rows=rows,
        train_rows=np.flatnonzero(splits == 0),
        acknowledged=config.acknowledge,
        enabled=config.checks_enabled,
        seed=config.seed,
    )
    del splits
    if len(frame) >= kept_rows:
        report["sampled"] = None
        return report
    report["sampled"] = {"rows": len(frame), "of_rows": kept_rows}
    report["rows"] = {"input": rows, "kept": kept_rows, "dropped_missing_label": rows - kept_rows}
    report["duplicates"]["counted_in_sample"] = True
    identifiers = {}
    for entry in report["columns"]:
        column = entry["column"]
        scan = scans[column]
        if column == label:
            entry["missing"] = rows - kept_rows
            entry["missing_share"] = round((rows - kept_rows) / rows, 4) if rows else 0.0
            continue
        numeric = types[column] != "text"
        missing = scan.missing + (scan.not_numbers_kept if numeric else 0)
        present = kept_rows - missing
        entry["missing"] = missing
        entry["missing_share"] = round(missing / kept_rows, 4) if kept_rows else 0.0
        entry["distinct"] = scan.distinct()
        evidence = None
        if encodings[column]["kind"] != DROPPED:
            span = None
            if numeric and np.isfinite(scan.low):
                span = np.array([scan.low, scan.high] if scan.whole else [scan.low, scan.high, scan.low + 0.5])
            evidence = leakage.identifier_evidence(column, present, entry["distinct"], span)
        if evidence is not None:
            identifiers[column] = evidence
            entry["type"] = "identifier"
        elif entry["type"] == "identifier":
            entry["type"] = "numeric" if numeric else "categorical"
    if target.class_counts is not None:
        for item, count in zip(report["label_balance"]["classes"], target.class_counts, strict=False):
            item["count"] = count
            item["share"] = round(count / kept_rows, 4) if kept_rows else 0.0
    raw = [
        {key: value for key, value in finding.items() if key not in ("acknowledged", "status")}
        for finding in report["checks"]["findings"]
        if finding["check"] != leakage.IDENTIFIER
    ]
    raw = [{"check": leakage.IDENTIFIER, "column": c, "detail": d} for c, d in identifiers.items()] + raw
    judged = leakage.judge(raw, report["checks"]["acknowledged"], report["checks"]["enabled"])
    report["checks"]["findings"] = judged
    report["checks"]["passed"] = all(finding["status"] != leakage.STOPS for finding in judged)
    return report
