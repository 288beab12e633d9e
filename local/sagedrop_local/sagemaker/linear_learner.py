"""Run one training job the way the built-in Linear Learner container does, in-process.

Contract (developer guide: "Linear Learner Algorithm", "Linear learner hyperparameters", "Tune a
linear learner model", "Common Data Formats for Training"): hyperparameters checked as in
:mod:`.linear_learner_hyperparameters`, channels and CSV data as in :mod:`.linear_learner_data`.
The job reports ``validation:<metric>`` (and ``test:<metric>`` with a test channel) in
FinalMetricDataList under the documented names (:mod:`.linear_learner_metrics`); without a
validation or test channel it reports none. It writes ``model.tar.gz`` holding ``model_algo-1``,
the file name of the real artifact; its content is this emulator's JSON (:mod:`.linear_learner_model`).

How it trains, like the real algorithm: features normalised (``normalize_data``, statistics from
``num_point_for_scaler`` rows), the label too for regression (``normalize_label``); several models
in parallel (``num_models``; ``auto`` = 6 here) with learning rates around the given or default one
(and, for ``positive_example_weight_mult=auto``, with and without balanced class weights); each
trains for ``epochs`` with early stopping and keeps its best epoch; the best model on the
validation channel (the training channel without one) by the binary model selection criterion, or
by the objective loss, is the one saved, with its calibrated threshold. Local choices for what
``auto`` means where the documentation does not say: optimizer Adam, learning rate 0.1 (Adam, SGD)
or 0.01 (RMSProp), momentum 0.9, beta 0.9/0.999, ``wd`` and ``l1`` 0, no L2 on the bias, the
scheduler multiplying the rate by 0.99 every epoch down to 1e-5. The seed is fixed: a job is
reproducible.

What differs from the real algorithm: the arithmetic (numpy float64, not MXNet; the real ``auto``
choices are not published), so metrics and scores are comparable, not equal; RecordIO-protobuf
data, Pipe mode, several instances and checkpoints are not emulated; training logs are shorter.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import linear_learner_hyperparameters as llhp
from .hyperparameters import AlgorithmError, UserError
from .linear_learner_data import content_type, read_channels, validate_channels
from .linear_learner_hyperparameters import BINARY, MULTICLASS, REGRESSOR, ClientError
from .linear_learner_metrics import calibrate, default_threshold, metrics_for
from .linear_learner_model import LinearModel, LossParameters, Settings, fit, pointwise_loss
from .training import TrainingOutcome, TrainingStopped
from .training_data import DataDownloadError, download_channel, parse_s3_uri

MODEL_FILE_NAME = "model_algo-1"  # what the real container's model.tar.gz holds
AUTO_MODELS = 6
_RATE_FACTORS = (1.0, 0.3, 3.0, 0.1, 10.0, 0.03)
_DEFAULT_RATES = {"adam": 0.1, "sgd": 0.1, "rmsprop": 0.01}
_HOST = "algo-1"


def failure_reason(error: Exception) -> str:
    """FailureReason as SageMaker shows the first-party algorithm SDK's errors."""
    if isinstance(error, ClientError):
        return error.reason[:1024]
    if isinstance(error, DataDownloadError | UserError):
        return f"ClientError: {error}"[:1024]
    return f"AlgorithmError: {error}"[:1024]


