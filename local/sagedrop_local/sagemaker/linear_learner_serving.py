"""Answering invocations the way the built-in Linear Learner container does.

Requests ("Linear Learner Algorithm", "Common Data Formats for Inference"): ``text/csv`` rows of
features without the label (``label_size=0`` allowed), or ``application/json``
``{"instances": [{"features": [...]}, ...]}`` (also the ``{"data": {"features": {"values": ...}}}``
form, dense or sparse with ``keys``/``shape``). ``application/x-recordio-protobuf`` is not
emulated. Responses ("Linear learner response formats"), ``application/json`` by default:

* binary_classifier — ``{"predictions": [{"score": 0.93, "predicted_label": 1.0}, ...]}``, score =
  P(class 1) (the margin for ``hinge_loss``), label 1 when the score is above the threshold the
  model selection criterion calibrated at training;
* multiclass_classifier — ``{"predictions": [{"score": [p0, p1, ...], "predicted_label": 2.0}]}``;
* regressor — ``{"predictions": [{"score": 12.3}]}``.

``application/jsonlines`` gives one prediction object per line. The documentation lists no CSV
answer, so ``Accept: text/csv`` is refused (406). Numbers are float32 values, as the container
computes them. A row whose number of values is not the model's ``feature_dim``, an empty or
non-numeric cell, or a malformed JSON request is a 400 naming the row (and the column): the real
container also fails on a feature-count mismatch, its exact text is not documented. With no
``Accept``, the container's ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` applies (how a container in
the middle of an inference pipeline is told what to answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import numpy as np

from .linear_learner import MODEL_FILE_NAME
from .linear_learner_hyperparameters import REGRESSOR
from .linear_learner_model import LinearModel
from .model_server import HttpModelServer, ModelLoadError

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"
ANSWER_TYPES = (JSON, JSONLINES)
DEFAULT_ACCEPT_VARIABLE = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"


class InvalidRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain"


def load_model(model_dir: Path) -> LinearModel:
    """The ``model_algo-1`` a local Linear Learner training job wrote."""
    path = model_dir / MODEL_FILE_NAME
    if not path.is_file():
        found = sorted(p.name for p in model_dir.iterdir())
        raise ModelLoadError(f"No {MODEL_FILE_NAME} in the model archive (found: {', '.join(found) or 'nothing'})")
    try:
        return LinearModel.from_json(path.read_bytes())
    except ValueError as error:
        raise ModelLoadError(f"{MODEL_FILE_NAME} is not a model of the local Linear Learner: {error}") from error


def _media(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _number(text: str, row: int, column: int) -> float:
    cell = text.strip()
    if not cell:
        raise InvalidRequest(HTTPStatus.BAD_REQUEST, f"Invalid input: row {row}, column {column} is empty")
    try:
        value = float(cell)
    except ValueError:
        raise InvalidRequest(
            HTTPStatus.BAD_REQUEST, f"Invalid input: row {row}, column {column}: cannot read {cell[:40]!r} as a number"
        ) from None
    if not np.isfinite(value):
        raise InvalidRequest(HTTPStatus.BAD_REQUEST, f"Invalid input: row {row}, column {column} is not finite")
    return value


def _check_width(values: list, row: int, feature_dim: int, noun: str = "row") -> None:
    if len(values) != feature_dim:
        raise InvalidRequest(
            HTTPStatus.BAD_REQUEST,
            f"Invalid input: {noun} {row} has {len(values)} values, but the model was trained with "
            f"feature_dim={feature_dim} (rows hold the features only, without the label)",
        )


def parse_csv(payload: bytes, feature_dim: int) -> np.ndarray:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(HTTPStatus.BAD_REQUEST, "Invalid input: the text/csv payload is not UTF-8") from None
    rows = []
    for number, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        cells = line.split(",")
        _check_width(cells, number, feature_dim)
        rows.append([_number(cell, number, column) for column, cell in enumerate(cells, start=1)])
    return np.array(rows, dtype=float).reshape(len(rows), feature_dim)


def _instance_values(instance, row: int, feature_dim: int) -> list:
    if isinstance(instance, dict) and "features" in instance:
        return instance["features"]
    features = (instance.get("data") or {}).get("features") if isinstance(instance, dict) else None
    if not isinstance(features, dict) or not isinstance(features.get("values"), list):
        raise InvalidRequest(
            HTTPStatus.BAD_REQUEST,
            f'Invalid input: instance {row} has neither "features" nor "data": {{"features": {{"values": [...]}}}}',
        )
    if "keys" not in features:
        return features["values"]
    keys, values = features["keys"], features["values"]
    shape = features.get("shape") or [feature_dim]
    if not isinstance(keys, list) or len(keys) != len(values) or shape != [feature_dim]:
        raise InvalidRequest(
            HTTPStatus.BAD_REQUEST,
            f"Invalid input: instance {row} is a sparse vector of shape {shape}; the model expects [{feature_dim}] "
            "with one key per value",
        )
    dense = [0.0] * feature_dim
    for key, value in zip(keys, values, strict=True):
        if not isinstance(key, int) or not 0 <= key < feature_dim:
            raise InvalidRequest(HTTPStatus.BAD_REQUEST, f"Invalid input: instance {row} has the key {key!r}")
        dense[key] = value
    return dense


def parse_json(payload: bytes, feature_dim: int) -> np.ndarray:
    try:
        instances = json.loads(payload)["instances"]
        if not isinstance(instances, list):
            raise TypeError("instances is not a list")
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidRequest(
            HTTPStatus.BAD_REQUEST, f'Invalid input: expected {{"instances": [{{"features": [...]}}, ...]}} ({error})'
        ) from None
    rows = []
    for number, instance in enumerate(instances, start=1):
        values = _instance_values(instance, number, feature_dim)
        if not isinstance(values, list):
            raise InvalidRequest(
                HTTPStatus.BAD_REQUEST, f"Invalid input: the features of instance {number} are not a list"
            )
        _check_width(values, number, feature_dim, "instance")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in values):
            raise InvalidRequest(
                HTTPStatus.BAD_REQUEST, f"Invalid input: instance {number} holds a value that is not a number"
            )
        rows.append([float(v) for v in values])
    return np.array(rows, dtype=float).reshape(len(rows), feature_dim)


def _float32(value: float) -> float:
    return float(np.float32(value))


def predictions(model: LinearModel, features: np.ndarray) -> list[dict]:
    """One ``{"score": ..., "predicted_label": ...}`` per row, as the real container writes them."""
    scores = model.scores(features)
    if model.predictor_type == REGRESSOR:
        return [{"score": _float32(score)} for score in scores]
    labels = model.predicted_labels(scores)
    if scores.ndim == 2:
        return [
            {"score": [_float32(p) for p in row], "predicted_label": float(label)}
            for row, label in zip(scores, labels, strict=True)
        ]
    return [
        {"score": _float32(score), "predicted_label": float(label)} for score, label in zip(scores, labels, strict=True)
    ]


class LinearLearnerPredictor:
    """The container's invocation logic for one model, independent of any HTTP server."""

    def __init__(self, model: LinearModel, environment: dict[str, str] | None = None):
        self.model = model
        self.default_accept = (environment or {}).get(DEFAULT_ACCEPT_VARIABLE) or JSON

    def _answer_type(self, accept: str | None) -> str:
        wanted = [_media(part) for part in (accept or self.default_accept).split(",")]
        for media in wanted:
            if media in ANSWER_TYPES:
                return media
            if media in ("*/*", "application/*", ""):
                return JSON
        raise InvalidRequest(
            HTTPStatus.NOT_ACCEPTABLE,
            f"Accept type {accept or self.default_accept!r} is not supported; the Linear Learner answers "
            f"{', '.join(ANSWER_TYPES)}",
        )

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None) -> Answer:
        try:
            answer_type = self._answer_type(accept)
            media = _media(content_type) or CSV
            if not payload.strip():
                raise InvalidRequest(HTTPStatus.BAD_REQUEST, "Invalid input: the request holds no rows")
            if media in (CSV, "csv"):
                features = parse_csv(payload, self.model.feature_dim)
            elif media == JSON:
                features = parse_json(payload, self.model.feature_dim)
            else:
                supported = f"{CSV}, {JSON}" + (
                    " (application/x-recordio-protobuf is not emulated locally)" if media == RECORDIO else ""
                )
                raise InvalidRequest(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"Content type {media!r} is not supported; supported: {supported}",
                )
        except InvalidRequest as error:
            return Answer(int(error.status), str(error).encode("utf-8"))
        rows = predictions(self.model, features)
        if answer_type == JSONLINES:
            body = "".join(json.dumps(row) + "\n" for row in rows)
        else:
            body = json.dumps({"predictions": rows})
        return Answer(HTTPStatus.OK, body.encode("utf-8"), answer_type)


class LinearLearnerServer(HttpModelServer):
    """One endpoint variant's Linear Learner inference server on 127.0.0.1."""

    def __init__(self, predictor: LinearLearnerPredictor, *, on_request=None):
        super().__init__(on_request=on_request)
        self.predictor = predictor

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None) -> tuple[int, bytes, str]:
        answer = self.predictor.invoke(payload, content_type, accept)
        return answer.status, answer.body, answer.content_type
