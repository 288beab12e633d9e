"""The scoring model and its transform job: the requests pinned with Stubber, polling, stopping."""

from __future__ import annotations

import copy

import boto3
import pytest
from botocore.stub import Stubber

from sagedrop.algorithms import Algorithm
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.errors import SageMakerThrottled
from sagedrop.pipeline.deployment import model_containers
from sagedrop.scoring.names import scoring_model_name, transform_job_name
from sagedrop.scoring.state import CheckTransformInput, StartTransformInput, parse_state
from sagedrop.scoring.transform import (
    FALLBACK_INSTANCE_TYPE,
    check_transform,
    poll_wait_seconds,
    start_transform,
    transform_instance_type,
)
from tests.constants import BUCKET, REGION, ROLE_ARN, STACK

from .conftest import (
    INFERENCE_ARTIFACT,
    MODEL_ARTIFACT,
    RUN_ID,
    SCORING_ID,
    make_scoring_state,
    make_settings,
    validated_section,
)

MODEL = f"bank-full-0123456789abcdef-{SCORING_ID[-16:][:8]}-scoring"
JOB = f"bank-full-0123456789abcdef-{SCORING_ID[-16:][:8]}-transform"
assert (scoring_model_name(RUN_ID, SCORING_ID), transform_job_name(RUN_ID, SCORING_ID)) == (MODEL, JOB)
ARN = f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/{JOB}"
INPUT_PREFIX = f"s3://{BUCKET}/runs/{RUN_ID}/scoring/customers/input/"
TAGS = [
    {"Key": "sagedrop:stack", "Value": STACK},
    {"Key": "sagedrop:run-id", "Value": RUN_ID},
    {"Key": "sagedrop:scoring-id", "Value": SCORING_ID},
]
# What Batch Transform must be asked, literally: the point of this file.
TRANSFORM_JOB_REQUEST = {
    "TransformJobName": JOB,
    "ModelName": MODEL,
    "BatchStrategy": "SingleRecord",  # MultiRecord fails on a multi-container model (sagemaker-python-sdk#4042)
    "MaxPayloadInMB": 6,
    "MaxConcurrentTransforms": 4,  # one record per request: a few in flight keep the instance busy
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": INPUT_PREFIX}},
        "ContentType": "application/json",  # a record is a JSON request of many rows
        "CompressionType": "None",
        "SplitType": "Line",
    },
    "TransformOutput": {
        "S3OutputPath": f"s3://{BUCKET}/runs/{RUN_ID}/scoring/customers/output/",
        "Accept": "text/csv",  # a line per row, whatever rows a request holds
        "AssembleWith": "Line",
    },
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    "Tags": TAGS,
}


def start_state(**validated) -> StartTransformInput:
    state = make_scoring_state(
        validated={**validated_section(), **validated}, staged={"input_prefix": INPUT_PREFIX, "rows": 3, "bytes": 30}
    )
    return parse_state(state, StartTransformInput)


@pytest.fixture
def stubbed():
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield BatchTransformGateway(client), stubber
        stubber.assert_no_pending_responses()


def test_the_scoring_model_is_the_runs_pipeline_and_the_job_scores_one_record_per_request(stubbed):
    sagemaker, stubber = stubbed
    settings = make_settings()
    # Given the run's serial inference pipeline, as its endpoint was deployed (featurizer, XGBoost, decoder)
    containers = model_containers(
        model_artifact=MODEL_ARTIFACT,
        inference_artifact=INFERENCE_ARTIFACT,
        serverless_artifact=None,
        settings=settings,
    )
    assert [c["ModelDataUrl"] for c in containers["Containers"]] == [
        INFERENCE_ARTIFACT,
        MODEL_ARTIFACT,
        INFERENCE_ARTIFACT,
    ]
    model_request = {
        "ModelName": MODEL,
        **containers,
        "ExecutionRoleArn": ROLE_ARN,
        "EnableNetworkIsolation": True,
        "Tags": TAGS,
    }
    # Then exactly these two requests are made, in this order
    stubber.add_response("create_model", {"ModelArn": ARN.replace("transform-job", "model")}, model_request)
    stubber.add_response("create_transform_job", {"TransformJobArn": ARN}, TRANSFORM_JOB_REQUEST)

    transform = start_transform(start_state(), sagemaker, DataBucket(None, BUCKET), settings)

    assert transform.as_dict() == {
        "model_name": MODEL,
        "job_name": JOB,
        "instance_type": "ml.m5.large",
        "status": "InProgress",
        "polls": 0,
        "wait_seconds": 60,  # the execution input's poll interval
    }


