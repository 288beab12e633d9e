"""Steps 2 and 3: start the built-in XGBoost training job, then report its status on each poll."""

from __future__ import annotations

from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.image_uris import xgboost_image_uri
from sagedrop.names import run_prefix, training_job_name
from sagedrop.pipeline.state import require
from sagedrop.settings import PipelineSettings

# The default objective and evaluation metric of each problem type. A run configuration may pick
# another objective only together with problem_type, and only one whose predictions the evaluation
# step can read (run_config.OBJECTIVES_BY_PROBLEM_TYPE); num_class always follows the data.
_OBJECTIVES = {
    "binary_classification": ("binary:logistic", "auc"),
    "multiclass_classification": ("multi:softprob", "mlogloss"),
    "regression": ("reg:squarederror", "rmse"),
}
_SPOT_WAIT_FACTOR = 2  # how long to wait for spot capacity, as a multiple of the runtime limit


def training_hyperparameters(config: dict, dataset: dict) -> dict[str, str]:
    """The run's hyperparameters, as the strings the built-in algorithm expects."""
    objective, eval_metric = _OBJECTIVES[dataset["problem_type"]]
    chosen = {"verbosity": "1", "eval_metric": eval_metric}
    chosen.update({name: str(value) for name, value in config["hyperparameters"].items()})
    chosen.setdefault("objective", objective)
    if dataset["problem_type"] == "multiclass_classification":
        chosen["num_class"] = str(dataset["class_count"])
    else:
        chosen.pop("num_class", None)
    if "validation" not in dataset["channels"]:
        chosen.pop("early_stopping_rounds", None)  # needs a validation channel
    return chosen


def _channel(name: str, uri: str) -> dict:
    return {
        "ChannelName": name,
        # Without ContentType the container assumes LIBSVM and misreads every row.
        "ContentType": "text/csv",
        "CompressionType": "None",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
    }


def sagemaker_tags(settings: PipelineSettings, run_id: str) -> list[dict]:
    return [{"Key": "sagedrop:stack", "Value": settings.stack_name}, {"Key": "sagedrop:run-id", "Value": run_id}]


def training_job_request(
    *, run_id: str, job_name: str, config: dict, dataset: dict, settings: PipelineSettings
) -> dict:
    """The complete CreateTrainingJob request for one run (a pure function of its inputs)."""
    prefix = f"s3://{settings.data_bucket}/{run_prefix(run_id)}"
    channels = [_channel("train", dataset["channels"]["train"])]
    if "validation" in dataset["channels"]:
        channels.append(_channel("validation", dataset["channels"]["validation"]))
    stopping = {"MaxRuntimeInSeconds": int(config["max_runtime_seconds"])}
    request = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": xgboost_image_uri(settings.region, settings.xgboost_version),
            "TrainingInputMode": "File",
        },
        "RoleArn": settings.sagemaker_role_arn,
        "HyperParameters": training_hyperparameters(config, dataset),
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"{prefix}model/"},
        "ResourceConfig": {
            "InstanceType": config["training_instance_type"],
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": stopping,
        # The built-in algorithm needs no network: the data comes in through channels.
        "EnableNetworkIsolation": True,
        "Tags": sagemaker_tags(settings, run_id),
    }
    if config.get("use_spot"):
        request["EnableManagedSpotTraining"] = True
        stopping["MaxWaitTimeInSeconds"] = stopping["MaxRuntimeInSeconds"] * _SPOT_WAIT_FACTOR
        request["CheckpointConfig"] = {"S3Uri": f"{prefix}checkpoints/"}
    return request


def start_training(state: dict, sagemaker: SageMakerGateway, settings: PipelineSettings) -> dict:
    """Create the training job under a name unique to this attempt.

    Returns ``{"job_name", "status": "InProgress", "polls": 0}`` for the wait loop.
    """
    run_id = require(state, "run_id")
    job_name = training_job_name(run_id)
    request = training_job_request(
        run_id=run_id,
        job_name=job_name,
        config=require(state, "prepared.config"),
        dataset=require(state, "prepared.dataset"),
        settings=settings,
    )
    sagemaker.create_training_job(request)
    return {"job_name": job_name, "status": "InProgress", "polls": 0}


def check_training(state: dict, sagemaker: SageMakerGateway) -> dict:
    """One poll of the training job: its status, failure reason and final metrics.

    Returns the ``training`` document with ``polls`` incremented, so the state machine can
    bound the loop.
    """
    job_name = require(state, "training.job_name")
    polls = int(require(state, "training").get("polls", 0)) + 1
    job = sagemaker.describe_training_job(job_name)
    return {
        "job_name": job_name,
        "status": job["TrainingJobStatus"],
        "secondary_status": job.get("SecondaryStatus"),
        "failure_reason": job.get("FailureReason") or f"training job {job_name} ended {job['TrainingJobStatus']}",
        "polls": polls,
        "metrics": {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
        "model_artifact": job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        "billable_seconds": job.get("BillableTimeInSeconds"),
    }
