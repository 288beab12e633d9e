"""The local Linear Learner's model and its optimiser, in numpy.

A linear function ``z = x' W + b`` of the normalised features ``x' = (x - shift) / scale``, read as
P(class 1) through the sigmoid (``logistic`` loss), a raw margin (``hinge_loss``), class
probabilities through the softmax (``softmax_loss``) or a value mapped back to the label's scale
(regression losses). It is trained like the real algorithm: epochs of shuffled mini-batches with
Adam, SGD with momentum or RMSProp, L2 (``wd``) and L1 (``l1``) penalties, a step learning-rate
scheduler, and early stopping on a score evaluated after every epoch, keeping the best epoch.
Everything is seeded, so the same data and hyperparameters give the same model.

The artifact is a JSON document (:meth:`LinearModel.to_json`), not the MXNet parameters the real
container writes: only the local model server ever reads it, and it answers in the real container's
formats, so nothing that talks to an endpoint can tell the difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .linear_learner_hyperparameters import BINARY, MULTICLASS

ARTIFACT_FORMAT = "sagedrop-local-linear-learner"
ARTIFACT_VERSION = 1
_ADAM_EPSILON = 1e-8
_RMSPROP_DECAY = 0.9


def sigmoid(values: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-v) without overflow for large |v|."""
    return np.exp(-np.logaddexp(0.0, -values))


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = values - values.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class LossParameters:
    margin: float = 1.0
    huber_delta: float = 1.0
    loss_insensitivity: float = 0.01
    quantile: float = 0.5