def test_a_linear_learner_run_is_scored_by_its_own_algorithm_container(stubbed):
    sagemaker, stubber = stubbed
    settings = make_settings()
    containers = model_containers(
        model_artifact=MODEL_ARTIFACT,
        inference_artifact=INFERENCE_ARTIFACT,
        serverless_artifact=None,
        settings=settings,
        algorithm=Algorithm.LINEAR_LEARNER,
    )
    assert "linear-learner" in containers["Containers"][1]["Image"]
    request = {
        "ModelName": MODEL,
        **containers,
        "ExecutionRoleArn": ROLE_ARN,
        "EnableNetworkIsolation": True,
        "Tags": TAGS,
    }
    stubber.add_response("create_model", {"ModelArn": ARN}, request)
    stubber.add_response("create_transform_job", {"TransformJobArn": ARN}, TRANSFORM_JOB_REQUEST)

    start_transform(start_state(algorithm="linear-learner"), sagemaker, DataBucket(None, BUCKET), settings)


def test_the_instance_is_the_endpoints_when_batch_transform_offers_it():
    offered = ("ml.m5.large", "ml.c5.xlarge")
    assert transform_instance_type("ml.c5.xlarge", offered) == "ml.c5.xlarge"
    assert transform_instance_type("ml.t2.medium", offered) == FALLBACK_INSTANCE_TYPE
    # the service model knows the difference: t2 hosts endpoints, not transform jobs
    real = BatchTransformGateway(boto3.client("sagemaker", region_name=REGION)).transform_instance_types()
    assert "ml.m5.large" in real and "ml.t2.medium" not in real


def test_a_runs_endpoint_type_that_batch_transform_offers_is_the_jobs(stubbed):
    sagemaker, stubber = stubbed
    request = copy.deepcopy(TRANSFORM_JOB_REQUEST)
    request["TransformResources"]["InstanceType"] = "ml.c5.xlarge"
    stubber.add_response("create_model", {"ModelArn": ARN}, None)
    stubber.add_response("create_transform_job", {"TransformJobArn": ARN}, request)

    transform = start_transform(
        start_state(endpoint_instance_type="ml.c5.xlarge"), sagemaker, DataBucket(None, BUCKET), make_settings()
    )

    assert transform.instance_type == "ml.c5.xlarge"


@pytest.mark.parametrize("endpoint_type", ["ml.t2.medium", "ml.c5.large"])
def test_a_run_whose_endpoint_type_batch_transform_does_not_offer_is_scored_on_the_fallback(stubbed, endpoint_type):
    sagemaker, stubber = stubbed
    # Given a run whose endpoint ran on a type CreateTransformJob refuses (botocore's model says so)
    assert endpoint_type not in sagemaker.transform_instance_types()
    request = copy.deepcopy(TRANSFORM_JOB_REQUEST)
    request["TransformResources"]["InstanceType"] = "ml.m5.large"
    # Then the job is asked for on the fallback, and the state records that type, not the endpoint's
    stubber.add_response("create_model", {"ModelArn": ARN}, None)
    stubber.add_response("create_transform_job", {"TransformJobArn": ARN}, request)

    transform = start_transform(
        start_state(endpoint_instance_type=endpoint_type), sagemaker, DataBucket(None, BUCKET), make_settings()
    )

    assert transform.instance_type == FALLBACK_INSTANCE_TYPE == "ml.m5.large"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ValidationException", 'Cannot create already existing model "arn:aws:sagemaker:us-east-1:1:model/x".'),
        ("ResourceInUse", "Job name must be unique within an AWS account and region, and a job with this name exists"),
    ],
)
def test_a_retried_start_reuses_what_its_first_attempt_created(stubbed, code, message):
    sagemaker, stubber = stubbed
    # Given the model and the job exist: the step timed out after creating them
    stubber.add_client_error("create_model", "ValidationException", 'Cannot create already existing model "x".')
    stubber.add_client_error("create_transform_job", code, message)

    transform = start_transform(start_state(), sagemaker, DataBucket(None, BUCKET), make_settings())

    assert transform.job_name == JOB and transform.status == "InProgress"


