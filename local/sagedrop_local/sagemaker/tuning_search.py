"""What a local tuning job searches: its request checked, its ranges, and the hyperparameters of each trial.

Checks, before anything is made (worded after SageMaker's errors where a public example shows the
text: the 32-character name, "A metric is required for this hyperparameter tuning job objective";
the others are worded in the same manner): the name; one ``TrainingJobDefinition`` (several are not
emulated); Strategy ``Bayesian`` or ``Random`` (Hyperband and Grid are not emulated); an objective whose
metric the built-in algorithm emits (:data:`METRICS`, the developer guide's tables); every range on
a documented tunable hyperparameter of the algorithm (:data:`TUNABLE`), none of them also static,
bounds that are numbers in order, a logarithmic scale only above 0.

The search is **not SageMaker's Bayesian optimiser**: it is seeded from the tuning job's name, starts
with a Latin hypercube over the ranges (categorical values in turn), then proposes points around the
best trial so far (a Gaussian step in the scaled space that narrows as trials accumulate), with one
proposal in five drawn at random. ``Random`` draws every point at random. A point is a list of
numbers in [0, 1), one per range, mapped to a value by the range's scale.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass

from sagedrop.image_uris import LINEAR_LEARNER

from .algorithms import XGBOOST, algorithm_of
from .errors import validation_exception

NAME_MAX_CHARS = 32
_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
STRATEGIES = ("Bayesian", "Random")
_EXPLORE = 0.2  # share of adaptive proposals drawn at random

#: The documented tunable hyperparameters of each built-in algorithm ("Tune an XGBoost model",
#: "Tune a linear learner model").
TUNABLE: dict[str, tuple[str, ...]] = {
    XGBOOST: (
        "alpha",
        "colsample_bylevel",
        "colsample_bynode",
        "colsample_bytree",
        "eta",
        "gamma",
        "lambda",
        "max_delta_step",
        "max_depth",
        "min_child_weight",
        "num_round",
        "subsample",
    ),
    LINEAR_LEARNER: ("wd", "l1", "learning_rate", "mini_batch_size", "use_bias", "positive_example_weight_mult"),
}
_XGBOOST_METRICS = ("accuracy", "auc", "error", "f1", "logloss", "mae", "map", "merror", "mlogloss", "mse", "ndcg")
_LINEAR_LEARNER_METRICS = (
    "absolute_loss",
    "binary_classification_accuracy",
    "binary_f_beta",
    "dcg",
    "macro_f_beta",
    "macro_precision",
    "macro_recall",
    "mse",
    "multiclass_accuracy",
    "multiclass_top_k_accuracy",
    "objective_loss",
    "precision",
    "recall",
    "roc_auc_score",
)
#: The metrics each built-in algorithm emits, which an objective may name.
METRICS: dict[str, frozenset[str]] = {
    XGBOOST: frozenset(f"{channel}:{m}" for channel in ("train", "validation") for m in (*_XGBOOST_METRICS, "rmse")),
    LINEAR_LEARNER: frozenset(f"{channel}:{m}" for channel in ("test", "validation") for m in _LINEAR_LEARNER_METRICS),
}
_KINDS = ("Integer", "Continuous", "Categorical")


@dataclass(frozen=True)
class Range:
    """One ParameterRanges entry: ``low``/``high`` for numbers, ``values`` for a categorical range."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()

    def value(self, u: float) -> str:
        """The hyperparameter's text at ``u`` in [0, 1) of the range."""
        if self.kind == "Categorical":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        top = self.high + 1 if self.kind == "Integer" else self.high  # an integer range owns [low, high + 1)
        if self.scaling == "Logarithmic":
            x = math.exp(math.log(self.low) + u * (math.log(top) - math.log(self.low)))
        elif self.scaling == "ReverseLogarithmic":
            x = 1 - math.exp(math.log(1 - self.low) + u * (math.log(1 - top) - math.log(1 - self.low)))
        else:
            x = self.low + u * (top - self.low)
        if self.kind == "Integer":
            return str(min(max(math.floor(x), int(self.low)), int(self.high)))
        x = min(max(x, self.low), self.high)
        text = format(x, ".6g")  # readable, unless the rounding leaves the range
        return text if self.low <= float(text) <= self.high else repr(x)


@dataclass(frozen=True)
class Plan:
    """What the job's thread needs: the algorithm, objective, limits, ranges and static hyperparameters."""

    algorithm: str
    metric: str
    maximize: bool
    strategy: str
    max_jobs: int
    max_parallel: int
    ranges: tuple[Range, ...]
    static: dict[str, str]