def pointwise_loss(loss: str, z: np.ndarray, y: np.ndarray, p: LossParameters) -> tuple[np.ndarray, np.ndarray]:
    """Each row's loss and its gradient with respect to the raw output ``z`` (n, k)."""
    if loss == "softmax_loss":
        log_p = z - z.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        rows = np.arange(len(y))
        classes = y.astype(int)
        gradient = np.exp(log_p)
        gradient[rows, classes] -= 1.0
        return -log_p[rows, classes], gradient
    t = z[:, 0]
    if loss == "logistic":
        return np.logaddexp(0.0, t) - y * t, (sigmoid(t) - y)[:, None]
    if loss == "hinge_loss":
        sign = 2.0 * y - 1.0
        gap = p.margin - sign * t
        return np.maximum(gap, 0.0), np.where(gap > 0, -sign, 0.0)[:, None]
    r = t - y
    if loss == "squared_loss":
        values, gradient = r**2, 2.0 * r
    elif loss == "absolute_loss":
        values, gradient = np.abs(r), np.sign(r)
    elif loss == "huber_loss":
        delta = p.huber_delta
        small = np.abs(r) <= delta
        values = np.where(small, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
        gradient = np.clip(r, -delta, delta)
    elif loss == "eps_insensitive_squared_loss":
        excess = np.maximum(np.abs(r) - p.loss_insensitivity, 0.0)
        values, gradient = excess**2, 2.0 * excess * np.sign(r)
    elif loss == "eps_insensitive_absolute_loss":
        excess = np.maximum(np.abs(r) - p.loss_insensitivity, 0.0)
        values, gradient = excess, np.sign(r) * (excess > 0)
    elif loss == "quantile_loss":
        q = p.quantile
        values = np.maximum(-q * r, (1.0 - q) * r)
        gradient = np.where(r < 0, -q, np.where(r > 0, 1.0 - q, 0.0))
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return values, gradient[:, None]


@dataclass(frozen=True)
class Settings:
    """One model's training parameters, every ``auto`` already resolved."""

    loss: str
    outputs: int
    optimizer: str
    learning_rate: float
    momentum: float
    beta_1: float
    beta_2: float
    wd: float
    l1: float
    bias_wd_mult: float
    bias_lr_mult: float
    use_bias: bool
    epochs: int
    mini_batch_size: int
    use_lr_scheduler: bool
    lr_scheduler_step: int
    lr_scheduler_factor: float
    lr_scheduler_minimum_lr: float
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    early_stopping_patience: int
    early_stopping_tolerance: float
    loss_parameters: LossParameters = field(default_factory=LossParameters)
    seed: int = 0


class _Optimizer:
    """Adam, SGD with momentum or RMSProp over a list of parameter arrays, updated in place."""

    def __init__(self, settings: Settings, parameters: list[np.ndarray]):
        self._s = settings
        self._first = [np.zeros_like(p) for p in parameters]
        self._second = [np.zeros_like(p) for p in parameters]
        self._steps = 0

    def step(self, parameters: list[np.ndarray], gradients: list[np.ndarray], rates: list[float]) -> None:
        s = self._s
        self._steps += 1
        for index, (parameter, gradient, rate) in enumerate(zip(parameters, gradients, rates, strict=True)):
            first, second = self._first[index], self._second[index]
            if s.optimizer == "sgd":
                first *= s.momentum
                first -= rate * gradient
                parameter += first
            elif s.optimizer == "rmsprop":
                second *= _RMSPROP_DECAY
                second += (1.0 - _RMSPROP_DECAY) * gradient**2
                parameter -= rate * gradient / (np.sqrt(second) + _ADAM_EPSILON)
            else:
                first *= s.beta_1
                first += (1.0 - s.beta_1) * gradient
                second *= s.beta_2
                second += (1.0 - s.beta_2) * gradient**2
                corrected_first = first / (1.0 - s.beta_1**self._steps)
                corrected_second = second / (1.0 - s.beta_2**self._steps)
                parameter -= rate * corrected_first / (np.sqrt(corrected_second) + _ADAM_EPSILON)


@dataclass
class FitResult:
    weights: np.ndarray
    bias: np.ndarray
    best_epoch: int
    epochs_run: int
    score: float


def fit(
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    settings: Settings,
    score_epoch: Callable[[np.ndarray, np.ndarray], float],
    after_epoch: Callable[[int, float], None] = lambda _epoch, _score: None,
) -> FitResult:
    """Train on normalised ``x`` and targets ``y``; ``score_epoch(W, b)`` (higher is better) picks the epoch.

    Training stops early once the score has not improved by the relative ``early_stopping_tolerance``
    for ``early_stopping_patience`` epochs. ``after_epoch`` may raise to interrupt training.
    """
    s = settings
    rng = np.random.default_rng(s.seed)
    rows, features = x.shape
    if s.init_method == "normal":
        weights = rng.normal(0.0, s.init_sigma, size=(features, s.outputs))
    else:
        weights = rng.uniform(-s.init_scale, s.init_scale, size=(features, s.outputs))
    bias = np.full(s.outputs, s.init_bias if s.use_bias else 0.0)
    optimizer = _Optimizer(s, [weights, bias])
    rate = s.learning_rate
    updates = 0
    best: FitResult | None = None
    stale = 0
    epoch = 0
    for epoch in range(1, s.epochs + 1):
        order = rng.permutation(rows)
        for start in range(0, rows, s.mini_batch_size):
            batch = order[start : start + s.mini_batch_size]
            _, gradient = pointwise_loss(s.loss, x[batch] @ weights + bias, y[batch], s.loss_parameters)
            batch_weight = sample_weight[batch]
            gradient *= batch_weight[:, None] / batch_weight.sum()
            grad_weights = x[batch].T @ gradient + s.wd * weights + s.l1 * np.sign(weights)
            grad_bias = gradient.sum(axis=0) + s.wd * s.bias_wd_mult * bias
            if not s.use_bias:
                grad_bias[:] = 0.0
            optimizer.step([weights, bias], [grad_weights, grad_bias], [rate, rate * s.bias_lr_mult])
            updates += 1
            if s.use_lr_scheduler and updates % s.lr_scheduler_step == 0 and rate > s.lr_scheduler_minimum_lr:
                rate = max(rate * s.lr_scheduler_factor, s.lr_scheduler_minimum_lr)
        score = float(score_epoch(weights, bias))
        after_epoch(epoch, score)
        if best is None or score > best.score + s.early_stopping_tolerance * abs(best.score):
            best = FitResult(weights.copy(), bias.copy(), epoch, epoch, score)
            stale = 0
        else:
            stale += 1
            if stale >= s.early_stopping_patience:
                break
    best.epochs_run = epoch
    return best


@dataclass
class LinearModel:
    """What the artifact holds; ``weights`` is (feature_dim, k): k = 1, or num_classes for multiclass."""

    predictor_type: str
    loss: str
    weights: np.ndarray
    bias: np.ndarray
    feature_shift: np.ndarray
    feature_scale: np.ndarray
    label_shift: float = 0.0
    label_scale: float = 1.0
    threshold: float | None = None
    num_classes: int | None = None

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])

    def raw(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.feature_shift) / self.feature_scale) @ self.weights + self.bias

    def scores(self, features: np.ndarray) -> np.ndarray:
        """P(class 1) (binary, logistic) or the margin (hinge); class probabilities; the regression value."""
        return self.scores_from_raw(self.raw(features))

    def scores_from_raw(self, z: np.ndarray) -> np.ndarray:
        if self.predictor_type == MULTICLASS:
            return softmax(z)
        if self.predictor_type == BINARY:
            return sigmoid(z[:, 0]) if self.loss == "logistic" else z[:, 0]
        return z[:, 0] * self.label_scale + self.label_shift

    def predicted_labels(self, scores: np.ndarray) -> np.ndarray:
        """Class 1 when the score is above the threshold; the most probable class; None for regression."""
        if self.predictor_type == MULTICLASS:
            return scores.argmax(axis=1).astype(float)
        if self.predictor_type == BINARY:
            return (scores > self.threshold).astype(float)
        return None

    def to_json(self) -> bytes:
        document = {
            "format": ARTIFACT_FORMAT,
            "version": ARTIFACT_VERSION,
            "predictor_type": self.predictor_type,
            "loss": self.loss,
            "feature_dim": self.feature_dim,
            "num_classes": self.num_classes,
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
            "feature_shift": self.feature_shift.tolist(),
            "feature_scale": self.feature_scale.tolist(),
            "label_shift": self.label_shift,
            "label_scale": self.label_scale,
            "threshold": self.threshold,
        }
        return json.dumps(document, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> LinearModel:
        """Raises ValueError when ``data`` is not an artifact this module wrote."""
        try:
            document = json.loads(data)
            if document.get("format") != ARTIFACT_FORMAT or document.get("version") != ARTIFACT_VERSION:
                raise ValueError(f"not a {ARTIFACT_FORMAT} v{ARTIFACT_VERSION} document")
            model = cls(
                predictor_type=document["predictor_type"],
                loss=document["loss"],
                weights=np.array(document["weights"], dtype=float).reshape(document["feature_dim"], -1),
                bias=np.array(document["bias"], dtype=float),
                feature_shift=np.array(document["feature_shift"], dtype=float),
                feature_scale=np.array(document["feature_scale"], dtype=float),
                label_shift=float(document["label_shift"]),
                label_scale=float(document["label_scale"]),
                threshold=document["threshold"],
                num_classes=document["num_classes"],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"cannot read the Linear Learner model: {error}") from error
        if model.feature_shift.shape != (model.feature_dim,) or model.feature_scale.shape != (model.feature_dim,):
            raise ValueError("cannot read the Linear Learner model: normalisation does not match feature_dim")
        return model
