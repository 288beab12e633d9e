"""The built-in algorithms a run can train with, and what each one means for the rest of the pipeline.

One declaration: the run configuration's ``algorithm`` values, the image each trains and serves
with (``sagedrop.image_uris`` names them the same way), which of them reads a missing value, which
has a single-container (serverless) form, what the algorithm container of the inference pipeline
answers, and the Linear Learner's predictor type and headline metric per problem type (XGBoost's
objective table is ``sagedrop.problem_types.XGBOOST_OBJECTIVES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sagedrop.image_uris import LINEAR_LEARNER, XGBOOST
from sagedrop.problem_types import XGBOOST_OBJECTIVES, ProblemType


class Algorithm(StrEnum):
    """As written in sagedrop.json (``"algorithm"``); also the image table's framework name."""

    XGBOOST = XGBOOST
    LINEAR_LEARNER = LINEAR_LEARNER

    @property
    def display_name(self) -> str:
        return "XGBoost" if self is Algorithm.XGBOOST else "Linear Learner"

    @property
    def reads_missing_values(self) -> bool:
        """XGBoost reads an empty CSV field as missing; Linear Learner fails the job on one."""
        return self is Algorithm.XGBOOST

    @property
    def has_single_container_form(self) -> bool:
        """Only the XGBoost image runs our serving code in script mode (the serverless form)."""
        return self is Algorithm.XGBOOST

    @property
    def answer_type(self) -> str:
        """What the algorithm container answers inside the inference pipeline (its default Accept).

        XGBoost answers CSV; Linear Learner has no CSV answer (JSON, JSON lines or RecordIO only).
        """
        return "text/csv" if self is Algorithm.XGBOOST else "application/json"

    def validation_metric(self, problem_type: ProblemType) -> str:
        """The metric the training job reports on the validation channel that the run reads first."""
        if self is Algorithm.XGBOOST:
            return f"validation:{XGBOOST_OBJECTIVES[ProblemType(problem_type)].eval_metric}"
        return f"validation:{LINEAR_LEARNER_PROBLEMS[ProblemType(problem_type)].validation_metric}"


@dataclass(frozen=True)
class LinearLearnerProblem:
    """How Linear Learner solves one problem type.

    ``predictor_type``: the hyperparameter sagedrop sets; ``losses``: the losses whose ``score`` the
    label decoder reads (P(class 1), class probabilities, or the value; ``hinge_loss`` answers a
    margin, not a probability); ``validation_metric``: the documented metric that matches the
    XGBoost run's ``eval_metric`` (ROC AUC, the softmax loss, the squared error).
    """

    predictor_type: str
    losses: tuple[str, ...]
    validation_metric: str


LINEAR_LEARNER_PROBLEMS: dict[ProblemType, LinearLearnerProblem] = {
    ProblemType.BINARY: LinearLearnerProblem("binary_classifier", ("logistic",), "roc_auc_score"),
    ProblemType.MULTICLASS: LinearLearnerProblem("multiclass_classifier", ("softmax_loss",), "objective_loss"),
    ProblemType.REGRESSION: LinearLearnerProblem(
        "regressor",
        (
            "squared_loss",
            "absolute_loss",
            "eps_insensitive_squared_loss",
            "eps_insensitive_absolute_loss",
            "quantile_loss",
            "huber_loss",
        ),
        "mse",
    ),
}

ALGORITHMS: tuple[str, ...] = tuple(algorithm.value for algorithm in Algorithm)
