"""Steps 2 and 3: start the built-in algorithm's training job (XGBoost or Linear Learner), then poll it."""

from __future__ import annotations

from sagedrop.algorithms import LINEAR_LEARNER_PROBLEMS, Algorithm
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.errors import InvalidConfigError, SageMakerLimitExceeded
from sagedrop.image_uris import LINEAR_LEARNER, image_uri, xgboost_image_uri
from sagedrop.names import RUN_ID_TAG, STACK_TAG, run_prefix, training_job_name
from sagedrop.pipeline.state import CheckTrainingInput, DatasetSummary, StartTrainingInput, Training
from sagedrop.problem_types import XGBOOST_OBJECTIVES, ProblemType
from sagedrop.run_config import RunConfig
from sagedrop.run_config.hyperparameters import NO_VALIDATION_MAX_ROUNDS, hyperparameter_problems
from sagedrop.settings import PipelineSettings

_SPOT_WAIT_FACTOR = 2  # how long to wait for spot capacity, as a multiple of the runtime limit


def algorithm_image(algorithm: Algorithm, settings: PipelineSettings) -> str:
    """The image the run trains with, and that serves its model as the pipeline's middle container."""
    if algorithm is Algorithm.LINEAR_LEARNER:
        return image_uri(LINEAR_LEARNER, settings.region)
    return xgboost_image_uri(settings.region, settings.xgboost_version)


def training_hyperparameters(config: RunConfig, dataset: DatasetSummary) -> dict[str, str]:
    """The run's hyperparameters, as the strings the built-in algorithm expects.

    XGBoost: the objective, eval_metric and the default objective's own hyperparameters
    (``XGBoostObjectives.hyperparameters``) default from the problem type (a run configuration may
    pick another objective only together with problem_type); num_class always follows the data.
    Linear Learner: :func:`linear_learner_hyperparameters`.
    """
    if config.algorithm is Algorithm.LINEAR_LEARNER:
        return linear_learner_hyperparameters(config, dataset)
    if config.problem_type is None:
        # The configuration was checked without a problem type; the data has decided it since.
        problems = hyperparameter_problems(config.hyperparameters, dataset.problem_type)
        if problems:
            found = "; ".join(f"hyperparameters.{name}: {problem}" for name, problem in problems)
            raise InvalidConfigError(
                f"{found} (the problem type {dataset.problem_type.value} was inferred from label {dataset.label!r})"
            )
    objectives = XGBOOST_OBJECTIVES[dataset.problem_type]
    chosen = {"verbosity": "1", "eval_metric": objectives.eval_metric}
    chosen.update({name: str(value) for name, value in config.hyperparameters.items()})
    chosen.setdefault("objective", objectives.default)
    if chosen["objective"] == objectives.default:
        chosen = {**objectives.hyperparameters, **chosen}
    if dataset.problem_type is ProblemType.MULTICLASS:
        chosen["num_class"] = str(dataset.class_count)
    else:
        chosen.pop("num_class", None)
    counts = dataset.class_counts or []
    if config.balance_classes and dataset.problem_type is ProblemType.BINARY and len(counts) == 2 and counts[1]:
        chosen.setdefault("scale_pos_weight", _shortest(counts[0] / counts[1]))
    if dataset.channels.validation is None and chosen.pop("early_stopping_rounds", None) is not None:
        # Early stopping needs a validation channel; without it, num_round is a cap no run should reach.
        chosen["num_round"] = str(min(int(chosen["num_round"]), NO_VALIDATION_MAX_ROUNDS))
    return chosen


def _shortest(value: float) -> str:
    return f"{value:.6g}"


def linear_learner_hyperparameters(config: RunConfig, dataset: DatasetSummary) -> dict[str, str]:
    """The run's Linear Learner hyperparameters plus the three the data decides.

    ``predictor_type`` from the problem type, ``feature_dim`` the number of feature columns of the
    splits, ``num_classes`` for multiclass (the run configuration may set none of them). Every
    channel reports the documented metrics, so no metric needs choosing.
    """
    chosen = {name: str(value) for name, value in config.hyperparameters.items()}
    chosen["predictor_type"] = LINEAR_LEARNER_PROBLEMS[dataset.problem_type].predictor_type
    chosen["feature_dim"] = str(dataset.feature_count)
    if dataset.problem_type is ProblemType.MULTICLASS:
        chosen["num_classes"] = str(dataset.class_count)
    return chosen


def _channel(name: str, uri: str, distribution: str = "FullyReplicated") -> dict:
    return {
        "ChannelName": name,
        # Without ContentType XGBoost assumes LIBSVM (Linear Learner RecordIO) and misreads every row.
        "ContentType": "text/csv",
        "CompressionType": "None",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}
        },
    }


def sagemaker_tags(settings: PipelineSettings, run_id: str) -> list[dict]:
    return [{"Key": STACK_TAG, "Value": settings.stack_name}, {"Key": RUN_ID_TAG, "Value": run_id}]


