"""Evaluation at scale: the staged test rows, the CreateTransformJob request pinned with Stubber, polling, cleanup."""

from __future__ import annotations

import csv
import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.errors import InvalidCsvError
from sagedrop.names import endpoint_config_name, endpoint_name, evaluation_transform_job_name, model_name
from sagedrop.pipeline.evaluation_transform import check_evaluation_transform, stage_rows, start_evaluation_transform
from sagedrop.pipeline.finishing import handle_failure
from sagedrop.pipeline.state import (
    CheckEvaluationTransformInput,
    FailureInput,
    StartEvaluationTransformInput,
    parse_state,
)
from tests.unit.pipeline.test_finishing import FakeExecutions, FakeSageMaker, World

from .conftest import BUCKET, REGION, RUN_ID, STACK, make_config, make_settings, make_state

JOB = evaluation_transform_job_name(RUN_ID)
MODEL = model_name(RUN_ID)
PREFIX = f"s3://{BUCKET}/runs/{RUN_ID}/evaluation/transform"
# What Batch Transform must be asked, literally: the point of this file.
TRANSFORM_JOB_REQUEST = {
    "TransformJobName": JOB,
    "ModelName": MODEL,  # the deployed model: the evaluation scores what the endpoint serves
    "BatchStrategy": "SingleRecord",  # MultiRecord fails on a multi-container model (sagemaker-python-sdk#4042)
    "MaxPayloadInMB": 6,
    "MaxConcurrentTransforms": 4,
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{PREFIX}/input/"}},
        "ContentType": "application/json",
        "CompressionType": "None",
        "SplitType": "Line",  # one JSON request per line
    },
    "TransformOutput": {"S3OutputPath": f"{PREFIX}/output/", "Accept": "application/json", "AssembleWith": "Line"},
    "DataProcessing": {"JoinSource": "Input"},  # each answer beside its request: its count is checked
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    "Tags": [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}],
}
RAW = 'age,job,note\n58,management,plain\n44,technician,"two\nlines, and ""quotes"""\n33,entrepreneur,ünï\n'
ENDPOINT = {
    "model_name": MODEL,
    "endpoint_config_name": "c",
    "endpoint_name": "e",
    "status": "InService",
    "polls": 2,
}


def records(text: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


def test_each_row_is_one_json_request_on_one_line_with_its_values_exactly_as_written():
    written: list[str] = []
    rows = stage_rows(records(RAW), written.append)
    lines = "".join(written).splitlines()
    assert rows == len(lines) == 3
    header, *data = records(RAW)
    for line, record in zip(lines, data, strict=True):
        assert json.loads(line) == {"instances": [dict(zip(header, record, strict=True))]}
        assert line.isascii()  # no raw line break or line separator can split a record


def test_rows_share_a_request_up_to_the_row_count_or_the_byte_target_in_order():
    header = ["a", "b"]
    data = [[str(i), "x" * (i % 5)] for i in range(23)]
    written: list[str] = []
    rows = stage_rows([header, *data], written.append, rows_per_line=4, target_line_bytes=10_000)
    requests = [json.loads(line)["instances"] for line in "".join(written).splitlines()]
    assert rows == 23 and [len(r) for r in requests] == [4, 4, 4, 4, 4, 3]
    assert [row for r in requests for row in r] == [dict(zip(header, d, strict=True)) for d in data]
    # a byte target that holds two such rows cuts there, whatever the row count allows
    written.clear()
    target = len('{"instances":[]}\n') + 40
    stage_rows([header, *data], written.append, rows_per_line=100, target_line_bytes=target)
    counts = [len(json.loads(line)["instances"]) for line in "".join(written).splitlines()]
    assert max(counts) == 2 and sum(counts) == 23
    assert all(len(line) + 1 <= target for line in "".join(written).splitlines())


def test_a_ragged_row_a_row_too_large_or_no_row_is_refused_by_its_number():
    with pytest.raises(InvalidCsvError, match="raw test row 2 has 2 fields"):
        stage_rows(records("a,b,c\n1,2,3\n1,2\n"), lambda text: None)
    with pytest.raises(InvalidCsvError, match="raw test row 1 is .* bytes"):
        stage_rows(records("a,b\n1," + "x" * 200 + "\n"), lambda text: None, max_line_bytes=100)
    with pytest.raises(InvalidCsvError, match="no rows"):
        stage_rows(records("a,b\n"), lambda text: None)


@pytest.mark.parametrize("serverless", [False, True])
def test_the_job_runs_the_deployed_model_on_the_staged_rows_one_record_per_request(serverless):
    config = make_config(serverless={"memory_size_mb": 2048}) if serverless else make_config()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/schema.json", Body=json.dumps({"delimiter": ","}))
        s3.put_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/data/raw/test.csv", Body=RAW.encode())
        client = boto3.client("sagemaker", region_name=REGION)
        state = parse_state(make_state(config=config, endpoint=ENDPOINT), StartEvaluationTransformInput)
        with Stubber(client) as stubber:
            stubber.add_response(
                "create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:{REGION}:1:transform-job/{JOB}"},
                TRANSFORM_JOB_REQUEST,
            )  # fmt: skip
            transform = start_evaluation_transform(
                state,
                BatchTransformGateway(client),
                DataBucket(s3, BUCKET),
                ObjectStreams(s3, BUCKET),
                make_settings(),
            )
            stubber.assert_no_pending_responses()
        staged = s3.get_object(Bucket=BUCKET, Key=transform.input_key)["Body"].read().decode()
    assert transform.as_dict() == {
        "job_name": JOB,
        "status": "InProgress",
        "polls": 0,
        "input_key": f"runs/{RUN_ID}/evaluation/transform/input/test.jsonl",
        "output_key": f"runs/{RUN_ID}/evaluation/transform/output/test.jsonl.out",
        "rows": 3,
    }
    # no features in this schema: every row fits one request
    assert [len(json.loads(line)["instances"]) for line in staged.splitlines()] == [3]


