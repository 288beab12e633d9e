"""Automatic Model Tuning: the run's CreateHyperParameterTuningJob request, its polling and its trials.

A run with ``"tuning": {...}`` runs a tuning job instead of one training job: SageMaker's Bayesian
search over the ranges declared here for the run's algorithm (:data:`PARAMETER_RANGES`), each trial
a training job defined exactly like the single job (``training.training_job_definition``) with the
run's hyperparameters minus the tuned ones as its static hyperparameters. The objective is the
validation metric the run's training already reports (``Algorithm.validation_metric``), maximised or
minimised as :data:`OBJECTIVE_TYPES` says. The best trial is deployed like a single training job
(:func:`best_training` gives its Training section).

Tags given to a tuning job are also given to every training job it launches, so the trials carry the
stack and run tags the failure path and the stack's concurrency limit look for.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from sagedrop.algorithms import Algorithm
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.errors import TrainingFailed
from sagedrop.names import _stem, run_prefix
from sagedrop.pipeline.state import (
    CheckTuningInput,
    DatasetSummary,
    ObjectiveCounts,
    Section,
    StartTuningInput,
    TakeBestTrialInput,
    Training,
    TrainingJobCounts,
    Tuning,
)
from sagedrop.pipeline.training import (
    describe_training,
    require_a_free_slot,
    sagemaker_tags,
    training_hyperparameters,
    training_job_definition,
)
from sagedrop.problem_types import ProblemType
from sagedrop.run_config import RunConfig
from sagedrop.settings import PipelineSettings

#: HyperParameterTuningJobName: 1-32 characters (botocore's model), not the 63 of other SageMaker names.
TUNING_JOB_NAME_MAX_CHARS = 32
TUNING_JOB_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")
_RUN_DIGEST_CHARS = 12  # of the run id's 16: room for a readable stem in 32 characters
STRATEGY = "Bayesian"
MAXIMIZE, MINIMIZE = "Maximize", "Minimize"
INTEGER, CONTINUOUS = "Integer", "Continuous"
LINEAR, LOGARITHMIC = "Linear", "Logarithmic"

#: Which way each validation metric a run's training job reports gets better (the developer guide's
#: metric tables of XGBoost and Linear Learner); which metric a run reads is Algorithm.validation_metric.
OBJECTIVE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "validation:auc": MAXIMIZE,
        "validation:mlogloss": MINIMIZE,
        "validation:rmse": MINIMIZE,
        "validation:roc_auc_score": MAXIMIZE,
        "validation:objective_loss": MINIMIZE,
        "validation:mse": MINIMIZE,
    }
)


@dataclass(frozen=True)
class ParameterRange:
    """One tuned hyperparameter: its range and scale; ``aliases`` are other names the container reads for it."""

    name: str
    kind: Literal["Integer", "Continuous"]
    low: float
    high: float
    scaling: Literal["Linear", "Logarithmic"] = LINEAR
    aliases: tuple[str, ...] = ()

    def as_request(self) -> dict[str, str]:
        return {
            "Name": self.name,
            "MinValue": _text(self.low),
            "MaxValue": _text(self.high),
            "ScalingType": self.scaling,
        }


def _text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


#: The search space per algorithm: names from the documented tunable hyperparameters of each built-in
#: algorithm, ranges narrowed to what suits sagedrop's tabular uploads (the guide's recommendations are
#: wider: alpha and lambda up to 1000, mini_batch_size up to 5000).
PARAMETER_RANGES: Mapping[Algorithm, tuple[ParameterRange, ...]] = MappingProxyType(
    {
        Algorithm.XGBOOST: (
            ParameterRange("eta", CONTINUOUS, 0.01, 0.3, LOGARITHMIC, aliases=("learning_rate",)),
            ParameterRange("max_depth", INTEGER, 3, 10),
            ParameterRange("min_child_weight", CONTINUOUS, 1, 10),
            ParameterRange("subsample", CONTINUOUS, 0.5, 1),
            ParameterRange("colsample_bytree", CONTINUOUS, 0.5, 1),
            ParameterRange("gamma", CONTINUOUS, 0, 5, aliases=("min_split_loss",)),
            ParameterRange("alpha", CONTINUOUS, 0, 10, aliases=("reg_alpha",)),
            ParameterRange("lambda", CONTINUOUS, 0, 10, aliases=("reg_lambda",)),
        ),
        Algorithm.LINEAR_LEARNER: (
            ParameterRange("learning_rate", CONTINUOUS, 1e-4, 0.1, LOGARITHMIC),
            ParameterRange("wd", CONTINUOUS, 1e-7, 1, LOGARITHMIC),
            ParameterRange("l1", CONTINUOUS, 1e-7, 1, LOGARITHMIC),
            ParameterRange("mini_batch_size", INTEGER, 100, 1000, LOGARITHMIC),
        ),
    }
)


class Trial(Section):
    """One training job of the tuning job, for the report."""

    job_name: str
    status: str
    hyperparameters: dict[str, str]
    objective: float | None = None
    objective_status: str | None = None
    failure_reason: str | None = None
    seconds: float | None = None  #: TrainingStartTime to TrainingEndTime: what the trial was billed for


def tuning_job_name(run_id: str, attempt: str | None = None) -> str:
    """``<stem>-<12 hex of the run's hash>-h<attempt>``, at most 32 characters, unique per attempt.

    Derived from the run id like the training job's name (names.py), with the readable stem and the
    run's hash shortened to fit 32; a retried state must not reuse a name SageMaker already took.
    """
    stem, _, digest = run_id.rpartition("-")
    role = f"h{attempt or secrets.token_hex(3)}"
    digest = digest[:_RUN_DIGEST_CHARS]
    room = TUNING_JOB_NAME_MAX_CHARS - len(digest) - len(role) - 2
    name = f"{_stem(stem, max(room, 1))}-{digest}-{role}"
    if len(name) > TUNING_JOB_NAME_MAX_CHARS or not TUNING_JOB_NAME_PATTERN.fullmatch(name):
        raise ValueError(f"cannot make a tuning job name of run {run_id!r} and attempt {attempt!r}: {name!r}")
    return name


def tuning_objective(algorithm: Algorithm, problem_type: ProblemType) -> dict[str, str]:
    """HyperParameterTuningJobObjective: the validation metric the run reads, and which way is better."""
    metric = algorithm.validation_metric(problem_type)
    return {"Type": OBJECTIVE_TYPES[metric], "MetricName": metric}


def search_ranges(ranges: tuple[ParameterRange, ...], hyperparameters: Mapping[str, str]) -> tuple[ParameterRange, ...]:
    """``ranges``, each widened to hold the run's own value of its hyperparameter (or of an alias).

    That value, configured or the problem type's default (a regression's ``min_child_weight`` 20), is
    what the single training job would have used: a search that cannot try it may end worse than no
    search. A value the range's kind or scale cannot hold is left out; the run configuration's checks
    already keep every value within what the container accepts.
    """
    widened = []
    for spec in ranges:
        value = next((hyperparameters[name] for name in (spec.name, *spec.aliases) if name in hyperparameters), None)
        number = _number(value)
        fits = (
            number is not None
            and (spec.kind != INTEGER or number.is_integer())
            and (spec.scaling != LOGARITHMIC or number > 0)
        )
        if fits and not spec.low <= number <= spec.high:
            spec = replace(spec, low=min(spec.low, number), high=max(spec.high, number))
        widened.append(spec)
    return tuple(widened)


def _number(text: str | None) -> float | None:
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def static_hyperparameters(hyperparameters: Mapping[str, str], ranges: tuple[ParameterRange, ...]) -> dict[str, str]:
    """The run's hyperparameters minus the tuned ones (and their aliases, which would contradict them)."""
    tuned = {name for spec in ranges for name in (spec.name, *spec.aliases)}
    return {name: value for name, value in hyperparameters.items() if name not in tuned}


