"""Run one training job the way the built-in XGBoost algorithm container does, in-process.

How it reads its data is ``training_data``'s.

One deviation, for speed: with a validation channel, the train channel's metrics are evaluated once,
for the last round (what FinalMetricDataList reports), not logged after every round.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import hyperparameters as hp
from .hyperparameters import AlgorithmError, UserError
from .lean_xgboost import import_xgboost
from .training_data import (
    DataDownloadError,
    content_type_of,
    download_channel,
    parse_s3_uri,
    read_csv_matrix,
    validate_channels,
    validate_files,
)

xgb = import_xgboost()

MODEL_FILE_NAME = "xgboost-model"  # xgb_constants.MODEL_NAME in the container
FAILURE_REASON_LIMIT = 1024  # DescribeTrainingJob.FailureReason max length
_CONTAINER_SITE = "/miniconda3/lib/python3.10/site-packages"
_XGBOOST_CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)


class TrainingStopped(Exception):
    """StopTrainingJob or MaxRuntimeInSeconds interrupted the boosting loop."""


@dataclass
class TrainingOutcome:
    """What a finished job reports back: metrics, the artifact's S3 URI, and its log lines."""

    final_metrics: dict[str, float] = field(default_factory=dict)
    model_s3_uri: str | None = None
    log_lines: list[str] = field(default_factory=list)


def failure_reason(error: Exception) -> str:
    """FailureReason text as SageMaker shows it for the XGBoost container's errors.

    The container lets its toolkit exceptions escape to the training toolkit, which writes
    ``framework error:`` plus the traceback to /opt/ml/output/failure; SageMaker prefixes
    ``AlgorithmError:`` (see aws/amazon-sagemaker-examples#1740 for a `silent` example).
    """
    if isinstance(error, DataDownloadError):
        return f"ClientError: {error}"[:FAILURE_REASON_LIMIT]
    kind = "UserError" if isinstance(error, UserError) else "AlgorithmError"
    message = str(error)
    text = (
        "AlgorithmError: framework error: \nTraceback (most recent call last):\n"
        f'  File "{_CONTAINER_SITE}/sagemaker_xgboost_container/algorithm_mode/train.py", '
        "in sagemaker_train\n"
        f"sagemaker_algorithm_toolkit.exceptions.{kind}: {message}\n\n{message}"
    )
    return text[:FAILURE_REASON_LIMIT]


def _custom_metric(names: list[str]) -> Callable | None:
    """The container computes some metrics itself (sklearn in the container, numpy here)."""
    wanted = [name for name in names if name in hp.CUSTOM_METRICS]
    if not wanted:
        return None

    def evaluate(predictions: np.ndarray, data: xgb.DMatrix):
        labels = data.get_label()
        if predictions.ndim > 1:
            predicted_class = predictions.argmax(axis=1)
        else:
            predicted_class = (predictions > 0.5).astype(float)
        results = []
        for name in wanted:
            results.append((name, float(_metric_value(name, labels, predictions, predicted_class))))
        return results

    return evaluate


def _metric_value(name: str, labels, predictions, predicted_class) -> float:
    if name == "mse":
        return float(np.mean((labels - predictions) ** 2))
    if name == "r2":
        total = np.sum((labels - labels.mean()) ** 2)
        return float(1 - np.sum((labels - predictions) ** 2) / total) if total else 0.0
    if name == "accuracy":
        return float(np.mean(predicted_class == labels))
    true_positive = np.sum((predicted_class == 1) & (labels == 1))
    precision = true_positive / max(np.sum(predicted_class == 1), 1)
    recall = true_positive / max(np.sum(labels == 1), 1)
    if name.startswith("precision"):
        return float(precision)
    if name.startswith("recall"):
        return float(recall)
    if name == "balanced_accuracy":
        specificity = np.sum((predicted_class == 0) & (labels == 0)) / max(np.sum(labels == 0), 1)
        return float((recall + specificity) / 2)
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def _parse_scores(text: str) -> dict[str, dict[str, float]]:
    """``[12]\ttrain-auc:0.97\ttrain-f1:0.6`` (Booster.eval_set's line) -> {"train": {"auc": 0.97, ...}}."""
    scores: dict[str, dict[str, float]] = {}
    for token in text.split("\t")[1:]:
        name, _, value = token.rpartition(":")
        data_name, _, metric = name.partition("-")
        scores.setdefault(data_name, {})[metric] = float(value)
    return scores