def test_a_retried_start_finds_the_job_it_created():
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error("create_transform_job", "ResourceInUse", "Job name must be unique")
        assert BatchTransformGateway(client).create_transform_job(TRANSFORM_JOB_REQUEST) is False


def check_state(**transform) -> CheckEvaluationTransformInput:
    section = {
        "job_name": JOB,
        "status": "InProgress",
        "polls": 3,
        "input_key": "i",
        "output_key": "o",
        "rows": 3,
        **transform,
    }
    return parse_state(make_state(endpoint=ENDPOINT, evaluation_transform=section), CheckEvaluationTransformInput)


@pytest.mark.parametrize(
    ("described", "reason"),
    [
        ({"TransformJobStatus": "InProgress"}, None),
        ({"TransformJobStatus": "Completed"}, None),
        ({"TransformJobStatus": "Failed", "FailureReason": "ClientError: 400 row 7"}, "ClientError: 400 row 7"),
        ({"TransformJobStatus": "Stopped"}, f"transform job {JOB} is Stopped"),
    ],
)
def test_each_poll_counts_and_an_unfinished_job_says_why(described, reason):
    client = boto3.client("sagemaker", region_name=REGION)
    response = {
        "TransformJobName": JOB,
        "TransformJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/j",
        "ModelName": MODEL,
        "TransformInput": TRANSFORM_JOB_REQUEST["TransformInput"],
        "TransformResources": TRANSFORM_JOB_REQUEST["TransformResources"],
        "CreationTime": "2026-01-01T00:00:00Z",
        **described,
    }
    with Stubber(client) as stubber:
        stubber.add_response("describe_transform_job", response, {"TransformJobName": JOB})
        polled = check_evaluation_transform(check_state(), BatchTransformGateway(client))
    assert (polled.status, polled.polls, polled.failure_reason) == (described["TransformJobStatus"], 4, reason)


class TransformingSageMaker(FakeSageMaker):
    """The failure handler's gateway, with a real client whose transform calls are stubbed."""

    def __init__(self):
        super().__init__(running=False)
        self.client = boto3.client("sagemaker", region_name=REGION)


def test_a_failed_or_timed_out_evaluation_transform_is_stopped_and_the_endpoint_deleted():
    sagemaker = TransformingSageMaker()
    transform = {"job_name": JOB, "status": "InProgress", "polls": 60, "input_key": "i", "output_key": "o", "rows": 3}
    state = make_state(
        endpoint=ENDPOINT,
        evaluation_transform=transform,
        failure={"Error": "EvaluationTransformTimedOut", "Cause": "still running after the maximum number of polls"},
    )
    with mock_aws():
        world = World()
        with Stubber(sagemaker.client) as stubber:
            stubber.add_response(
                "describe_transform_job",
                {
                    "TransformJobName": JOB,
                    "TransformJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/j",
                    "TransformJobStatus": "InProgress",
                    "ModelName": MODEL,
                    "TransformInput": TRANSFORM_JOB_REQUEST["TransformInput"],
                    "TransformResources": TRANSFORM_JOB_REQUEST["TransformResources"],
                    "CreationTime": "2026-01-01T00:00:00Z",
                },
                {"TransformJobName": JOB},
            )
            stubber.add_response("stop_transform_job", {}, {"TransformJobName": JOB})
            result = handle_failure(
                parse_state(state, FailureInput),
                sagemaker=sagemaker,
                bucket=world.bucket,
                notifier=world.notifier,
                executions=FakeExecutions([]),
            )
            stubber.assert_no_pending_responses()
        record = world.run_json()
    assert result.problems == []
    # the run's hosting, by the names derived from its run id
    assert ("delete", endpoint_name(RUN_ID), endpoint_config_name(RUN_ID), MODEL) in sagemaker.calls
    assert record["status"] == "FAILED" and record["error"]["error"] == "EvaluationTransformTimedOut"
