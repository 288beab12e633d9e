"""The built-in XGBoost algorithm's hyperparameters: which names a run configuration may set, and how.

Values travel as strings (the CreateTrainingJob request takes strings); numbers and booleans from a
sagedrop.json are converted here. The rules on names, ``objective`` and ``num_round`` run after the
problem type is known (``RunConfig``'s model validator), so a typo fails the run before training.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from sagedrop.problem_types import XGBOOST_OBJECTIVES, ProblemType

# The tutorial's hyperparameters (the AWS bank-marketing notebook).
TUTORIAL_HYPERPARAMETERS: Mapping[str, str] = MappingProxyType(
    {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.7", "num_round": "50"}
)

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
    rounds = hyperparameters.get("num_round")
    if rounds is None:
        problems.append(("num_round", "XGBoost requires num_round (the number of boosting rounds)"))
    elif not (rounds.isascii() and rounds.isdigit()) or int(rounds) < 1:
        problems.append(("num_round", f"{rounds!r} is not a whole number ≥ 1"))
    return problems


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