class _TrainScoresAtEnd(xgb.callback.TrainingCallback):
    """The train channel's metrics of the last round, evaluated once after boosting.

    The container evaluates the train channel after every round. On 316,000 rows that doubles the
    training time (an AUC sorts every row each round), so with a validation channel the emulator
    evaluates it once, on the last round's model: the final metric SageMaker reports is the same.
    Listed before EarlyStopping, whose after_training cuts the model back to the best round.
    """

    def __init__(self, train_matrix: xgb.DMatrix, custom_metric: Callable | None):
        super().__init__()
        self._train_matrix = train_matrix
        self._custom_metric = custom_metric
        self.last_epoch = -1
        self.scores: dict[str, float] = {}

    def after_iteration(self, model, epoch, evals_log):
        self.last_epoch = epoch
        return False

    def after_training(self, model):
        if self.last_epoch >= 0:
            line = model.eval_set([(self._train_matrix, "train")], self.last_epoch, self._custom_metric, False)
            self.scores = _parse_scores(line).get("train", {})
        return model


class _StopCheck(xgb.callback.TrainingCallback):
    """Ends boosting when StopTrainingJob is called or MaxRuntimeInSeconds passes."""

    def __init__(self, should_stop: Callable[[], str | None], log: Callable[[str], None]):
        super().__init__()
        self._should_stop = should_stop
        self._log = log

    def after_iteration(self, model, epoch, evals_log):
        line = f"[{epoch}]" + "".join(
            f"\t{data}-{metric}:{values[-1]:.5f}"
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        )
        self._log(line)
        reason = self._should_stop()
        if reason:
            raise TrainingStopped(reason)
        return False


