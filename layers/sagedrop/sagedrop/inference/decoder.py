"""Stage 3: the algorithm's scores → original labels with probabilities, in the contract's formats.

Classification: the class index is mapped back to the original label value (schema.json's
``label_mapping``). Binary: class 1 when P(class 1) is *above* the artifact's threshold (0.5 by
default, so p = 0.5 is class 0 — the rule of the evaluation and of the XGBoost container's own
``predicted_label``). Multiclass: the most probable class (the first on a tie).

Responses:

* ``text/csv``: ``predicted_label,probability`` per row, no header — ``probability`` is that of the
  predicted label; regression answers ``predicted_label`` alone. Labels holding the delimiter or a
  quote are quoted as CSV quotes them.
* ``application/json``: ``{"predictions": [{"predicted_label": …, "probability": …,
  "probabilities": [...], "labels": [...]}, …]}`` (``probabilities`` in the order of ``labels``);
  regression: ``{"predicted_label": …}`` only. Labels keep their JSON type (numbers stay numbers).

Probabilities and values are written as the shortest text of their float32 value (the algorithms
compute in float32): ``0.9``, not ``0.8999999761581421``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from sagedrop.dataset.label import BINARY, MULTICLASS, REGRESSION
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.media import CSV, JSON, accepted
from sagedrop.inference.responses import parse_answer

#: What the decoder answers; the first is its default.
ANSWER_TYPES = (CSV, JSON)


@dataclass(frozen=True)
class Predictions:
    """Decoded predictions for n rows.

    Classification: ``labels`` (K original values), ``label_index`` (n,) and ``probabilities``
    (n, K); regression: ``values`` (n,).
    """

    problem_type: str
    labels: tuple[Any, ...] | None = None
    label_index: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values if self.problem_type == REGRESSION else self.label_index)

    def predicted_labels(self) -> list[Any]:
        """The predicted original label per row (the value, for regression)."""
        if self.problem_type == REGRESSION:
            return [_number(value) for value in self.values]
        return [self.labels[index] for index in self.label_index]

    def probability(self) -> np.ndarray:
        """The probability of each row's predicted label (classification only)."""
        return self.probabilities[np.arange(len(self.label_index)), self.label_index]


class Decoder:
    """Turns scores (see :mod:`sagedrop.inference.responses`) into labelled predictions."""

    def __init__(self, artifact: FeaturizerArtifact) -> None:
        self.artifact = artifact
        self.problem_type = artifact.problem_type
        self.labels = artifact.label_mapping
        self.threshold = artifact.threshold

    def decode_answer(
        self, body: bytes | str, content_type: str | None, expected_rows: int | None = None
    ) -> Predictions:
        """Predictions from an algorithm container's answer (XGBoost CSV or JSON, Linear Learner JSON)."""
        scores = parse_answer(body, content_type, self.problem_type, self.artifact.class_count, expected_rows)
        return self.decode(scores)

    def decode(self, scores: np.ndarray) -> Predictions:
        """Binary: P(class 1) per row; multiclass: (n, K) probabilities; regression: values."""
        scores = np.asarray(scores, dtype=float)
        if self.problem_type == REGRESSION:
            return Predictions(REGRESSION, values=scores.reshape(-1))
        if self.problem_type == BINARY:
            p = scores.reshape(-1)
            index = (p > self.threshold).astype(np.int64)
            probabilities = np.column_stack([1.0 - p, p])
        else:
            probabilities = scores.reshape(len(scores), -1)
            index = np.argmax(probabilities, axis=1) if len(probabilities) else np.zeros(0, dtype=np.int64)
        return Predictions(self.problem_type, self.labels, index, probabilities)


def render(predictions: Predictions, accept: str | None) -> tuple[bytes, str]:
    """The response body and its content type for ``accept`` (text/csv when none or */*).

    Raises InvalidRequestError (406) for an Accept that names neither type.
    """
    media = accepted(accept, ANSWER_TYPES, ANSWER_TYPES[0])
    if media == JSON:
        return render_json(predictions), JSON
    return render_csv(predictions), CSV


def render_csv(predictions: Predictions) -> bytes:
    if predictions.problem_type == REGRESSION:
        return "".join(f"{_format(value)}\n" for value in predictions.values).encode("utf-8")
    label_text = [_csv_field(label) for label in predictions.labels]
    probability = predictions.probability()
    pairs = zip(predictions.label_index.tolist(), probability.tolist(), strict=True)
    return "".join(f"{label_text[index]},{_format(p)}\n" for index, p in pairs).encode("utf-8")


def render_json(predictions: Predictions) -> bytes:
    if predictions.problem_type == REGRESSION:
        rows = [{"predicted_label": _number(value)} for value in predictions.values]
    else:
        labels = list(predictions.labels)
        probability = predictions.probability()
        rows = [
            {
                "predicted_label": labels[index],
                "probability": _number(p),
                "probabilities": [_number(value) for value in row],
                "labels": labels,
            }
            for index, p, row in zip(
                predictions.label_index.tolist(), probability, predictions.probabilities, strict=True
            )
        ]
    return json.dumps({"predictions": rows}, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _format(value: float) -> str:
    # The algorithms compute in float32: its shortest round-trip text, "0.9" rather than 0.8999999761581421.
    return str(np.float32(value))


def _number(value: float) -> float:
    return float(_format(value))


def _csv_field(value: Any) -> str:
    if not isinstance(value, str):
        return _format(value) if isinstance(value, float) else str(value)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([value])
    return buffer.getvalue()


__all__ = [
    "ANSWER_TYPES",
    "BINARY",
    "MULTICLASS",
    "REGRESSION",
    "Decoder",
    "Predictions",
    "render",
    "render_csv",
    "render_json",
]
