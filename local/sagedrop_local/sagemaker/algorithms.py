"""Which built-in algorithm a training image or a model container runs, and its local emulation.

The ECR repository in the image URI names the algorithm (``…/linear-learner:1``,
``…/sagemaker-xgboost:3.0-5``; ``sagedrop.image_uris`` resolves them). Linear Learner images go to
the Linear Learner emulation; every other image keeps what the local SageMaker always did: XGBoost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sagedrop.image_uris import LINEAR_LEARNER

from . import linear_learner, training
from .linear_learner_serving import LinearLearnerPredictor, LinearLearnerServer, load_model
from .model_server import HttpModelServer, ModelServer, load_boosters

XGBOOST = "xgboost"
DISPLAY_NAMES = {XGBOOST: "XGBoost", LINEAR_LEARNER: "Linear Learner"}


def repository(image: str | None) -> str:
    """The ECR repository of an image URI: ``…/linear-learner:1`` -> ``linear-learner``."""
    name = (image or "").rsplit("/", 1)[-1]
    return name.split("@", 1)[0].split(":", 1)[0]


def algorithm_of(image: str | None) -> str:
    # The table's framework name is also the repository's name for Linear Learner.
    return LINEAR_LEARNER if repository(image) == LINEAR_LEARNER else XGBOOST


@dataclass(frozen=True)
class TrainingAlgorithm:
    name: str
    train_job: Callable
    failure_reason: Callable[[Exception], str]


_TRAINING = {
    XGBOOST: TrainingAlgorithm(XGBOOST, training.train_job, training.failure_reason),
    LINEAR_LEARNER: TrainingAlgorithm(LINEAR_LEARNER, linear_learner.train_job, linear_learner.failure_reason),
}


def for_training(job: dict) -> TrainingAlgorithm:
    """The emulation that runs a CreateTrainingJob request, chosen by its TrainingImage."""
    return _TRAINING[algorithm_of((job.get("AlgorithmSpecification") or {}).get("TrainingImage"))]


def model_server_for(container: dict, model_dir: Path) -> HttpModelServer:
    """Load the unpacked model of one container into a server (not started yet); raises ``ModelLoadError``."""
    if algorithm_of(container.get("Image")) == LINEAR_LEARNER:
        return LinearLearnerServer(LinearLearnerPredictor(load_model(model_dir), container.get("Environment")))
    return ModelServer(load_boosters(model_dir))
