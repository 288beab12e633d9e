"""The problem types sagedrop solves, and what each means for training and evaluation.

One declaration: the run configuration, schema.json, the training request, the evaluation and the
local SageMaker all take their problem types, default objectives and validation metrics from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class ProblemType(StrEnum):
    """As written in sagedrop.json, schema.json and evaluation.json."""

    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not ProblemType.REGRESSION


@dataclass(frozen=True)
class XGBoostObjectives:
    """The default objective, the metric reported on the validation channel, and the allowed objectives.

    ``allowed``: the objectives whose predictions the evaluation step reads correctly (probabilities
    for classification, values for regression); a run configuration may choose one of them only
    together with an explicit problem_type. ``hyperparameters``: what a run with the ``default``
    objective trains with unless its configuration sets the name (under the run configuration's
    values, over xgboost's own defaults).
    """

    default: str
    eval_metric: str
    allowed: tuple[str, ...]
    hyperparameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class LabelDomain:
    """The labels a regression objective trains on: above ``bound`` (or at it, when ``inclusive``)."""

    bound: float
    inclusive: bool
    says: str  # as a person would say it: "positive", "non-negative", "greater than -1"

    def admits(self, value: float) -> bool:
        return value >= self.bound if self.inclusive else value > self.bound


#: XGBoost refuses to train on other labels (its objectives' label checks: "label must be positive for
#: gamma regression", ...), so a run with such a label is stopped at the preparation, naming the line.
LABEL_DOMAINS: dict[str, LabelDomain] = {
    "reg:gamma": LabelDomain(0.0, inclusive=False, says="positive"),
    "reg:tweedie": LabelDomain(0.0, inclusive=True, says="non-negative"),
    "count:poisson": LabelDomain(0.0, inclusive=True, says="non-negative"),
    "reg:squaredlogerror": LabelDomain(-1.0, inclusive=False, says="greater than -1"),
}


XGBOOST_OBJECTIVES: dict[ProblemType, XGBoostObjectives] = {
    ProblemType.BINARY: XGBoostObjectives("binary:logistic", "auc", ("binary:logistic",)),
    ProblemType.MULTICLASS: XGBoostObjectives("multi:softprob", "mlogloss", ("multi:softprob",)),
    ProblemType.REGRESSION: XGBoostObjectives(
        "reg:squarederror",
        "rmse",
        (
            "reg:squarederror",
            "reg:absoluteerror",
            "reg:pseudohubererror",
            "reg:squaredlogerror",
            "reg:gamma",
            "reg:tweedie",
            "count:poisson",
        ),
        # At least 20 rows per leaf (squared error's hessian is 1 per row; HistGradientBoosting's
        # min_samples_leaf). benchmarks/defaults_sweep.py, five splits: R² +0.005 on abalone and +0.05 on
        # diabetes, every split better. Only with the default objective: other objectives' hessians are
        # not one per row (count:poisson's is the predicted mean), and classification's are p(1-p), where
        # the same number means far larger leaves (the tutorial's 6 cost digits three points of accuracy).
        MappingProxyType({"min_child_weight": "20"}),
    ),
}

PROBLEM_TYPES: tuple[str, ...] = tuple(kind.value for kind in ProblemType)