def tuning_job_request(
    *, run_id: str, job_name: str, config: RunConfig, dataset: DatasetSummary, settings: PipelineSettings
) -> dict:
    """The complete CreateHyperParameterTuningJob request for one run (a pure function of its inputs)."""
    if config.tuning is None:
        raise ValueError("the run configuration asks for no tuning (tuning is null)")
    hyperparameters = training_hyperparameters(config, dataset)
    ranges = search_ranges(PARAMETER_RANGES[config.algorithm], hyperparameters)
    definition = training_job_definition(run_id=run_id, config=config, dataset=dataset, settings=settings)
    definition["StaticHyperParameters"] = static_hyperparameters(hyperparameters, ranges)
    by_kind: dict[str, list[dict]] = {}
    for spec in ranges:
        by_kind.setdefault(f"{spec.kind}ParameterRanges", []).append(spec.as_request())
    return {
        "HyperParameterTuningJobName": job_name,
        "HyperParameterTuningJobConfig": {
            "Strategy": STRATEGY,
            "HyperParameterTuningJobObjective": tuning_objective(config.algorithm, dataset.problem_type),
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": config.tuning.max_jobs,
                "MaxParallelTrainingJobs": config.tuning.max_parallel_jobs,
            },
            "ParameterRanges": by_kind,
            # XGBoost already stops a trial early on the validation channel (early_stopping_rounds).
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition,
        "Tags": sagemaker_tags(settings, run_id),
    }


