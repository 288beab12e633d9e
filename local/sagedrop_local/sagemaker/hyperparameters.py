"""Hyperparameter validation as the built-in XGBoost algorithm container does it.

Mirrors ``sagemaker_algorithm_toolkit.hyperparameter_validation`` and
``sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py``
(aws/sagemaker-xgboost-container): required names first, then "Extraneous hyperparameter found",
then parsing ("could not parse value") and ranges. Only the checks that matter locally are
reproduced; dependency checks keep the ones users actually hit (num_class, auc on regression).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class UserError(Exception):
    """``sagemaker_algorithm_toolkit.exceptions.UserError``: the customer's configuration is wrong."""


class AlgorithmError(Exception):
    """``sagemaker_algorithm_toolkit.exceptions.AlgorithmError``: the algorithm itself failed."""


_MAXIMIZE_METRICS = [
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
]
_MINIMIZE_METRICS = [
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
]
# Metrics the container computes itself (feval) rather than passing to xgboost.
CUSTOM_METRICS = {
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "mse",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
}

OBJECTIVES = [
    "aft_loss_distribution",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
]


@dataclass(frozen=True)
class _Interval:
    min_closed: float | None = None
    min_open: float | None = None
    max_closed: float | None = None
    max_open: float | None = None

    def __contains__(self, value: float) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        low = (
            f"({self.min_open}, "
            if self.min_open is not None
            else (f"[{self.min_closed}, " if self.min_closed is not None else "(-inf, ")
        )
        high = (
            f"{self.max_open})"
            if self.max_open is not None
            else (f"{self.max_closed}]" if self.max_closed is not None else "+inf)")
        )
        return low + high


@dataclass(frozen=True)
class _Spec:
    kind: str  # int | float | categorical | list | free
    range: Any = None


def _int(**kw) -> _Spec:
    return _Spec("int", _Interval(**kw))


def _float(**kw) -> _Spec:
    return _Spec("float", _Interval(**kw))


def _cat(*values: str) -> _Spec:
    return _Spec("categorical", list(values))


# Every name the container accepts (algorithm_mode/hyperparameter_validation.py). Anything else is
# "Extraneous hyperparameter found" — notably `silent`, removed in 1.2 in favour of `verbosity`.
SPECS: dict[str, _Spec] = {
    "num_round": _int(min_closed=1),
    "csv_weights": _int(min_closed=0, max_closed=1),
    "early_stopping_rounds": _int(min_closed=1),
    "booster": _cat("gbtree", "gblinear", "dart"),
    "verbosity": _int(min_closed=0, max_closed=3),
    "nthread": _int(min_closed=1),
    "eta": _float(min_closed=0, max_closed=1),
    "gamma": _float(min_closed=0),
    "max_depth": _int(min_closed=0),
    "min_child_weight": _float(min_closed=0),
    "max_delta_step": _float(min_closed=0),
    "subsample": _float(min_open=0, max_closed=1),
    "colsample_bytree": _float(min_open=0, max_closed=1),
    "colsample_bylevel": _float(min_open=0, max_closed=1),
    "colsample_bynode": _float(min_open=0, max_closed=1),
    "lambda": _float(min_closed=0),
    "alpha": _float(min_closed=0),
    "tree_method": _cat("auto", "exact", "approx", "hist", "gpu_hist"),
    "sketch_eps": _float(min_open=0, max_open=1),
    "scale_pos_weight": _float(min_open=0),
    "updater": _Spec("free"),
    "dsplit": _cat("row", "col"),
    "refresh_leaf": _int(min_closed=0, max_closed=1),
    "process_type": _cat("default", "update"),
    "grow_policy": _cat("depthwise", "lossguide"),
    "max_leaves": _int(min_closed=0),
    "max_bin": _int(min_closed=0),
    "predictor": _cat("auto", "cpu_predictor", "gpu_predictor"),
    "monotone_constraints": _Spec("free"),
    "interaction_constraints": _Spec("free"),
    "sample_type": _cat("uniform", "weighted"),
    "normalize_type": _cat("tree", "forest"),
    "rate_drop": _float(min_closed=0, max_closed=1),
    "one_drop": _int(min_closed=0, max_closed=1),
    "skip_drop": _float(min_closed=0, max_closed=1),
    "lambda_bias": _float(min_closed=0, max_closed=1),
    "tweedie_variance_power": _float(min_open=1, max_open=2),
    "objective": _Spec("categorical", OBJECTIVES),
    "num_class": _int(min_closed=2),
    "base_score": _float(min_closed=0),
    "_kfold": _int(min_closed=2),
    "_num_cv_round": _int(min_closed=1),
    "_tuning_objective_metric": _Spec("free"),
    "eval_metric": _Spec("list"),
    "seed": _int(min_open=-(2**31), max_open=2**31 - 1),
    "num_parallel_tree": _int(min_closed=1),
    "save_model_on_termination": _cat("true", "false"),
    "aft_loss_distribution": _cat("normal", "logistic", "extreme"),
    "aft_loss_distribution_scale": _float(min_closed=0),
    "single_precision_histogram": _cat("true", "false"),
    "deterministic_histogram": _cat("true", "false"),
    "sampling_method": _cat("uniform", "gradient_based"),
    "prob_buffer_row": _float(min_open=1.0),
    "use_dask_gpu_training": _cat("true", "false"),
}
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}
# Names the container consumes itself and never passes to xgboost.train's params.
CONTAINER_ONLY = {
    "num_round",
    "csv_weights",
    "early_stopping_rounds",
    "_kfold",
    "_num_cv_round",
    "_tuning_objective_metric",
    "save_model_on_termination",
    "use_dask_gpu_training",
}