def plan_of(params: dict) -> Plan:
    """Check a CreateHyperParameterTuningJob request; the Plan it describes, or a ValidationException."""
    name = params["HyperParameterTuningJobName"]
    if len(name) > NAME_MAX_CHARS:
        raise validation_exception(
            f"1 validation error detected: Value '{name}' at 'hyperParameterTuningJobName' failed to satisfy "
            f"constraint: Member must have length less than or equal to {NAME_MAX_CHARS}"
        )
    if not _NAME_PATTERN.match(name):
        raise validation_exception(
            f"1 validation error detected: Value '{name}' at 'hyperParameterTuningJobName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"
        )
    config, definition = params["HyperParameterTuningJobConfig"], params.get("TrainingJobDefinition")
    if params.get("TrainingJobDefinitions") or definition is None:
        raise validation_exception("The local SageMaker emulates a tuning job of one TrainingJobDefinition.")
    if config["Strategy"] not in STRATEGIES:
        raise validation_exception(
            f"Strategy {config['Strategy']} is not emulated by the local SageMaker (Bayesian or Random)."
        )
    objective = config.get("HyperParameterTuningJobObjective") or definition.get("TuningObjective")
    if objective is None:
        raise validation_exception(
            "A HyperParameterTuningJobObjective is required for the Bayesian and Random strategies."
        )
    limits = config["ResourceLimits"]
    if "MaxNumberOfTrainingJobs" not in limits:
        raise validation_exception("ResourceLimits.MaxNumberOfTrainingJobs is required by the local SageMaker.")
    image = (definition.get("AlgorithmSpecification") or {}).get("TrainingImage")
    algorithm = algorithm_of(image)
    if objective["MetricName"] not in METRICS[algorithm]:
        raise validation_exception(
            "A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric "
            f"definitions. ({objective['MetricName']} is not a metric of the algorithm {image}.)"
        )
    static = dict(definition.get("StaticHyperParameters") or {})
    ranges = _ranges(
        config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {}, algorithm, image, static
    )
    return Plan(
        algorithm=algorithm,
        metric=objective["MetricName"],
        maximize=objective["Type"] == "Maximize",
        strategy=config["Strategy"],
        max_jobs=limits["MaxNumberOfTrainingJobs"],
        max_parallel=limits["MaxParallelTrainingJobs"],
        ranges=ranges,
        static=static,
    )


def _ranges(given: dict, algorithm: str, image: str | None, static: dict[str, str]) -> tuple[Range, ...]:
    ranges = tuple(_range(kind, spec) for kind in _KINDS for spec in given.get(f"{kind}ParameterRanges") or [])
    if not ranges:
        raise validation_exception("ParameterRanges must contain at least one hyperparameter range.")
    names = [spec.name for spec in ranges]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise validation_exception(f"The hyperparameters {duplicates} have more than one range.")
    untunable = [name for name in names if name not in TUNABLE[algorithm]]
    if untunable:
        raise validation_exception(
            f"The hyperparameter tuning job that you requested has the following untunable hyperparameters: "
            f"{untunable}. For the algorithm, {image}, you can tune only {list(TUNABLE[algorithm])}."
        )
    both = [name for name in names if name in static]
    if both:
        raise validation_exception(
            f"The hyperparameters {both} are given both as static hyperparameters and as hyperparameter ranges. "
            "A hyperparameter is either static or tuned."
        )
    return ranges


def _range(kind: str, spec: dict) -> Range:
    name = spec["Name"]
    if kind == "Categorical":
        values = tuple(spec["Values"])
        if len(set(values)) != len(values):
            raise validation_exception(f"The categorical hyperparameter range {name} has duplicate values.")
        return Range(name, kind, values=values)
    number = int if kind == "Integer" else float
    try:
        low, high = number(spec["MinValue"]), number(spec["MaxValue"])
    except ValueError:
        raise validation_exception(
            f"The {kind.lower()} hyperparameter range {name} needs {kind.lower()} MinValue and MaxValue "
            f"({spec['MinValue']!r}, {spec['MaxValue']!r})."
        ) from None
    scaling = spec.get("ScalingType") or "Auto"
    if not low < high:
        raise validation_exception(f"For the hyperparameter range {name}, MinValue must be less than MaxValue.")
    if scaling == "Logarithmic" and low <= 0:
        raise validation_exception(f"For the hyperparameter range {name}, Logarithmic scaling needs MinValue > 0.")
    if scaling == "ReverseLogarithmic" and (kind == "Integer" or low < 0 or high >= 1):
        raise validation_exception(
            f"For the hyperparameter range {name}, ReverseLogarithmic scaling needs a continuous range within [0, 1)."
        )
    return Range(name, kind, float(low), float(high), "Linear" if scaling == "Auto" else scaling)


class Search:
    """The points of a tuning job's trials, reproducible from its name and the results observed."""

    def __init__(self, job_name: str, plan: Plan):
        self.plan = plan
        self.seed = int.from_bytes(hashlib.sha256(job_name.encode()).digest()[:8], "big")
        self.initial = min(plan.max_jobs, max(3, plan.max_parallel))
        design = random.Random(self.seed)
        self._strata = [design.sample(range(self.initial), self.initial) for _ in plan.ranges]

    def point(self, index: int, observed: list[tuple[list[float], float]]) -> list[float]:
        """Trial ``index``'s point, given (point, objective value) of the trials that reported one."""
        rng = random.Random(self.seed + index + 1)
        if self.plan.strategy == "Random":
            return [rng.random() for _ in self.plan.ranges]
        if index < self.initial:
            return [
                (index % len(spec.values) + 0.5) / len(spec.values)
                if spec.kind == "Categorical"
                else (strata[index] + rng.random()) / self.initial
                for spec, strata in zip(self.plan.ranges, self._strata, strict=True)
            ]
        if not observed or rng.random() < _EXPLORE:
            return [rng.random() for _ in self.plan.ranges]
        best = (max if self.plan.maximize else min)(observed, key=lambda seen: seen[1])[0]
        sigma = max(0.02, 0.25 / math.sqrt(1 + index - self.initial))
        return [
            (u if rng.random() < 0.7 else rng.random())
            if spec.kind == "Categorical"
            else min(max(rng.gauss(u, sigma), 0.0), math.nextafter(1.0, 0.0))
            for spec, u in zip(self.plan.ranges, best, strict=True)
        ]

    def hyperparameters(self, point: list[float]) -> dict[str, str]:
        return {spec.name: spec.value(u) for spec, u in zip(self.plan.ranges, point, strict=True)}