def create_tuning(
    *,
    run_id: str,
    config: RunConfig,
    dataset: DatasetSummary,
    sagemaker: SageMakerGateway,
    settings: PipelineSettings,
) -> Tuning:
    """Create the tuning job under a name unique to this attempt; ``polls`` starts the wait loop at 0.

    Waits (SageMakerLimitExceeded, retried by the state machine) while the stack's limit on concurrent
    training jobs is reached, as a single training job does.
    """
    require_a_free_slot(sagemaker, settings)
    job_name = tuning_job_name(run_id)
    request = tuning_job_request(run_id=run_id, job_name=job_name, config=config, dataset=dataset, settings=settings)
    sagemaker.create_tuning_job(request)
    metric = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
    return Tuning(job_name=job_name, status="InProgress", polls=0, objective_metric=metric)


def read_tuning(description: Mapping, polls: int) -> Tuning:
    """DescribeHyperParameterTuningJob's answer as the typed section the wait loop carries."""
    config = description["HyperParameterTuningJobConfig"]
    best = description.get("BestTrainingJob") or {}
    final = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    counters = description.get("TrainingJobStatusCounters") or {}
    objectives = description.get("ObjectiveStatusCounters") or {}
    status = description["HyperParameterTuningJobStatus"]
    name = description["HyperParameterTuningJobName"]
    failure = description.get("FailureReason")
    if failure is None and status in ("Failed", "Stopped"):
        failure = f"tuning job {name} ended {status}"
    return Tuning(
        job_name=name,
        status=status,
        polls=polls,
        objective_metric=config["HyperParameterTuningJobObjective"]["MetricName"],
        failure_reason=failure,
        best_training_job=best.get("TrainingJobName"),
        best_objective=final.get("Value"),
        training_jobs=TrainingJobCounts(
            completed=counters.get("Completed", 0),
            in_progress=counters.get("InProgress", 0),
            retryable_error=counters.get("RetryableError", 0),
            non_retryable_error=counters.get("NonRetryableError", 0),
            stopped=counters.get("Stopped", 0),
        ),
        objectives=ObjectiveCounts(
            succeeded=objectives.get("Succeeded", 0),
            pending=objectives.get("Pending", 0),
            failed=objectives.get("Failed", 0),
        ),
    )


