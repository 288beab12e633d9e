"""featurizer.json: the frozen part of schema.json that the serving code needs, plus the threshold.

Everything the featurizer and the label decoder know comes from here; nothing is re-learned at
inference (fit statistics computed on a request batch would change with the batch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagedrop.dataset.encoding import DROPPED, NUMERIC, ONE_HOT, feature_names
from sagedrop.dataset.label import BINARY, MULTICLASS, REGRESSION
from sagedrop.dataset.reader import DELIMITERS

ARTIFACT_FILE = "featurizer.json"
ARTIFACT_VERSION = 1
#: A binary prediction is class 1 when its probability is *above* the threshold (p > 0.5 by default),
#: the rule of the evaluation and of the XGBoost container's own ``predicted_label``.
DEFAULT_THRESHOLD = 0.5
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)


@dataclass(frozen=True)
class FeaturizerArtifact:
    """The columns a request carries, how each becomes features, and how answers become labels.

    ``source_columns``: the upload's columns without the label, in file order (what a CSV request
    row holds); ``encodings``: per source column, schema.json's frozen encoding; ``features``: the
    model's feature order; ``label_mapping``: class index → original label value (None for
    regression); ``delimiter``: the upload's field delimiter, also that of CSV requests.
    """

    label: str
    problem_type: str
    source_columns: tuple[str, ...]
    encodings: Mapping[str, Mapping[str, Any]]
    features: tuple[str, ...]
    label_mapping: tuple[Any, ...] | None
    delimiter: str = ","
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("invalid featurizer artifact: " + "; ".join(problems))

    @property
    def class_count(self) -> int | None:
        return None if self.label_mapping is None else len(self.label_mapping)

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any], threshold: float = DEFAULT_THRESHOLD) -> FeaturizerArtifact:
        """The artifact of a run from its schema.json content (as prepare_dataset wrote it)."""
        mapping = schema.get("label_mapping")
        return cls(
            label=str(schema["label"]),
            problem_type=str(schema["problem_type"]),
            source_columns=tuple(str(column) for column in schema["source_columns"]),
            encodings={str(column): dict(encoding) for column, encoding in schema["encodings"].items()},
            features=tuple(str(name) for name in schema["features"]),
            label_mapping=None if mapping is None else tuple(mapping),
            delimiter=str(schema.get("delimiter") or ","),
            threshold=float(threshold),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact_version": ARTIFACT_VERSION,
            "label": self.label,
            "problem_type": self.problem_type,
            "source_columns": list(self.source_columns),
            "encodings": {column: dict(encoding) for column, encoding in self.encodings.items()},
            "features": list(self.features),
            "label_mapping": None if self.label_mapping is None else list(self.label_mapping),
            "delimiter": self.delimiter,
            "threshold": self.threshold,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> FeaturizerArtifact:
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("artifact_version") != ARTIFACT_VERSION:
            raise ValueError(
                f"not a featurizer artifact of version {ARTIFACT_VERSION} "
                f"(artifact_version {document.get('artifact_version') if isinstance(document, dict) else None!r})"
            )
        mapping = document["label_mapping"]
        return cls(
            label=document["label"],
            problem_type=document["problem_type"],
            source_columns=tuple(document["source_columns"]),
            encodings=document["encodings"],
            features=tuple(document["features"]),
            label_mapping=None if mapping is None else tuple(mapping),
            delimiter=document["delimiter"],
            threshold=float(document["threshold"]),
        )


def _problems(artifact: FeaturizerArtifact) -> list[str]:
    problems = []
    if artifact.problem_type not in PROBLEM_TYPES:
        problems.append(f"unknown problem_type {artifact.problem_type!r}")
    if artifact.label in artifact.source_columns:
        problems.append(f"the label {artifact.label!r} is also a source column")
    if len(set(artifact.source_columns)) != len(artifact.source_columns):
        problems.append("duplicate source columns")
    if list(artifact.encodings) != list(artifact.source_columns):
        problems.append("encodings must list the source columns, in order")
    kinds = {encoding.get("kind") for encoding in artifact.encodings.values()}
    if not kinds <= {NUMERIC, ONE_HOT, DROPPED}:
        problems.append(f"unknown encoding kind(s) {sorted(map(str, kinds - {NUMERIC, ONE_HOT, DROPPED}))}")
    elif list(artifact.features) != feature_names(artifact.encodings):
        problems.append("features differ from the features the encodings produce")
    fills = {column: encoding["fill"] for column, encoding in artifact.encodings.items() if "fill" in encoding}
    bad_fills = [
        column
        for column, fill in fills.items()
        if artifact.encodings[column].get("kind") != NUMERIC
        or not isinstance(fill, int | float)
        or isinstance(fill, bool)
        or not math.isfinite(fill)
    ]
    if bad_fills:
        problems.append(f"fill values must be finite numbers of numeric columns: {sorted(map(str, bad_fills))}")
    if artifact.problem_type == REGRESSION:
        if artifact.label_mapping is not None:
            problems.append("a regression artifact has no label_mapping")
    elif artifact.label_mapping is None or len(artifact.label_mapping) < 2:
        problems.append("a classification artifact needs a label_mapping of at least 2 classes")
    elif artifact.problem_type == BINARY and len(artifact.label_mapping) != 2:
        problems.append("a binary artifact needs a label_mapping of exactly 2 classes")
    if artifact.delimiter not in DELIMITERS:
        problems.append(f"delimiter {artifact.delimiter!r} is not one of {DELIMITERS}")
    if not (math.isfinite(artifact.threshold) and 0.0 <= artifact.threshold <= 1.0):
        problems.append(f"threshold {artifact.threshold!r} is not between 0 and 1")
    return problems
