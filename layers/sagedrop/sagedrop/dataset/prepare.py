"""From uploaded CSV bytes to the three label-first numeric frames and schema.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.algorithms import Algorithm
from sagedrop.dataset.encoding import DROPPED, apply_encodings, feature_names, learn_encodings, with_fill_values
from sagedrop.dataset.label import (
    MULTICLASS,
    REGRESSION,
    encode_label,
    infer_problem_type,
    label_stats_from_training,
    resolve_label,
)
from sagedrop.dataset.leakage import gate_message
from sagedrop.dataset.profile import build_data_report
from sagedrop.dataset.reader import read_table
from sagedrop.dataset.split import SPLITS, split_indices
from sagedrop.errors import DataLeakageError, InvalidCsvError, LabelNotFoundError, UnusableLabelError
from sagedrop.run_config import RunConfig

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PreparedDataset:
    """Label in column 0, numeric features after it, no missing labels; ``schema`` is schema.json.

    ``raw_test`` holds the test split's rows as read from the upload (source columns in file order,
    no label, same row order as ``test``): what a caller of the deployed model sends for them.
    ``source_rows`` gives, per split, each row's 0-based position among the upload's data rows.
    ``data_report`` is data_report.json (:func:`sagedrop.dataset.profile.build_data_report`).
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    schema: dict[str, Any]
    raw_test: pd.DataFrame = field(default_factory=pd.DataFrame)
    source_rows: dict[str, np.ndarray] = field(default_factory=dict)
    data_report: dict[str, Any] = field(default_factory=dict)


def prepare_dataset(data: bytes, config: RunConfig, source: str) -> PreparedDataset:
    """Read, resolve and encode the label, encode the features, split; every problem is a named error.

    Last, the data gate: DataLeakageError (carrying the data report) when a leakage check stops the run.
    """
    table = read_table(data, delimiter=config.delimiter, source=source)
    frame = table.frame
    try:
        label = resolve_label(table.columns, config.label)
        labels = frame[label]
        keep = labels.notna().to_numpy()
        kept_rows = np.flatnonzero(keep)
        dropped_missing = int((~keep).sum())
        if dropped_missing:
            frame = frame.loc[keep].reset_index(drop=True)
            labels = frame[label]
        problem_type = infer_problem_type(labels, config.problem_type)
    except (LabelNotFoundError, UnusableLabelError) as exc:
        raise type(exc)(f"{source}: {exc}") from None
    y, mapping = encode_label(labels, problem_type)
    algorithm = Algorithm(config.algorithm)
    if algorithm is Algorithm.LINEAR_LEARNER and problem_type == MULTICLASS and len(mapping) < 3:
        raise UnusableLabelError(
            f"{source}: label {label!r} has {len(mapping)} classes; Linear Learner's multiclass classifier needs "
            "at least 3 (num_classes ≥ 3): set problem_type 'binary_classification'"
        )

    source_columns = [column for column in table.columns if column != label]
    encodings = learn_encodings(frame, source_columns, table.coerced, reserved=[label])
    features = feature_names(encodings)
    if not features:
        reasons = "; ".join(f"{c}: {e['reason']}" for c, e in encodings.items())
        raise InvalidCsvError(f"{source}: no usable feature columns besides the label {label!r} ({reasons})")
    encoded = apply_encodings(frame, encodings)

    fractions = (config.split.train, config.split.validation, config.split.test)
    strata = None if problem_type == REGRESSION else y
    indices = split_indices(len(encoded), fractions, config.seed, strata)
    if not algorithm.reads_missing_values:
        # Linear Learner fails the job on an empty field: a missing number takes the column's training
        # mean, recorded in its encoding so that the deployed featurizer fills requests the same way.
        encodings = with_fill_values(encodings, encoded.iloc[indices[0]])
        encoded = apply_encodings(frame, encodings)
    encoded.insert(0, label, y)
    parts = {name: encoded.iloc[index].reset_index(drop=True) for name, index in zip(SPLITS, indices, strict=True)}

    train_y = y[indices[0]]
    if problem_type != REGRESSION and len(np.unique(train_y)) < 2:
        raise UnusableLabelError(
            f"{source}: the train split holds one class only; label {label!r} needs more rows of each class"
        )
    schema = {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "label": label,
        "problem_type": problem_type,
        "features": features,
        "feature_count": len(features),
        "source_columns": source_columns,
        "encodings": encodings,
        "label_mapping": mapping,
        "class_count": len(mapping) if mapping is not None else None,
        "rows": {
            "input": len(table.frame),
            "dropped_missing_label": dropped_missing,
            **{name: len(parts[name]) for name in SPLITS},
        },
        "delimiter": table.delimiter,
        "header": table.header,
        "text_encoding": table.encoding,
        "label_stats": label_stats_from_training(problem_type, train_y, len(mapping) if mapping else 0),
        "dropped_columns": [
            {"column": column, "reason": encoding["reason"]}
            for column, encoding in encodings.items()
            if encoding["kind"] == DROPPED
        ],
        "split": {
            "fractions": dict(zip(SPLITS, fractions, strict=True)),
            "seed": config.seed,
            "stratified": problem_type != REGRESSION,
        },
    }
    report = build_data_report(
        frame,
        label,
        encodings,
        y,
        problem_type,
        mapping,
        source=source,
        input_rows=len(table.frame),
        train_rows=indices[0],
        acknowledged=config.data_checks.acknowledge,
        enabled=config.data_checks.enabled,
        seed=config.seed,
    )
    stopped = gate_message(report["checks"]["findings"], label)
    if stopped:
        raise DataLeakageError(f"{source}: {stopped}", report=report)
    test_index = indices[SPLITS.index("test")]
    return PreparedDataset(
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
        schema=schema,
        raw_test=frame[source_columns].iloc[test_index].reset_index(drop=True),
        source_rows={name: kept_rows[index] for name, index in zip(SPLITS, indices, strict=True)},
        data_report=report,
    )