def test_throttling_becomes_the_error_the_state_machine_retries(stubbed):
    sagemaker, stubber = stubbed
    stubber.add_response("create_model", {"ModelArn": ARN}, None)
    stubber.add_client_error("create_transform_job", "ThrottlingException", "Rate exceeded")

    with pytest.raises(SageMakerThrottled):
        start_transform(start_state(), sagemaker, DataBucket(None, BUCKET), make_settings())


def check_state(status: str = "InProgress", polls: int = 0) -> CheckTransformInput:
    transform = {
        "model_name": MODEL,
        "job_name": JOB,
        "instance_type": "ml.m5.large",
        "status": status,
        "polls": polls,
        "wait_seconds": 60,
    }
    return parse_state(make_scoring_state(transform=transform), CheckTransformInput)


@pytest.mark.parametrize(("polls", "wait"), [(0, 60), (9, 60), (10, 120), (25, 180), (89, 540), (90, 600), (999, 600)])
def test_the_wait_between_polls_grows_with_the_polls_and_is_capped(polls, wait):
    assert poll_wait_seconds(60, polls) == wait


@pytest.mark.parametrize(("interval", "max_polls", "at_least_hours"), [(60, 60, 3.5), (1, 600, 1.4)])
def test_the_bounded_loop_follows_a_job_for_hours_in_the_cloud_and_locally(interval, max_polls, at_least_hours):
    """The stack's defaults (60 s, 60 polls) and the local cloud's (1 s, 600 polls): a fixed wait would
    give a transform job 1 hour and 10 minutes, too little for a large file."""
    followed = sum(poll_wait_seconds(interval, polls) for polls in range(max_polls))

    assert followed >= at_least_hours * 3600


@pytest.mark.parametrize(
    ("described", "reason"),
    [
        ({"TransformJobStatus": "InProgress"}, None),
        ({"TransformJobStatus": "Completed"}, None),
        ({"TransformJobStatus": "Failed", "FailureReason": "ClientError: 400 row 1"}, "ClientError: 400 row 1"),
        ({"TransformJobStatus": "Stopped"}, f"transform job {JOB} is Stopped"),
    ],
)
def test_each_poll_reports_the_status_counts_and_says_why_a_job_ended_badly(stubbed, described, reason):
    sagemaker, stubber = stubbed
    response = {
        "TransformJobName": JOB,
        "TransformJobArn": ARN,
        "ModelName": MODEL,
        "TransformInput": TRANSFORM_JOB_REQUEST["TransformInput"],
        "TransformResources": TRANSFORM_JOB_REQUEST["TransformResources"],
        "CreationTime": "2026-12-01T10:00:00Z",
        **described,
    }
    stubber.add_response("describe_transform_job", response, {"TransformJobName": JOB})

    transform = check_transform(check_state(polls=9), sagemaker)

    assert transform.status == described["TransformJobStatus"] and transform.polls == 10
    assert transform.instance_type == "ml.m5.large"  # each poll keeps what the job runs on
    assert transform.wait_seconds == 120
    assert transform.failure_reason == reason


@pytest.mark.parametrize(("status", "stops"), [("InProgress", True), ("Completed", False), ("Stopping", False)])
def test_only_a_running_job_is_stopped(stubbed, status, stops):
    sagemaker, stubber = stubbed
    described = {
        "TransformJobName": JOB,
        "TransformJobArn": ARN,
        "ModelName": MODEL,
        "TransformJobStatus": status,
        "TransformInput": TRANSFORM_JOB_REQUEST["TransformInput"],
        "TransformResources": TRANSFORM_JOB_REQUEST["TransformResources"],
        "CreationTime": "2026-12-01T10:00:00Z",
    }
    stubber.add_response("describe_transform_job", described, {"TransformJobName": JOB})
    if stops:
        stubber.add_response("stop_transform_job", {}, {"TransformJobName": JOB})

    assert sagemaker.stop_transform_job_if_running(JOB) is stops


def test_a_job_that_never_existed_is_not_stopped(stubbed):
    sagemaker, stubber = stubbed
    stubber.add_client_error("describe_transform_job", "ValidationException", f"Could not find job {JOB}")

    assert sagemaker.stop_transform_job_if_running(JOB) is False
