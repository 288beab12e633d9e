"""Entry points of the SageMaker serving containers: ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``.

The model tarball's ``code/inference.py`` re-exports these four (``SAGEMAKER_PROGRAM=inference.py``,
``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``); it must not define ``transform_fn``, which
excludes the other three. ``SAGEDROP_INFERENCE_MODE`` chooses the stage:

* ``featurize`` (scikit-learn image, first container of the pipeline): raw request → features CSV,
  always answered as ``text/csv`` whatever the Accept (the next container reads it);
* ``decode`` (scikit-learn image, last container): the algorithm's answer → labelled predictions;
* ``single`` (XGBoost image, script mode; the form for serverless endpoints, which cannot host a
  multi-container model): featurize → ``xgboost.Booster.predict`` on ``xgboost-model`` → decode,
  in one process.

A bad request never raises out of ``input_fn``/``predict_fn``: the single-model servers of both
images (``sagemaker_containers``' Flask worker) wrap any exception there into a ``ClientError`` that
becomes a bare 500. It travels as :class:`Rejected` instead, and ``output_fn`` answers it with its
4xx status and the message as ``text/plain``: a ``sagemaker_containers`` ``worker.Response`` in
those servers; through ``context.set_response_status`` under the multi-model server
(``sagemaker-inference``, which passes ``context`` to an ``output_fn`` that takes one); raised as
InvalidRequestError where neither exists (in-process callers use :func:`handle`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sagedrop.errors import InvalidRequestError
from sagedrop.inference.artifact import ARTIFACT_FILE, FeaturizerArtifact
from sagedrop.inference.decoder import Decoder, Predictions, render
from sagedrop.inference.featurizer import Featurizer
from sagedrop.inference.media import CSV, JSON, JSONLINES, decode_text, media_type
from sagedrop.inference.responses import normalize_scores

MODE_ENV = "SAGEDROP_INFERENCE_MODE"
FEATURIZE = "featurize"
DECODE = "decode"
SINGLE = "single"
MODES = (FEATURIZE, DECODE, SINGLE)
#: The built-in XGBoost algorithm's model file (``xgb_constants.MODEL_NAME`` in its container).
XGBOOST_MODEL_FILE = "xgboost-model"
ERROR_CONTENT_TYPE = "text/plain"


@dataclass(frozen=True)
class Model:
    """What ``model_fn`` loads: the stage and its frozen parts (``algorithm`` only in single mode)."""

    mode: str
    artifact: FeaturizerArtifact
    featurizer: Featurizer
    decoder: Decoder
    algorithm: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class Request:
    text: str
    content_type: str


@dataclass(frozen=True)
class Rejected:
    """A request answered with a 4xx: ``error`` carries the status and the message."""

    error: InvalidRequestError


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, for in-process callers (the local model server, tests, benchmarks)."""

    status: int
    body: bytes
    content_type: str


def current_mode() -> str:
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV} is {mode!r}; it must be one of {', '.join(MODES)}")
    return mode


def load_model(model_dir: str | os.PathLike[str], mode: str) -> Model:
    """The stage ``mode`` over the artifact in ``model_dir`` (and, in single mode, its XGBoost model)."""
    if mode not in MODES:
        raise ValueError(f"unknown inference mode {mode!r}; one of {', '.join(MODES)}")
    artifact = FeaturizerArtifact.from_json(Path(model_dir, ARTIFACT_FILE).read_bytes())
    algorithm = load_xgboost(Path(model_dir, XGBOOST_MODEL_FILE)) if mode == SINGLE else None
    return Model(mode, artifact, Featurizer(artifact), Decoder(artifact), algorithm)


def load_xgboost(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """``features (n, d) float32 → Booster.predict`` for the model file the built-in algorithm saved."""
    import xgboost  # only the XGBoost image has it, and only single mode needs it

    booster = xgboost.Booster()
    with warnings.catch_warnings():  # the container names the file without an extension; xgboost guesses right
        warnings.filterwarnings("ignore", message=".*Unknown file format")
        booster.load_model(str(path))

    def predict(features: np.ndarray) -> np.ndarray:
        return booster.predict(xgboost.DMatrix(features, missing=np.nan), validate_features=False)

    return predict


# --- the four functions the serving containers call ---------------------------------------------


def model_fn(model_dir: str) -> Model:
    return load_model(model_dir, current_mode())


def input_fn(input_data: bytes | str, content_type: str) -> Request | Rejected:
    try:
        media = media_type(content_type)
        if media not in (CSV, JSON, JSONLINES):  # JSON lines: an algorithm's answer (decode mode)
            raise InvalidRequestError(
                f"content type {content_type!r} is not supported: send text/csv or application/json", status=415
            )
        return Request(decode_text(input_data), media)
    except InvalidRequestError as error:
        return Rejected(error)


def predict_fn(data: Request | Rejected, model: Model) -> bytes | Predictions | Rejected:
    """Featurize mode: the features CSV; decode and single mode: the decoded predictions."""
    if isinstance(data, Rejected):
        return data
    try:
        if model.mode == FEATURIZE:
            return model.featurizer.featurize(data.text, data.content_type)
        if model.mode == DECODE:
            return model.decoder.decode_answer(data.text, data.content_type)
        features = model.featurizer.features(model.featurizer.read(data.text, data.content_type))
        raw = model.algorithm(features.to_numpy(dtype=np.float32))
        return model.decoder.decode(normalize_scores(raw, model.artifact.problem_type, model.artifact.class_count))
    except InvalidRequestError as error:
        return Rejected(error)


def output_fn(prediction: bytes | Predictions | Rejected, accept: str, context: Any = None) -> Any:
    if isinstance(prediction, bytes):
        return prediction, CSV
    if isinstance(prediction, Predictions):
        try:
            return render(prediction, accept)
        except InvalidRequestError as error:
            prediction = Rejected(error)
    return _reject(prediction.error, context)


def handle(model: Model, body: bytes | str, content_type: str, accept: str | None = None) -> Reply:
    """One request through input_fn → predict_fn → rendering, as a :class:`Reply` (4xx included)."""
    prediction = predict_fn(input_fn(body, content_type), model)
    try:
        if isinstance(prediction, Rejected):
            raise prediction.error
        if isinstance(prediction, bytes):
            return Reply(200, prediction, CSV)
        answer, answer_type = render(prediction, accept)
        return Reply(200, answer, answer_type)
    except InvalidRequestError as error:
        return Reply(error.status, str(error).encode("utf-8"), ERROR_CONTENT_TYPE)


# --- answering a rejection in the hosting server ------------------------------------------------


def _reject(error: InvalidRequestError, context: Any) -> Any:
    body = str(error).encode("utf-8")
    if context is not None and hasattr(context, "set_response_status"):
        context.set_response_status(code=error.status, phrase=_phrase(error))
        return body, ERROR_CONTENT_TYPE
    response_class = _flask_worker_response()
    if response_class is None:
        raise error
    return response_class(response=body, status=error.status, mimetype=ERROR_CONTENT_TYPE)


def _phrase(error: InvalidRequestError) -> str:
    return " ".join(str(error).split())[:200]


def _flask_worker_response() -> Any:
    """``sagemaker_containers``' Response class when running in a serving image, else None."""
    try:
        from sagemaker_containers.beta.framework import worker
    except ImportError:
        return None
    return worker.Response
