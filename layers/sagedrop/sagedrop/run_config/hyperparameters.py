"""The built-in XGBoost algorithm's hyperparameters: which names a run configuration may set, and how.

Values travel as strings (the CreateTrainingJob request takes strings); numbers and booleans from a
sagedrop.json are converted here. The rules on names, values (the container's ranges and choices,
``eval_metric``'s metric names), ``objective`` and ``num_round`` run in ``RunConfig``'s model
validator, with the problem type when the configuration names one, so a typo or a value out of
range fails the run at preparation, naming the key, rather than the training job after it started.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sagedrop.problem_types import XGBOOST_OBJECTIVES, ProblemType

# sagedrop's XGBoost defaults, measured by benchmarks/defaults_sweep.py on bank-full, digits, wine and
# diabetes against the AWS bank-marketing tutorial's set (max_depth 5, eta 0.2, gamma 4, min_child_weight 6,
# subsample 0.7, 50 rounds): a lower eta with early stopping on the validation split (num_round is a cap),
# and no gamma / min_child_weight (the tutorial's 4 and 6 cost digits three points of accuracy). Without a
# validation split there is no early stopping: the training step caps num_round (NO_VALIDATION_MAX_ROUNDS).
DEFAULT_XGBOOST_HYPERPARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "max_depth": "5",
        "eta": "0.05",
        "subsample": "0.8",
        "colsample_bytree": "0.8",
        "num_round": "2000",
        "early_stopping_rounds": "50",
    }
)
#: Rounds trained when a run has no validation split (no early stopping): about what early stopping keeps on bank-full.
NO_VALIDATION_MAX_ROUNDS = 400

# Hyperparameters the SageMaker built-in XGBoost algorithm accepts (algorithm mode): the container's
# algorithm_mode/hyperparameter_validation.py plus its declared aliases. Any other name makes the
# training job fail with "Extraneous hyperparameter".
XGBOOST_HYPERPARAMETERS = frozenset(
    {
        "num_round",
        "early_stopping_rounds",
        "booster",
        "verbosity",
        "nthread",
        "eta",
        "learning_rate",
        "gamma",
        "min_split_loss",
        "max_depth",
        "min_child_weight",
        "max_delta_step",
        "subsample",
        "colsample_bytree",
        "colsample_bylevel",
        "colsample_bynode",
        "lambda",
        "reg_lambda",
        "alpha",
        "reg_alpha",
        "tree_method",
        "sketch_eps",
        "scale_pos_weight",
        "updater",
        "dsplit",
        "refresh_leaf",
        "process_type",
        "grow_policy",
        "max_leaves",
        "max_bin",
        "predictor",
        "monotone_constraints",
        "interaction_constraints",
        "sample_type",
        "normalize_type",
        "rate_drop",
        "one_drop",
        "skip_drop",
        "lambda_bias",
        "tweedie_variance_power",
        "base_score",
        "eval_metric",
        "seed",
        "num_parallel_tree",
        "save_model_on_termination",
        "aft_loss_distribution",
        "aft_loss_distribution_scale",
        "single_precision_histogram",
        "deterministic_histogram",
        "sampling_method",
        "prob_buffer_row",
        # Set by the pipeline; a run configuration may set objective only with an explicit problem_type
        # (hyperparameter_problems), the other two never (REJECTED_HYPERPARAMETERS).
        "objective",
        "num_class",
        "csv_weights",
    }
)

# Hyperparameters that exist but that a run configuration may not set, and why.
REJECTED_HYPERPARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "silent": "'silent' was removed from XGBoost 1.2; use 'verbosity' (0 silent … 3 debug)",
        "num_class": "'num_class' is set by sagedrop from the number of classes in the label column",
        "csv_weights": "'csv_weights' is not supported: sagedrop writes no instance-weight column",
    }
)


@dataclass(frozen=True)
class ValueRule:
    """What the XGBoost container accepts for one hyperparameter (its hyperparameter_validation.py).

    ``kind``: ``int`` (Python ``int()`` of the text), ``float``, ``choice`` (one of ``choices``),
    ``metrics`` (a comma-separated list of metric names) or ``free`` (not checked). Bounds are
    closed unless marked open.
    """

    kind: str
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    choices: tuple[str, ...] = ()

    def problem(self, text: str) -> str | None:
        """Why the container would refuse ``text``, in words; None when it accepts it."""
        if self.kind == "free":
            return None
        if self.kind == "choice":
            return None if text in self.choices else f"{text!r} is not one of {', '.join(map(repr, self.choices))}"
        if self.kind == "metrics":
            return _metrics_problem(text)
        try:
            value: float = int(text) if self.kind == "int" else float(text)
        except ValueError:
            return f"{text!r} is not valid; expects {self.describe()}"
        if not math.isfinite(value) or not self.contains(value):
            return f"{text!r} is not valid; expects {self.describe()}"
        return None

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def describe(self) -> str:
        noun = "an integer" if self.kind == "int" else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"greater than {'' if self.low_open else 'or equal to '}{_number(self.low)}")
        if self.high is not None:
            parts.append(f"less than {'' if self.high_open else 'or equal to '}{_number(self.high)}")
        return " ".join([noun, " and ".join(parts)]).strip()


def _int(**bounds: Any) -> ValueRule:
    return ValueRule("int", **bounds)


def _float(**bounds: Any) -> ValueRule:
    return ValueRule("float", **bounds)


def _choice(*choices: str) -> ValueRule:
    return ValueRule("choice", choices=choices)


_BOOLEAN = _choice("true", "false")
#: The container's ranges and choices (algorithm_mode/hyperparameter_validation.py), keyed by the
#: name it validates; ALIASES map the other names it reads. A value outside them fails the job
#: before training ("Hyperparameter eta: 1.5 is not in [0, 1]"); sagedrop refuses it at preparation.
XGBOOST_VALUE_RULES: Mapping[str, ValueRule] = MappingProxyType(
    {
        "num_round": _int(low=1),
        "early_stopping_rounds": _int(low=1),
        "booster": _choice("gbtree", "gblinear", "dart"),
        "verbosity": _int(low=0, high=3),
        "nthread": _int(low=1),
        "eta": _float(low=0, high=1),
        "gamma": _float(low=0),
        "max_depth": _int(low=0),
        "min_child_weight": _float(low=0),
        "max_delta_step": _float(low=0),
        "subsample": _float(low=0, low_open=True, high=1),
        "colsample_bytree": _float(low=0, low_open=True, high=1),
        "colsample_bylevel": _float(low=0, low_open=True, high=1),
        "colsample_bynode": _float(low=0, low_open=True, high=1),
        "lambda": _float(low=0),
        "alpha": _float(low=0),
        "tree_method": _choice("auto", "exact", "approx", "hist", "gpu_hist"),
        "sketch_eps": _float(low=0, low_open=True, high=1, high_open=True),
        "scale_pos_weight": _float(low=0, low_open=True),
        "updater": ValueRule("free"),
        "dsplit": _choice("row", "col"),
        "refresh_leaf": _int(low=0, high=1),
        "process_type": _choice("default", "update"),
        "grow_policy": _choice("depthwise", "lossguide"),
        "max_leaves": _int(low=0),
        "max_bin": _int(low=0),
        "predictor": _choice("auto", "cpu_predictor", "gpu_predictor"),
        "monotone_constraints": ValueRule("free"),
        "interaction_constraints": ValueRule("free"),
        "sample_type": _choice("uniform", "weighted"),
        "normalize_type": _choice("tree", "forest"),
        "rate_drop": _float(low=0, high=1),
        "one_drop": _int(low=0, high=1),
        "skip_drop": _float(low=0, high=1),
        "lambda_bias": _float(low=0, high=1),
        "tweedie_variance_power": _float(low=1, low_open=True, high=2, high_open=True),
        "base_score": _float(low=0),
        "eval_metric": ValueRule("metrics"),
        "seed": _int(low=-(2**31), low_open=True, high=2**31 - 1, high_open=True),
        "num_parallel_tree": _int(low=1),
        "save_model_on_termination": _BOOLEAN,
        "aft_loss_distribution": _choice("normal", "logistic", "extreme"),
        "aft_loss_distribution_scale": _float(low=0),
        "single_precision_histogram": _BOOLEAN,
        "deterministic_histogram": _BOOLEAN,
        "sampling_method": _choice("uniform", "gradient_based"),
        "prob_buffer_row": _float(low=1.0, low_open=True),
    }
)
XGBOOST_ALIASES: Mapping[str, str] = MappingProxyType(
    {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}
)
#: The metrics the container accepts in eval_metric (its metrics.py; a name may carry "@<threshold>").
XGBOOST_METRICS = frozenset(
    {
        "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
        "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
        "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
        "interval-regression-accuracy", "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse",
        "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
    }
)  # fmt: skip


def _metrics_problem(text: str) -> str | None:
    unknown = [
        metric for metric in (part.strip() for part in text.split(",")) if metric.split("@")[0] not in XGBOOST_METRICS
    ]
    if not unknown:
        return None
    hint = did_you_mean(unknown[0].split("@")[0], XGBOOST_METRICS)
    return (
        f"{unknown[0]!r} is not a metric the XGBoost container computes{hint}; "
        f"eval_metric is a comma-separated list of: {', '.join(sorted(XGBOOST_METRICS))}"
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Hyperparameters(Mapping[str, str]):
    """An immutable name → value mapping; equal to any mapping with the same items, hashable, picklable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items = dict(items)

    def __getitem__(self, name: str) -> str:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"Hyperparameters({self._items!r})"

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:
        return (Hyperparameters, (self._items,))


