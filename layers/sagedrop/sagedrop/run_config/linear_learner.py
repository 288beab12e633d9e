"""The built-in Linear Learner algorithm's hyperparameters: documented names, values, defaults, and our rules.

One declaration for two readers: the run configuration (which names a sagedrop.json may set and
what their values may be, checked before anything is trained) and the local emulation of the
container, which validates a job's hyperparameters against the same table with the container's
wording. The table is the developer guide's "Linear learner hyperparameters": every documented
name, its type, range and default (``auto`` defaults are resolved by the trainer), plus
``_tuning_objective_metric``, which automatic model tuning adds to each job.

sagedrop sets ``predictor_type`` (from the problem type), ``feature_dim`` (the number of feature
columns) and ``num_classes`` (multiclass) itself; a run configuration may not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sagedrop.algorithms import LINEAR_LEARNER_PROBLEMS
from sagedrop.problem_types import ProblemType
from sagedrop.run_config.hyperparameters import XGBOOST_HYPERPARAMETERS, did_you_mean

AUTO = "auto"
PREDICTOR_TYPES = tuple(problem.predictor_type for problem in LINEAR_LEARNER_PROBLEMS.values())
BINARY, MULTICLASS, REGRESSOR = PREDICTOR_TYPES
# The losses the container trains each predictor type with; the first is what `auto` means.
LOSSES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        BINARY: ("logistic", "hinge_loss"),
        MULTICLASS: ("softmax_loss",),
        REGRESSOR: LINEAR_LEARNER_PROBLEMS[ProblemType.REGRESSION].losses,
    }
)
SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
)


@dataclass(frozen=True)
class HyperparameterSpec:
    """One documented hyperparameter: ``kind`` int | float | enum | free, its default and accepted values.

    ``words``: the values of an enum, or the words a number also accepts (``auto``, ``balanced``).
    """

    kind: str
    default: Any = None
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    words: tuple[str, ...] = ()

    def parse(self, text: str) -> Any:
        """The value as the container reads it (a word, an int or a float); ValueError when it is not valid."""
        text = text.strip()
        if self.kind == "free":
            return text
        lowered = text.lower()
        if self.kind == "enum":
            # The SDK serialises Python booleans as "True"/"False"; the container takes either case.
            value = lowered if lowered in self.words and {"true", "false"} & set(self.words) else text
            if value not in self.words:
                raise ValueError(text)
            return value
        if lowered in self.words:
            return lowered
        number: float | int = float(text)  # ValueError for anything else
        if self.kind == "int":
            if not number.is_integer():
                raise ValueError(text)
            number = int(number)
        if not self.in_range(number):
            raise ValueError(text)
        return number

    def describe(self) -> str:
        """What a value may be, in words: ``one of 'a', 'b'`` or ``an integer ≥ 1, or 'auto'``."""
        if self.kind == "enum":
            return "one of " + ", ".join(f"'{word}'" for word in self.words)
        if self.kind == "free":
            return "any text"
        words = "".join(f", or '{word}'" for word in self.words)
        return self.describe_number() + words

    def describe_number(self) -> str:
        noun = "an integer" if self.kind == "int" else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"greater than {'' if self.low_open else 'or equal to '}{_text(self.low)}")
        if self.high is not None:
            parts.append(f"less than {'' if self.high_open else 'or equal to '}{_text(self.high)}")
        return " ".join([noun, " and ".join(parts)]).strip()

    def in_range(self, value: float) -> bool:
        if math.isnan(value) or math.isinf(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))


def _text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _int(default=None, *words, low=None, high=None):
    return HyperparameterSpec("int", default, low=low, high=high, words=words)


def _float(default=None, *words, low=None, low_open=False, high=None, high_open=False):
    return HyperparameterSpec("float", default, low=low, low_open=low_open, high=high, high_open=high_open, words=words)


def _enum(default, *values):
    return HyperparameterSpec("enum", default, words=values)


_BOOL = ("true", "false")
_AUTO_BOOL = (AUTO, "true", "false")

#: The documented table, in the guide's order of importance (the three sagedrop sets first).
SPECS: Mapping[str, HyperparameterSpec] = MappingProxyType(
    {
        "predictor_type": _enum(None, *PREDICTOR_TYPES),
        "feature_dim": _int(AUTO, AUTO, low=1),
        "num_classes": _int(None, low=3, high=1_000_000),
        "accuracy_top_k": _int(3, low=1),
        "balance_multiclass_weights": _enum("false", *_BOOL),
        "beta_1": _float(AUTO, AUTO, low=0, high=1, high_open=True),
        "beta_2": _float(AUTO, AUTO, low=0, high=1, high_open=True),
        "bias_lr_mult": _float(AUTO, AUTO, low=0, low_open=True),
        "bias_wd_mult": _float(AUTO, AUTO, low=0),
        "binary_classifier_model_selection_criteria": _enum("accuracy", *SELECTION_CRITERIA),
        "early_stopping_patience": _int(3, low=1),
        "early_stopping_tolerance": _float(0.001, low=0, low_open=True),
        "epochs": _int(15, low=1),
        "f_beta": _float(1.0, low=0, low_open=True),
        "huber_delta": _float(1.0, low=0, low_open=True),
        "init_bias": _float(0.0),
        "init_method": _enum("uniform", "uniform", "normal"),
        "init_scale": _float(0.07, low=0, low_open=True),
        "init_sigma": _float(0.01, low=0, low_open=True),
        "l1": _float(AUTO, AUTO, low=0),
        "learning_rate": _float(AUTO, AUTO, low=0, low_open=True),
        "loss": _enum(AUTO, AUTO, *(loss for losses in LOSSES.values() for loss in losses)),
        "loss_insensitivity": _float(0.01, low=0, low_open=True),
        "lr_scheduler_factor": _float(AUTO, AUTO, low=0, low_open=True, high=1, high_open=True),
        "lr_scheduler_minimum_lr": _float(AUTO, AUTO, low=0, low_open=True),
        "lr_scheduler_step": _int(AUTO, AUTO, low=1),
        "margin": _float(1.0, low=0, low_open=True),
        "mini_batch_size": _int(1000, low=1),
        "momentum": _float(AUTO, AUTO, low=0, high=1, high_open=True),
        "normalize_data": _enum("true", *_AUTO_BOOL),
        "normalize_label": _enum(AUTO, *_AUTO_BOOL),
        "num_calibration_samples": _int(AUTO, AUTO, low=1),
        "num_models": _int(AUTO, AUTO, low=1),
        "num_point_for_scaler": _int(10_000, low=1),
        "optimizer": _enum(AUTO, AUTO, "sgd", "adam", "rmsprop"),
        "positive_example_weight_mult": _float(1.0, "balanced", AUTO, low=0, low_open=True),
        "quantile": _float(0.5, low=0, low_open=True, high=1, high_open=True),
        "target_precision": _float(0.8, low=0, low_open=True, high=1, high_open=True),
        "target_recall": _float(0.8, low=0, low_open=True, high=1, high_open=True),
        "unbias_data": _enum(AUTO, *_AUTO_BOOL),
        "unbias_label": _enum(AUTO, *_AUTO_BOOL),
        "use_bias": _enum("true", *_BOOL),
        "use_lr_scheduler": _enum("true", *_BOOL),
        "wd": _float(AUTO, AUTO, low=0),
        "_tuning_objective_metric": HyperparameterSpec("free"),
    }
)
REQUIRED = ("predictor_type",)

# Names the container accepts that a run configuration may not set, and why.
REJECTED_HYPERPARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "predictor_type": "'predictor_type' is set by sagedrop from the problem type "
        "(binary_classifier, multiclass_classifier or regressor); set problem_type to choose it",
        "feature_dim": "'feature_dim' is set by sagedrop from the number of feature columns of the data",
        "num_classes": "'num_classes' is set by sagedrop from the number of classes in the label column",
        "_tuning_objective_metric": "'_tuning_objective_metric' is set by automatic model tuning, not by a run",
    }
)

#: sagedrop's defaults for a Linear Learner run (the container's own for every other name): a
#: mini-batch of 100 rows rather than 1,000, so a small upload still gets several updates per epoch
#: (with 1,000, a 700-row training split is one step an epoch), and up to 30 epochs rather than 15,
#: which early stopping on the validation channel cuts short once the loss stops improving.
DEFAULT_HYPERPARAMETERS: Mapping[str, str] = MappingProxyType({"mini_batch_size": "100", "epochs": "30"})


def allowed_names() -> list[str]:
    """The names a run configuration may set (``loss`` other than ``auto`` only with a problem_type)."""
    return sorted(set(SPECS) - set(REJECTED_HYPERPARAMETERS))


def hyperparameter_problems(
    hyperparameters: Mapping[str, str], problem_type: ProblemType | None
) -> list[tuple[str, str]]:
    """(name, problem) for each hyperparameter the training job would reject or the evaluation misread."""
    problems: list[tuple[str, str]] = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        if name in REJECTED_HYPERPARAMETERS:
            problems.append((name, REJECTED_HYPERPARAMETERS[name]))
        elif name not in SPECS:
            if name in XGBOOST_HYPERPARAMETERS:
                hint = " (it is an XGBoost hyperparameter, and algorithm is 'linear-learner')"
            else:
                hint = did_you_mean(name, allowed_names())
            problems.append((name, f"unknown Linear Learner hyperparameter {name!r}{hint}"))
        else:
            try:
                SPECS[name].parse(value)
            except ValueError:
                problems.append((name, f"{value!r} is not valid; expects {SPECS[name].describe()}"))
                continue
            if name == "loss":
                problem = _loss_problem(value.strip(), problem_type)
                if problem:
                    problems.append((name, problem))
    return problems


def _loss_problem(loss: str, problem_type: ProblemType | None) -> str | None:
    # The label decoder reads the score as a probability (classification) or a value (regression):
    # only the losses in LINEAR_LEARNER_PROBLEMS[...].losses answer that.
    if loss == AUTO:
        return None
    if problem_type is None:
        allowed = "; ".join(f"{kind}: {', '.join(problem.losses)}" for kind, problem in LINEAR_LEARNER_PROBLEMS.items())
        return (
            "'loss' is chosen by Linear Learner from the problem type; to choose it, "
            f"also set problem_type (allowed: {allowed})"
        )
    allowed = LINEAR_LEARNER_PROBLEMS[ProblemType(problem_type)].losses
    if loss not in allowed:
        return f"{loss!r} does not fit problem_type {str(problem_type)!r} (allowed: auto, {', '.join(allowed)})"
    return None