def poll_tuning(tuning: Tuning, sagemaker: SageMakerGateway) -> Tuning:
    """One poll of the tuning job; ``polls`` is incremented, so the state machine can bound the loop."""
    return read_tuning(sagemaker.describe_tuning_job(tuning.job_name), tuning.polls + 1)


def best_training(tuning: Tuning, sagemaker: SageMakerGateway) -> Training:
    """The Training section of the best trial (what deployment reads); TrainingFailed when there is none."""
    if tuning.status != "Completed" or tuning.best_training_job is None:
        reason = tuning.failure_reason or f"tuning job {tuning.job_name} ended {tuning.status} without a best trial"
        raise TrainingFailed(reason)
    return describe_training(tuning.best_training_job, 0, sagemaker)


def _seconds(started: object, ended: object) -> float | None:
    if isinstance(started, datetime) and isinstance(ended, datetime):
        return max(0.0, round((ended - started).total_seconds(), 3))
    return None


def tuning_trials(job_name: str, sagemaker: SageMakerGateway) -> list[Trial]:
    """Every trial of the tuning job, oldest first: name, tuned hyperparameters, objective, status."""
    trials = []
    for summary in sagemaker.tuning_job_trials(job_name):
        final = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        trials.append(
            Trial(
                job_name=summary["TrainingJobName"],
                status=summary["TrainingJobStatus"],
                hyperparameters=dict(summary.get("TunedHyperParameters") or {}),
                objective=final.get("Value"),
                objective_status=summary.get("ObjectiveStatus"),
                failure_reason=summary.get("FailureReason"),
                seconds=_seconds(summary.get("TrainingStartTime"), summary.get("TrainingEndTime")),
            )
        )
    return trials


# --- the state machine's steps ----------------------------------------------------------------


def trials_key(run_id: str) -> str:
    """Every trial of the run's tuning job, for the report (written by "Take the best trial")."""
    return f"{run_prefix(run_id)}tuning/trials.json"


def start_tuning(state: StartTuningInput, sagemaker: SageMakerGateway, settings: PipelineSettings) -> Tuning:
    """Step "Start tuning": the tuning job of the run; its wait loop may poll once per wave of trials
    as often as a single training job's (``max_polls``)."""
    config = state.prepared.config
    tuning = create_tuning(
        run_id=state.run_id, config=config, dataset=state.prepared.dataset, sagemaker=sagemaker, settings=settings
    )
    waves = math.ceil(config.tuning.max_jobs / config.tuning.max_parallel_jobs)
    return tuning.model_copy(update={"max_polls": state.poll.max_polls * waves})


def check_tuning(state: CheckTuningInput, sagemaker: SageMakerGateway) -> Tuning:
    """Step "Check tuning": one poll, ``polls`` incremented and the loop's bound kept."""
    polled = poll_tuning(state.tuning, sagemaker)
    return polled.model_copy(update={"max_polls": state.tuning.max_polls})


def take_best_trial(state: TakeBestTrialInput, sagemaker: SageMakerGateway, bucket: DataBucket) -> Training:
    """Step "Take the best trial": the best trial becomes the run's training (what the next steps read);
    every trial goes to ``tuning/trials.json`` for the report. TrainingFailed when there is no best trial."""
    training = best_training(state.tuning, sagemaker)
    trials = [trial.as_dict() for trial in tuning_trials(state.tuning.job_name, sagemaker)]
    bucket.write_json(
        trials_key(state.run_id),
        {
            "tuning_job": state.tuning.job_name,
            "objective_metric": state.tuning.objective_metric,
            "objective_type": OBJECTIVE_TYPES[state.tuning.objective_metric],
            "best_training_job": state.tuning.best_training_job,
            "best_objective": state.tuning.best_objective,
            "trials": trials,
        },
    )
    return training