def _resolve(params: dict[str, Any], rows: int) -> dict[str, Any]:
    """Every ``auto`` the trainer uses, as a plain value (see the module docstring)."""
    optimizer = "adam" if params["optimizer"] == llhp.AUTO else params["optimizer"]
    batch = min(params["mini_batch_size"], rows)

    def pick(name: str, auto: Any) -> Any:
        return auto if params[name] == llhp.AUTO else params[name]

    return {
        "optimizer": optimizer,
        "learning_rate": pick("learning_rate", _DEFAULT_RATES[optimizer]),
        "momentum": pick("momentum", 0.9),
        "beta_1": pick("beta_1", 0.9),
        "beta_2": pick("beta_2", 0.999),
        "wd": pick("wd", 0.0),
        "l1": pick("l1", 0.0),
        "bias_wd_mult": pick("bias_wd_mult", 0.0),
        "bias_lr_mult": pick("bias_lr_mult", 1.0),
        "mini_batch_size": batch,
        "lr_scheduler_step": pick("lr_scheduler_step", -(-rows // batch)),
        "lr_scheduler_factor": pick("lr_scheduler_factor", 0.99),
        "lr_scheduler_minimum_lr": pick("lr_scheduler_minimum_lr", 1e-5),
        "num_models": pick("num_models", AUTO_MODELS),
        "num_calibration_samples": pick("num_calibration_samples", rows),
    }


def _normalisation(x: np.ndarray, labels: np.ndarray, params: dict[str, Any]) -> tuple:
    """(feature shift, feature scale, label shift, label scale) from a seeded sample of the training rows."""
    rng = np.random.default_rng(0)
    sample = rng.choice(len(x), size=min(len(x), params["num_point_for_scaler"]), replace=False)
    use_bias = params["use_bias"] == "true"
    scale = llhp.flag(params["normalize_data"], True)
    shift = llhp.flag(params["unbias_data"], use_bias and scale)
    std = x[sample].std(axis=0)
    feature_scale = np.where(std > 0, std, 1.0) if scale else np.ones(x.shape[1])
    feature_shift = x[sample].mean(axis=0) if shift else np.zeros(x.shape[1])
    label_shift, label_scale = 0.0, 1.0
    if params["predictor_type"] == REGRESSOR:
        if llhp.flag(params["normalize_label"], True):
            label_scale = float(labels[sample].std()) or 1.0
        if llhp.flag(params["unbias_label"], use_bias and label_scale != 1.0):
            label_shift = float(labels[sample].mean())
    return feature_shift, feature_scale, label_shift, label_scale


def _sample_weights(labels: np.ndarray, params: dict[str, Any], balanced: bool) -> np.ndarray:
    weights = np.ones(len(labels))
    if params["predictor_type"] == BINARY:
        multiplier = params["positive_example_weight_mult"]
        if multiplier in ("balanced", llhp.AUTO):
            positives = labels.sum()
            multiplier = (len(labels) - positives) / positives if balanced and positives else 1.0
        weights[labels == 1] = multiplier
    elif params["predictor_type"] == MULTICLASS and params["balance_multiclass_weights"] == "true":
        counts = np.bincount(labels.astype(int), minlength=params["num_classes"]).astype(float)
        per_class = np.where(counts > 0, len(labels) / (params["num_classes"] * np.maximum(counts, 1)), 0.0)
        weights = per_class[labels.astype(int)]
    return weights


class _Trainer:
    """The parallel models of one job, their selection and the final LinearModel."""

    def __init__(self, params: dict[str, Any], data: dict[str, tuple[np.ndarray, np.ndarray]], check, log):
        self.params = params
        self.predictor = params["predictor_type"]
        self.loss = params["loss"]
        self._check, self._log = check, log
        x, labels = data["train"]
        self.shift, self.scale, self.label_shift, self.label_scale = _normalisation(x, labels, params)
        self.train = (self._features(x), self._targets(labels))
        # Early stopping: validation with the selection criterion, else the training loss.
        self.has_validation = "validation" in data
        x_sel, labels_sel = data.get("validation", data["train"])
        self.selection = (self._features(x_sel), self._targets(labels_sel), labels_sel)
        self.resolved = _resolve(params, len(x))
        self.loss_parameters = LossParameters(
            params["margin"], params["huber_delta"], params["loss_insensitivity"], params["quantile"]
        )
        self.criterion = params["binary_classifier_model_selection_criteria"] if self.predictor == BINARY else None

    def _features(self, x: np.ndarray) -> np.ndarray:
        return (x - self.shift) / self.scale

    def _targets(self, labels: np.ndarray) -> np.ndarray:
        return (labels - self.label_shift) / self.label_scale if self.predictor == REGRESSOR else labels

    def _model(self, weights: np.ndarray, bias: np.ndarray, threshold: float | None = None) -> LinearModel:
        """Fold the normalisation into an artifact that reads raw feature rows."""
        return LinearModel(
            predictor_type=self.predictor,
            loss=self.loss,
            weights=weights,
            bias=bias,
            feature_shift=self.shift,
            feature_scale=self.scale,
            label_shift=self.label_shift,
            label_scale=self.label_scale,
            threshold=threshold,
            num_classes=self.params["num_classes"] if self.predictor == MULTICLASS else None,
        )

    def _calibration(self, weights: np.ndarray, bias: np.ndarray) -> tuple[float, float]:
        x, _, labels = self.selection
        limit = self.resolved["num_calibration_samples"]
        scores = self._model(weights, bias).scores_from_raw(x[:limit] @ weights + bias)
        p = self.params
        return calibrate(
            scores,
            labels[:limit],
            self.criterion,
            default_threshold(self.loss),
            f_beta=p["f_beta"],
            target_recall=p["target_recall"],
            target_precision=p["target_precision"],
        )

    def _selection_score(self, weights: np.ndarray, bias: np.ndarray, *, early_stopping: bool) -> float:
        by_criterion = self.criterion not in (None, "loss_function") and (self.has_validation or not early_stopping)
        if by_criterion:
            return self._calibration(weights, bias)[1]
        x, y, _ = self.selection if (self.has_validation or not early_stopping) else (*self.train, None)
        values, _ = pointwise_loss(self.loss, x @ weights + bias, y, self.loss_parameters)
        return -float(values.mean())

    def _settings(self, index: int) -> tuple[Settings, bool]:
        r, p = self.resolved, self.params
        alternate = self.predictor == BINARY and p["positive_example_weight_mult"] == llhp.AUTO
        factor_index, balanced = (index // 2, index % 2 == 1) if alternate else (index, False)
        balanced = balanced or p["positive_example_weight_mult"] == "balanced"
        rate = r["learning_rate"] * _RATE_FACTORS[factor_index % len(_RATE_FACTORS)]
        settings = Settings(
            loss=self.loss,
            outputs=p["num_classes"] if self.predictor == MULTICLASS else 1,
            optimizer=r["optimizer"],
            learning_rate=rate,
            momentum=r["momentum"],
            beta_1=r["beta_1"],
            beta_2=r["beta_2"],
            wd=r["wd"],
            l1=r["l1"],
            bias_wd_mult=r["bias_wd_mult"],
            bias_lr_mult=r["bias_lr_mult"],
            use_bias=p["use_bias"] == "true",
            epochs=p["epochs"],
            mini_batch_size=r["mini_batch_size"],
            use_lr_scheduler=p["use_lr_scheduler"] == "true",
            lr_scheduler_step=r["lr_scheduler_step"],
            lr_scheduler_factor=r["lr_scheduler_factor"],
            lr_scheduler_minimum_lr=r["lr_scheduler_minimum_lr"],
            init_method=p["init_method"],
            init_scale=p["init_scale"],
            init_sigma=p["init_sigma"],
            init_bias=p["init_bias"],
            early_stopping_patience=p["early_stopping_patience"],
            early_stopping_tolerance=p["early_stopping_tolerance"],
            loss_parameters=self.loss_parameters,
            seed=index,
        )
        return settings, balanced

    def run(self) -> LinearModel:
        best: tuple[float, int, Any] | None = None
        x, y = self.train
        for index in range(self.resolved["num_models"]):
            settings, balanced = self._settings(index)
            weights = _sample_weights(y, self.params, balanced)

            def after_epoch(epoch: int, score: float, index: int = index) -> None:
                self._log(f"#quality_metric: host={_HOST}, model={index}, epoch={epoch}, selection score={score:.6f}")
                self._check()

            result = fit(
                x, y, weights, settings, lambda w, b: self._selection_score(w, b, early_stopping=True), after_epoch
            )
            score = self._selection_score(result.weights, result.bias, early_stopping=False)
            self._log(
                f"model={index} learning_rate={settings.learning_rate:g} best_epoch={result.best_epoch} "
                f"epochs_run={result.epochs_run} selection_score={score:.6f}"
            )
            if best is None or score > best[0]:
                best = (score, index, result)
        _, index, result = best
        threshold = None
        if self.predictor == BINARY:
            threshold = self._calibration(result.weights, result.bias)[0]
        self._log(
            f"Selected model {index} of {self.resolved['num_models']}"
            + (f", threshold {threshold:.6g}" if threshold is not None else "")
        )
        return self._model(result.weights, result.bias, threshold)


def evaluate(model: LinearModel, x: np.ndarray, labels: np.ndarray, params: dict[str, Any]) -> dict[str, float]:
    """The documented metrics of ``model`` on one channel's rows (labels on their original scale)."""
    parameters = LossParameters(
        params["margin"], params["huber_delta"], params["loss_insensitivity"], params["quantile"]
    )
    z = model.raw(x)
    scores = model.scores_from_raw(z)
    if model.predictor_type == REGRESSOR:
        losses, _ = pointwise_loss(model.loss, scores[:, None], labels, parameters)
        return metrics_for(REGRESSOR, predictions=scores, labels=labels, losses=losses)
    losses, _ = pointwise_loss(model.loss, z, labels, parameters)
    if model.predictor_type == BINARY:
        return metrics_for(
            BINARY, scores=scores, labels=labels, losses=losses, threshold=model.threshold, f_beta=params["f_beta"]
        )
    return metrics_for(
        MULTICLASS,
        probabilities=scores,
        labels=labels,
        losses=losses,
        top_k=params["accuracy_top_k"],
        f_beta=params["f_beta"],
    )


def train_job(
    job: dict[str, Any],
    s3_client,
    work_dir: Path,
    *,
    on_phase: Callable[[str], None],
    should_stop: Callable[[], str | None],
    log: Callable[[str], None],
) -> TrainingOutcome:
    """Validate, download, train and upload one job; raise ClientError/UserError/AlgorithmError/TrainingStopped."""
    log("Running the Linear Learner algorithm (sagedrop local SageMaker)")
    params = llhp.validate(dict(job.get("HyperParameters") or {}))
    channels = validate_channels(job.get("InputDataConfig") or [])
    content_types = {name: content_type(channel) for name, channel in channels.items()}
    log(f"Final configuration: {params}")

    on_phase("Downloading")
    files = {name: download_channel(s3_client, channels[name], work_dir / "input" / "data" / name) for name in channels}

    on_phase("Training")
    data = read_channels(channels, content_types, files, params, log)

    def check() -> None:
        reason = should_stop()
        if reason:
            raise TrainingStopped(reason)

    try:
        model = _Trainer(params, data, check, log).run()
    except (TrainingStopped, UserError):
        raise
    except (FloatingPointError, ValueError, np.linalg.LinAlgError) as error:
        raise AlgorithmError(f"Linear Learner training failed: {error}") from error

    outcome = TrainingOutcome()
    for name in ("validation", "test"):
        if name in data:
            for metric, value in evaluate(model, *data[name], params).items():
                outcome.final_metrics[f"{name}:{metric}"] = value
                log(f"#{name}_score ({_HOST}) : ('{metric}', {value})")

    on_phase("Uploading")
    outcome.model_s3_uri = _upload_model(model, job, s3_client)
    return outcome


def _upload_model(model: LinearModel, job: dict[str, Any], s3_client) -> str:
    content = model.to_json()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo(MODEL_FILE_NAME)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    bucket, prefix = parse_s3_uri(job["OutputDataConfig"]["S3OutputPath"].rstrip("/"))
    key = "/".join(part for part in (prefix, job["TrainingJobName"], "output", "model.tar.gz") if part)
    s3_client.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return f"s3://{bucket}/{key}"