class HyperparameterValueError(ValueError):
    """A value that cannot be sent as a hyperparameter; the message says why."""


def as_text(value: Any) -> str:
    """A JSON value as the training request sends it: ``6`` and ``6.0`` → ``"6"``, ``true`` → ``"true"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HyperparameterValueError(f"{value!r} is not a finite number")
        # "5.0" would fail the container's integer hyperparameters (max_depth, num_round).
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        if not value.strip():
            raise HyperparameterValueError("the value is empty")
        return value.strip()
    raise HyperparameterValueError(f"{value!r} is not of type 'string', 'number' or 'boolean'")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def allowed_names() -> list[str]:
    """The names a run configuration may set (``objective`` only with a problem_type)."""
    return sorted(XGBOOST_HYPERPARAMETERS - set(REJECTED_HYPERPARAMETERS))


def hyperparameter_problems(
    hyperparameters: Mapping[str, str], problem_type: ProblemType | None
) -> list[tuple[str, str]]:
    """(name, problem) for each hyperparameter the training job would reject or the evaluation misread."""
    problems: list[tuple[str, str]] = []
    for name in sorted(hyperparameters):
        if name in REJECTED_HYPERPARAMETERS:
            problems.append((name, REJECTED_HYPERPARAMETERS[name]))
        elif name not in XGBOOST_HYPERPARAMETERS:
            problems.append((name, f"unknown XGBoost hyperparameter {name!r}{did_you_mean(name, allowed_names())}"))
        elif name == "objective":
            problem = _objective_problem(hyperparameters[name], problem_type)
            if problem:
                problems.append((name, problem))
        elif name != "num_round":
            problem = _value_problem(name, hyperparameters[name], problem_type)
            if problem:
                problems.append((name, problem))
    rounds = hyperparameters.get("num_round")
    if rounds is None:
        problems.append(("num_round", "XGBoost requires num_round (the number of boosting rounds)"))
    elif not (rounds.isascii() and rounds.isdigit()) or int(rounds) < 1:
        problems.append(("num_round", f"{rounds!r} is not a whole number ≥ 1"))
    return problems


def _value_problem(name: str, value: str, problem_type: ProblemType | None) -> str | None:
    """The container's range or choice check, and the value rules that depend on the problem type."""
    problem = XGBOOST_VALUE_RULES[XGBOOST_ALIASES.get(name, name)].problem(value)
    if problem or problem_type is None:
        return problem
    kind = ProblemType(problem_type)
    metrics = {part.strip() for part in value.split(",")} if name == "eval_metric" else set()
    if "auc" in metrics and kind is not ProblemType.BINARY:
        # The container: "Metric 'auc' can only be applied for classification and ranking problems"
        # (its objective test admits binary: and rank: only, so multi:softprob is refused too).
        return f"'auc' is for binary classification only; the XGBoost container refuses it for {kind.value!r}"
    if name == "base_score" and kind is ProblemType.BINARY and not 0 < float(value) < 1:
        # XGBoost: "base_score must be in (0,1) for logistic loss".
        return f"{value!r} is not valid for binary classification; expects a number greater than 0 and less than 1"
    return None


def _objective_problem(objective: str, problem_type: ProblemType | None) -> str | None:
    # The evaluation reads probabilities for classification and values for regression: only the
    # objectives in XGBOOST_OBJECTIVES[...].allowed produce those.
    if problem_type is None:
        allowed = "; ".join(f"{kind}: {', '.join(table.allowed)}" for kind, table in XGBOOST_OBJECTIVES.items())
        return (
            "'objective' is set by sagedrop from the problem type; to choose it, "
            f"also set problem_type (allowed: {allowed})"
        )
    allowed = XGBOOST_OBJECTIVES[ProblemType(problem_type)].allowed
    if objective not in allowed:
        return f"{objective!r} does not fit problem_type {str(problem_type)!r} (allowed: {', '.join(allowed)})"
    return None