def _parse(name: str, spec: _Spec, raw: str) -> Any:
    try:
        if spec.kind == "int":
            return int(raw)
        if spec.kind == "float":
            return float(raw)
        if spec.kind == "list":
            return [part.strip() for part in str(raw).split(",")]
        return raw
    except ValueError as error:
        raise UserError(f"Hyperparameter {name}: could not parse value (caused by ValueError)") from error


def _check_range(name: str, spec: _Spec, value: Any) -> None:
    if spec.kind in ("int", "float"):
        if (isinstance(value, float) and math.isnan(value)) or value not in spec.range:
            raise UserError(f"Hyperparameter {name}: {value} is not in {spec.range}")
    elif spec.kind == "categorical" and value not in spec.range:
        raise UserError(f"Hyperparameter {name}: {value} is not in {spec.range}")
    elif name == "eval_metric":
        for metric in value:
            base = metric.split("@")[0].strip()
            if base not in _MAXIMIZE_METRICS + _MINIMIZE_METRICS:
                raise UserError(
                    f"Hyperparameter eval_metric: value {value} not in range {_MAXIMIZE_METRICS + _MINIMIZE_METRICS}"
                )


_DependencyCheck = Callable[[dict[str, Any]], None]


def _check_dependencies(values: dict[str, Any]) -> None:
    objective = values.get("objective")
    num_class = values.get("num_class")
    if objective in ("multi:softmax", "multi:softprob") and num_class is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")
    metrics = values.get("eval_metric") or []
    if "auc" in metrics and not any(str(objective).startswith(p) for p in ("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")


def validate(hyperparameters: dict[str, str]) -> dict[str, Any]:
    """Validate and convert the job's string hyperparameters; raise ``UserError`` like the container."""
    given = {ALIASES.get(name, name): value for name, value in hyperparameters.items()}
    if "num_round" not in given:
        raise UserError("Missing required hyperparameter: num_round")
    converted: dict[str, Any] = {}
    for name, raw in given.items():
        spec = SPECS.get(name)
        if spec is None:
            raise UserError(f"Extraneous hyperparameter found: {name}")
        converted[name] = _parse(name, spec, raw)
    for name, value in converted.items():
        _check_range(name, SPECS[name], value)
    _check_dependencies(converted)
    return converted


def default_metric(objective: str) -> str:
    """The metric xgboost evaluates when no eval_metric is given."""
    if objective.startswith("binary:logistic") or objective == "reg:logistic":
        return "logloss"
    if objective.startswith("binary:"):
        return "error"
    if objective == "multi:softprob":
        return "mlogloss"
    if objective == "multi:softmax":
        return "merror"
    if objective.startswith("rank:"):
        return "map" if objective == "rank:map" else "ndcg"
    if objective == "count:poisson":
        return "poisson-nloglik"
    if objective == "reg:gamma":
        return "gamma-nloglik"
    if objective == "reg:tweedie":
        return "tweedie-nloglik"
    if objective == "survival:cox":
        return "cox-nloglik"
    if objective == "survival:aft":
        return "aft-nloglik"
    if objective == "reg:pseudohubererror":
        return "mphe"
    if objective == "reg:squaredlogerror":
        return "rmsle"
    return "rmse"
