"""Large uploads on the local cloud: with LambdaPrepareMaxBytes set small, the preparation runs as a
Processing job in the local SageMaker (the same zip application the cloud runs), and the run goes on
exactly as after the Lambda; bad input fails the run with the Lambda's named error."""

from __future__ import annotations

import gzip
import json

import pytest

from sagedrop.aws.s3 import DataBucket
from sagedrop.pipeline.preparing import prepare_run
from sagedrop.pipeline.state import PrepareInput, parse_state
from sagedrop.settings import PipelineSettings
from sagedrop_local.cloud import LocalCloud
from tests.integration.conftest import BANK_DATA, run_to_end

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROUTE = "Start the preparation job"


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    work = tmp_path_factory.mktemp("large")
    with LocalCloud(
        work_dir=work / "out", state_dir=work / "state", parameter_overrides={"LambdaPrepareMaxBytes": "1000"}
    ) as cloud:
        yield cloud


def visited(cloud, execution_arn: str) -> list[str]:
    events = cloud.history(execution_arn)
    return [event["stateEnteredEventDetails"]["name"] for event in events if event["type"].endswith("Entered")]


def test_bank_full_is_prepared_by_the_processing_job_and_the_run_succeeds(large):
    data = gzip.decompress(BANK_DATA.read_bytes())
    key = "incoming/bank/bank-full.csv"
    outcome, final = run_to_end(large, key, data)
    assert final["status"] == "SUCCEEDED", final.get("cause")
    states = visited(large, outcome["execution_arn"])
    assert ROUTE in states and "Take the prepared data" in states and "Prepare the data" not in states
    run = f"runs/{outcome['run_id']}/"
    record = json.loads(large.read(run + "run.json"))
    assert record["status"] == "SUCCEEDED"
    job_schema = json.loads(large.read(run + "schema.json"))

    # The Lambda route's domain function on the same upload version writes the same schema.
    bucket = DataBucket(large.client("s3"), large.bucket)
    head = large.client("s3").head_object(Bucket=large.bucket, Key=key)
    lambda_run = "lambda-route-bank-full"
    state = {
        "run_id": lambda_run,
        "source": {"bucket": large.bucket, "key": key, "version_id": head.get("VersionId"), "size": len(data)},
        "poll": {"interval_seconds": 1, "max_polls": 5},
    }
    settings = PipelineSettings(
        data_bucket=large.bucket, notification_topic_arn="arn:t", sagemaker_role_arn="arn:r", stack_name="s",
        region="us-east-1", xgboost_version="3.0-5",
    )  # fmt: skip
    prepare_run(parse_state(state, PrepareInput), bucket, settings)
    assert json.loads(large.read(f"runs/{lambda_run}/schema.json")) == job_schema
    assert job_schema["rows"]["input"] == 45211
    assert large.read(key) == data  # the upload is as it was


def test_a_bad_csv_through_the_processing_job_fails_with_the_named_error(large):
    data = b"age,job,y\n" + b"30,admin,no\n" * 40 + b"31,admin\n" + b"32,technician,yes\n" * 40
    outcome, final = run_to_end(large, "incoming/broken/short-line.csv", data)
    assert final["status"] == "FAILED"
    record = json.loads(large.read(f"runs/{outcome['run_id']}/run.json"))
    assert record["error"]["error"] == "InvalidCsvError", record["error"]
    assert "line 42" in record["error"]["message"]
    states = visited(large, outcome["execution_arn"])
    assert ROUTE in states and "Prepare the data" not in states and "Start training" not in states
