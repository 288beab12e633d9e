"""Steps 3 and 4: the scoring model and its Batch Transform job, then the job's status on each poll.

The model is the run's serial inference pipeline (featurizer → algorithm → label decoder), the
same containers the run's endpoint served, created under a name of its own for this scoring: the
run's endpoint and model are long deleted, and two scorings of one run must not share a model.
No endpoint is created; the job scores the staged rows and SageMaker stops its instances itself.
The job runs on the run's endpoint instance type when Batch Transform offers it, else on
``FALLBACK_INSTANCE_TYPE`` (:func:`transform_instance_type`, the evaluation's transform route's rule too).
"""

from __future__ import annotations

from collections.abc import Iterable

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.pipeline.deployment import model_containers
from sagedrop.pipeline.training import sagemaker_tags
from sagedrop.scoring.keys import ScoringTarget, transform_output_prefix
from sagedrop.scoring.names import scoring_model_name, transform_job_name
from sagedrop.scoring.requests import MAX_PAYLOAD_IN_MB
from sagedrop.scoring.state import CheckTransformInput, StartTransformInput, Transform
from sagedrop.settings import PipelineSettings

#: The wait between polls grows by one poll interval every this many polls, up to this many intervals: a
#: transform job's time grows with its file (unlike training's or an endpoint's), and growing waits
#: let the bounded loop (poll.max_polls) follow a long job with few state transitions.
POLL_BACKOFF_EVERY = 10
POLL_BACKOFF_MAX_FACTOR = 10
#: Requests in flight per instance. Unset, it is 1 for this model (no execution-parameters endpoint),
#: and one record per request at a time leaves the instance mostly waiting; SageMaker allows
#: MaxConcurrentTransforms × MaxPayloadInMB up to 100 MB.
MAX_CONCURRENT_TRANSFORMS = 4
#: Tags a scoring's resources carry besides the run's (stack, run id).
SCORING_ID_TAG = "sagedrop:scoring-id"
CSV = "text/csv"
JSON = "application/json"
#: Batch Transform's instance when the endpoint's type is not offered for transform jobs (``ml.t2.*``,
#: ``ml.c5.large`` and others host endpoints only: CreateTransformJob refuses them).
FALLBACK_INSTANCE_TYPE = "ml.m5.large"


def transform_instance_type(endpoint_instance_type: str, offered: Iterable[str]) -> str:
    """The instance a transform job of a run's model runs on: the endpoint's type if ``offered``, else the fallback.

    ``offered`` is what CreateTransformJob accepts (``BatchTransformGateway.transform_instance_types``).
    """
    return endpoint_instance_type if endpoint_instance_type in set(offered) else FALLBACK_INSTANCE_TYPE


def poll_wait_seconds(interval_seconds: int, polls: int) -> int:
    """The wait before the poll after ``polls`` polls: the interval, then longer every POLL_BACKOFF_EVERY polls."""
    return interval_seconds * min(1 + polls // POLL_BACKOFF_EVERY, POLL_BACKOFF_MAX_FACTOR)


def scoring_tags(settings: PipelineSettings, run_id: str, scoring_id: str) -> list[dict]:
    return [*sagemaker_tags(settings, run_id), {"Key": SCORING_ID_TAG, "Value": scoring_id}]


def transform_requests(
    state: StartTransformInput, settings: PipelineSettings, bucket: DataBucket, instance_type: str
) -> dict:
    """CreateModel and CreateTransformJob requests for one scoring, its job on ``instance_type`` (pure)."""
    validated = state.validated
    target = ScoringTarget(validated.run_id, validated.name)
    model = scoring_model_name(validated.run_id, state.scoring_id)
    tags = scoring_tags(settings, validated.run_id, state.scoring_id)
    return {
        "model": {
            "ModelName": model,
            # The serial pipeline even for a run deployed serverless: Batch Transform runs on instances.
            **model_containers(
                model_artifact=validated.model_artifact,
                inference_artifact=validated.inference_artifact,
                serverless_artifact=None,
                settings=settings,
                algorithm=validated.algorithm,
            ),
            "ExecutionRoleArn": settings.sagemaker_role_arn,
            "EnableNetworkIsolation": True,
            "Tags": tags,
        },
        "transform_job": {
            "TransformJobName": transform_job_name(validated.run_id, state.scoring_id),
            "ModelName": model,
            # SingleRecord, never MultiRecord: with MultiRecord, Batch Transform fails on a model whose
            # scikit-learn container runs in front of the algorithm's (sagemaker-python-sdk#4042), which
            # is exactly this serial pipeline. A record is one staged request of many rows.
            "BatchStrategy": "SingleRecord",
            "MaxPayloadInMB": MAX_PAYLOAD_IN_MB,
            "MaxConcurrentTransforms": MAX_CONCURRENT_TRANSFORMS,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": state.staged.input_prefix}},
                "ContentType": JSON,
                "CompressionType": "None",
                # Each line is one record: a JSON request (JSON escapes the line breaks values may hold).
                "SplitType": "Line",
            },
            # Answers as text/csv: the label decoder answers a request of n rows with n lines, so the
            # output holds a line per row, in order. No DataProcessing join: it would join the *staged*
            # request, not the upload's row (columns reordered, the label left out); the scores file is
            # assembled from the upload itself instead, row by row with these lines.
            "TransformOutput": {
                "S3OutputPath": bucket.uri(transform_output_prefix(target)),
                "Accept": CSV,
                "AssembleWith": "Line",
            },
            "TransformResources": {"InstanceType": instance_type, "InstanceCount": 1},
            "Tags": tags,
        },
    }


def start_transform(
    state: StartTransformInput, sagemaker: BatchTransformGateway, bucket: DataBucket, settings: PipelineSettings
) -> Transform:
    """CreateModel, then CreateTransformJob; a retried step finds both by their derived names and goes on.

    The job runs on the run's endpoint instance type, or on ``FALLBACK_INSTANCE_TYPE`` where Batch
    Transform does not offer it. Returns the names and that instance type with ``status: "InProgress"``
    and ``polls: 0`` for the wait loop.
    """
    instance_type = transform_instance_type(
        state.validated.endpoint_instance_type, sagemaker.transform_instance_types()
    )
    requests = transform_requests(state, settings, bucket, instance_type)
    sagemaker.create_model(requests["model"])
    sagemaker.create_transform_job(requests["transform_job"])
    return Transform(
        model_name=requests["model"]["ModelName"],
        job_name=requests["transform_job"]["TransformJobName"],
        instance_type=instance_type,
        status="InProgress",
        polls=0,
        wait_seconds=poll_wait_seconds(state.poll.interval_seconds, 0),
    )


def poll_transform(sagemaker: BatchTransformGateway, job_name: str, polls: int) -> dict:
    """One DescribeTransformJob: ``status``, ``polls`` + 1 and a ``failure_reason`` when it ended without completing."""
    described = sagemaker.describe_transform_job(job_name)
    status = described["TransformJobStatus"]
    reason = None
    if status in ("Failed", "Stopped"):
        reason = described.get("FailureReason") or f"transform job {job_name} is {status}"
    return {"status": status, "failure_reason": reason, "polls": polls + 1}


def check_transform(state: CheckTransformInput, sagemaker: BatchTransformGateway) -> Transform:
    """One poll of the job: ``polls`` incremented; a reason when it ended without completing."""
    transform = state.transform
    update = poll_transform(sagemaker, transform.job_name, transform.polls)
    update["wait_seconds"] = poll_wait_seconds(state.poll.interval_seconds, update["polls"])
    return transform.model_copy(update=update)