def training_job_definition(
    *, run_id: str, config: RunConfig, dataset: DatasetSummary, settings: PipelineSettings
) -> dict:
    """What every training job of a run is, whatever its name, hyperparameters and tags.

    One builder for both requests that start training: CreateTrainingJob (:func:`training_job_request`)
    and a tuning job's TrainingJobDefinition (``sagedrop.pipeline.tuning``), so the trials of a
    tuning job train exactly as the single job would.
    """
    prefix = f"s3://{settings.data_bucket}/{run_prefix(run_id)}"
    instances = int(config.training_instance_count)
    # On several instances each trains on its share of the train split's part files (ShardedByS3Key);
    # every instance scores the whole validation split.
    channels = [_channel("train", dataset.channels.train, "ShardedByS3Key" if instances > 1 else "FullyReplicated")]
    if dataset.channels.validation is not None:
        channels.append(_channel("validation", dataset.channels.validation))
    stopping = {"MaxRuntimeInSeconds": int(config.max_runtime_seconds)}
    definition = {
        "AlgorithmSpecification": {
            "TrainingImage": algorithm_image(config.algorithm, settings),
            "TrainingInputMode": "File",
        },
        "RoleArn": settings.sagemaker_role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"{prefix}model/"},
        "ResourceConfig": {
            "InstanceType": config.training_instance_type,
            "InstanceCount": instances,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": stopping,
        # The built-in algorithms need no network: the data comes in through channels.
        "EnableNetworkIsolation": True,
    }
    if config.use_spot:
        definition["EnableManagedSpotTraining"] = True
        stopping["MaxWaitTimeInSeconds"] = stopping["MaxRuntimeInSeconds"] * _SPOT_WAIT_FACTOR
        definition["CheckpointConfig"] = {"S3Uri": f"{prefix}checkpoints/"}
    return definition


def training_job_request(
    *, run_id: str, job_name: str, config: RunConfig, dataset: DatasetSummary, settings: PipelineSettings
) -> dict:
    """The complete CreateTrainingJob request for one run (a pure function of its inputs)."""
    return {
        "TrainingJobName": job_name,
        **training_job_definition(run_id=run_id, config=config, dataset=dataset, settings=settings),
        "HyperParameters": training_hyperparameters(config, dataset),
        "Tags": sagemaker_tags(settings, run_id),
    }


def require_a_free_slot(sagemaker: SageMakerGateway, settings: PipelineSettings) -> None:
    """Raise SageMakerLimitExceeded while the stack runs its maximum of training jobs.

    SageMaker's quotas are per account, so a stack sharing one may bound itself
    (MaxConcurrentTrainingJobs; 0 = no bound of ours). The state machine retries the error with
    backoff and jitter, so an excess run waits for a slot instead of failing. Two runs checking at
    the same moment can both pass: the bound is a throttle, SageMaker's quota stays the hard limit.
    """
    limit = settings.max_concurrent_training_jobs
    if limit <= 0:
        return
    running = sagemaker.training_jobs_in_progress({STACK_TAG: settings.stack_name}, at_most=limit)
    if len(running) >= limit:
        raise SageMakerLimitExceeded(
            f"{len(running)} training job(s) of stack {settings.stack_name} in progress, the stack's limit "
            f"(MaxConcurrentTrainingJobs) is {limit}: the run waits for a free slot ({', '.join(running)})"
        )


def start_training(state: StartTrainingInput, sagemaker: SageMakerGateway, settings: PipelineSettings) -> Training:
    """Create the training job under a name unique to this attempt; ``polls`` starts the wait loop at 0.

    Waits (SageMakerLimitExceeded, retried by the state machine) while the stack's limit on
    concurrent training jobs is reached.
    """
    require_a_free_slot(sagemaker, settings)
    job_name = training_job_name(state.run_id)
    request = training_job_request(
        run_id=state.run_id,
        job_name=job_name,
        config=state.prepared.config,
        dataset=state.prepared.dataset,
        settings=settings,
    )
    sagemaker.create_training_job(request)
    return Training(job_name=job_name, status="InProgress", polls=0)


def check_training(state: CheckTrainingInput, sagemaker: SageMakerGateway) -> Training:
    """One poll of the training job: its status, failure reason and final metrics.

    ``polls`` is incremented, so the state machine can bound the loop.
    """
    return describe_training(state.training.job_name, state.training.polls + 1, sagemaker)


def _ended(job_name: str, status: str, job: dict) -> str:
    """Why a job without a FailureReason ended: a stop at the time limit says which limit to raise."""
    if status == "Stopped" and job.get("SecondaryStatus") == "MaxRuntimeExceeded":
        limit = (job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        return (
            f"training job {job_name} was stopped at its time limit of {limit} seconds before it finished: "
            "raise max_runtime_seconds in sagedrop.json (or MaxTrainingSeconds for the stack), or train on less data"
        )
    return f"training job {job_name} ended {status}"


def describe_training(job_name: str, polls: int, sagemaker: SageMakerGateway) -> Training:
    """The Training section of one training job as DescribeTrainingJob reports it (e.g. a tuning job's best)."""
    job = sagemaker.describe_training_job(job_name)
    status = job["TrainingJobStatus"]
    return Training(
        job_name=job_name,
        status=status,
        secondary_status=job.get("SecondaryStatus"),
        failure_reason=job.get("FailureReason") or _ended(job_name, status, job),
        polls=polls,
        metrics={m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
        model_artifact=job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        billable_seconds=job.get("BillableTimeInSeconds"),
        # a tuning trial's also hold "_tuning_objective_metric", which is SageMaker's, not the model's
        hyperparameters={k: v for k, v in (job.get("HyperParameters") or {}).items() if not k.startswith("_")} or None,
    )
