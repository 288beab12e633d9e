"""Dataset preparation: CSV bytes in; label-first, headerless, numeric splits and schema.json out.

``prepare`` (and with it the run configuration and the evaluation's label statistics) loads on
first use of ``prepare_dataset``/``PreparedDataset``: the reading and encoding modules also run in
the serving containers (sagedrop.inference), which have numpy and pandas only.
"""

import importlib
from typing import Any

from sagedrop.dataset.encoding import MAX_CATEGORIES, apply_encodings, feature_names, learn_encodings
from sagedrop.dataset.label import (
    BINARY,
    LABEL_NAMES,
    MAX_CLASSES,
    MULTICLASS,
    REGRESSION,
    encode_label,
    infer_problem_type,
    resolve_label,
)
from sagedrop.dataset.reader import DELIMITERS, MIN_DATA_ROWS, MISSING_TOKENS, Table, read_table
from sagedrop.dataset.split import split_indices, split_sizes
from sagedrop.dataset.writer import to_headerless_csv, to_source_csv

__all__ = [
    "BINARY",
    "DELIMITERS",
    "LABEL_NAMES",
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MIN_DATA_ROWS",
    "MISSING_TOKENS",
    "MULTICLASS",
    "REGRESSION",
    "PreparedDataset",
    "Table",
    "apply_encodings",
    "encode_label",
    "feature_names",
    "infer_problem_type",
    "learn_encodings",
    "prepare_dataset",
    "read_table",
    "resolve_label",
    "split_indices",
    "split_sizes",
    "to_headerless_csv",
    "to_source_csv",
]

_FROM_PREPARE = frozenset({"PreparedDataset", "prepare_dataset"})


def __getattr__(name: str) -> Any:
    if name in _FROM_PREPARE:
        return getattr(importlib.import_module("sagedrop.dataset.prepare"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