def train_job(
    job: dict[str, Any],
    s3_client,
    work_dir: Path,
    *,
    on_phase: Callable[[str], None],
    should_stop: Callable[[], str | None],
    log: Callable[[str], None],
) -> TrainingOutcome:
    """Validate, download, train and upload one job; raise UserError/AlgorithmError/TrainingStopped."""
    outcome = TrainingOutcome()
    log("Running XGBoost Sagemaker in algorithm mode")
    validated = hp.validate(dict(job.get("HyperParameters") or {}))
    channels = validate_channels(job.get("InputDataConfig") or [])
    file_type = content_type_of(channels["train"])
    for name, channel in channels.items():
        if name != "train":
            content_type_of(channel)  # an unknown ContentType fails even on validation

    on_phase("Downloading")
    files: dict[str, list[Path]] = {}
    for name in ("train", "validation"):
        if name in channels:
            files[name] = download_channel(s3_client, channels[name], work_dir / "input" / "data" / name)
    for channel_files in files.values():
        validate_files(channel_files, file_type)
    if file_type != "csv":
        raise UserError(
            f"Content type {file_type} is not supported by the local SageMaker emulator; "
            "set ContentType text/csv on every channel"
        )

    on_phase("Training")
    csv_weights = validated.get("csv_weights", 0)
    train_matrix = read_csv_matrix(files["train"], csv_weights) if files["train"] else None
    if train_matrix is None:
        raise UserError(f"No data in training channel path {work_dir / 'input/data/train'}")
    validation_matrix = None
    if "validation" in files:
        validation_matrix = read_csv_matrix(files["validation"], csv_weights) if files["validation"] else None
        if validation_matrix is None:
            raise UserError(f"No data in validation channel path {work_dir / 'input/data/validation'}")
    log(f"Train matrix has {train_matrix.num_row()} rows and {train_matrix.num_col()} columns")
    if validation_matrix is not None:
        log(f"Validation matrix has {validation_matrix.num_row()} rows")

    params = {name: value for name, value in validated.items() if name not in hp.CONTAINER_ONLY}
    params.setdefault("verbosity", 0)
    metrics = list(params.pop("eval_metric", []) or [])
    native_metrics = [m for m in metrics if m not in hp.CUSTOM_METRICS]
    if native_metrics:
        params["eval_metric"] = native_metrics
    custom_metric = _custom_metric(metrics)
    evals_result: dict[str, dict[str, list[float]]] = {}
    callbacks: list[xgb.callback.TrainingCallback] = [_StopCheck(should_stop, log)]
    train_scores = None
    if validation_matrix is None:
        evals = [(train_matrix, "train")]
    else:
        evals = [(validation_matrix, "validation")]
        train_scores = _TrainScoresAtEnd(train_matrix, custom_metric)
        callbacks.append(train_scores)
    if validated.get("early_stopping_rounds") and validation_matrix is not None and metrics:
        # As the container's callback.get_callbacks: the last eval_metric decides, maximised when it is a
        # score, and the saved model is cut at the best round (save_best) — what the endpoint serves.
        stopping_metric = metrics[-1]
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=validated["early_stopping_rounds"],
                data_name="validation",
                metric_name=stopping_metric,
                maximize=stopping_metric in hp._MAXIMIZE_METRICS,
                save_best=True,
            )
        )
    try:
        booster = xgb.train(
            params,
            train_matrix,
            num_boost_round=validated["num_round"],
            evals=evals,
            evals_result=evals_result,
            custom_metric=custom_metric,
            callbacks=callbacks,
            verbose_eval=False,
        )
    except TrainingStopped:
        raise
    except Exception as error:  # noqa: BLE001 — mirror the container's classification of xgboost errors
        if any(marker in str(error) for marker in _XGBOOST_CUSTOMER_ERRORS):
            raise UserError(str(error)) from error
        raise AlgorithmError(f"XGB train call failed with exception:\n {error}") from error

    # What SageMaker's metric regexes pick up from the last evaluation line.
    for data_name, by_metric in evals_result.items():
        for metric, values in by_metric.items():
            if values:
                outcome.final_metrics[f"{data_name}:{metric}"] = float(values[-1])
    if train_scores is not None:
        outcome.final_metrics.update({f"train:{metric}": value for metric, value in train_scores.scores.items()})
        log("Train channel, last round:" + "".join(f"\ttrain-{m}:{v:.5f}" for m, v in train_scores.scores.items()))

    on_phase("Uploading")
    outcome.model_s3_uri = _upload_model(booster, job, s3_client, work_dir)
    return outcome


def _upload_model(booster: xgb.Booster, job: dict[str, Any], s3_client, work_dir: Path) -> str:
    model_dir = work_dir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), xgb.config_context(verbosity=0):
        warnings.simplefilter("ignore")  # xgboost warns that no extension means UBJSON; so does the container
        booster.save_model(str(model_dir / MODEL_FILE_NAME))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(model_dir / MODEL_FILE_NAME, arcname=MODEL_FILE_NAME)
    output_path = job["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    bucket, prefix = parse_s3_uri(output_path)
    key = "/".join(part for part in (prefix, job["TrainingJobName"], "output", "model.tar.gz") if part)
    s3_client.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return f"s3://{bucket}/{key}"


def scratch_dir(root: Path, job_name: str) -> Path:
    """A fresh working directory for one job under the emulator's state directory."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{job_name}-", dir=root))


__all__ = [
    "train_job",
    "failure_reason",
    "TrainingStopped",
    "UserError",
    "AlgorithmError",
    "MODEL_FILE_NAME",
    "scratch_dir",
]
