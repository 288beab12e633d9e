"""The preparation job of a large upload: the CreateProcessingJob request (pinned with Stubber), the job run
as Processing runs it, and its check — which must leave exactly what "Prepare the data" leaves, or raise
the same named error."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import ANY
from moto import mock_aws

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.errors import DataLeakageError, InvalidConfigError, InvalidCsvError
from sagedrop.pipeline.preparation_job import (
    APP_NAME,
    JOB_FILE,
    check_preparation_job,
    job_prefix,
    outcome_key,
    start_preparation_job,
    upload_prefix,
)
from sagedrop.pipeline.preparing import data_report_key, prepare_run
from sagedrop.pipeline.state import CheckPreparationJobInput, PrepareInput, RunState, parse_state

from .conftest import BUCKET, REGION, ROLE_ARN, RUN_ID, STACK, make_settings

KEY = "incoming/shop/customers.csv"
LAMBDA_RUN = "lambda-route-0123456789ab"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
ROOT = "/opt/ml/processing"
TAGS = [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}]


def customers(rows: int = 600, *, leak: bool = False) -> bytes:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "plan": rng.choice(["basic", "pro", "team"], rows),
            "spend": rng.normal(50, 20, rows).round(2),
            "y": rng.choice(["no", "yes"], rows),
        }
    )
    if leak:
        frame["refund_issued"] = np.where(frame["y"] == "yes", "refund", "none")
    return frame.to_csv(index=False).encode()


@pytest.fixture
def bucket():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield DataBucket(s3, BUCKET)


def upload(bucket: DataBucket, data: bytes, config: dict | None = None) -> dict:
    if config is not None:
        bucket.write_bytes("incoming/shop/sagedrop.json", json.dumps(config).encode(), "application/json")
    version = bucket.client.put_object(Bucket=BUCKET, Key=KEY, Body=data)["VersionId"]
    return {"bucket": BUCKET, "key": KEY, "version_id": version, "size": len(data)}


def state(source: dict, run_id: str = RUN_ID, **extra) -> dict:
    return {"run_id": run_id, "source": source, "poll": {"interval_seconds": 1, "max_polls": 5}, **extra}


def expected_request(size: int) -> dict:
    run = f"s3://{BUCKET}/runs/{RUN_ID}/"
    return {
        "ProcessingJobName": ANY,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 10 + -(-3 * size // 1024**3)}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {
            "ImageUri": SKLEARN_IMAGE,
            "ContainerEntrypoint": ["python3", f"{ROOT}/input/job/prepare.pyz"],
            "ContainerArguments": [
                "--job", f"{ROOT}/input/job/job.json", "--upload", f"{ROOT}/input/upload",
                "--output", f"{ROOT}/output/run", "--outcome", f"{ROOT}/output/outcome",
            ],
        },
        "ProcessingInputs": [
            {"InputName": name, "S3Input": {"S3Uri": f"{run}preparation/{name}/", "LocalPath": f"{ROOT}/input/{name}",
                                            "S3DataType": "S3Prefix", "S3InputMode": "File",
                                            "S3DataDistributionType": "FullyReplicated"}}
            for name in ("job", "upload")
        ],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": "run", "S3Output": {"S3Uri": run, "LocalPath": f"{ROOT}/output/run",
                                               "S3UploadMode": "EndOfJob"}},
            {"OutputName": "outcome", "S3Output": {"S3Uri": f"{run}preparation/output/",
                                                   "LocalPath": f"{ROOT}/output/outcome", "S3UploadMode": "EndOfJob"}},
        ]},
        "RoleArn": ROLE_ARN,
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "Tags": TAGS,
    }  # fmt: skip


def start(stubbed, bucket: DataBucket, source: dict):
    request = expected_request(source["size"])
    stubbed.stubber.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"}, request)
    return start_preparation_job(
        parse_state(state(source), PrepareInput), SageMakerGateway(stubbed.client), bucket, make_settings()
    )


def run_like_processing(bucket: DataBucket, request: dict, scratch: Path) -> None:
    """What Processing does with the request: inputs down, ``python3 <entrypoint> <args>``, outputs up on exit 0."""

    def local(path: str) -> Path:
        return scratch / Path(path).relative_to("/opt/ml")

    for item in request["ProcessingInputs"]:
        prefix = bucket.key_of(item["S3Input"]["S3Uri"])
        for key in bucket.keys(prefix):
            target = local(item["S3Input"]["LocalPath"]) / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bucket.read_bytes(key))
    app = request["AppSpecification"]
    argv = [str(local(part)) if part.startswith("/opt/ml") else part for part in app["ContainerArguments"]]
    done = subprocess.run(
        [sys.executable, str(local(app["ContainerEntrypoint"][1])), *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    for output in request["ProcessingOutputConfig"]["Outputs"]:
        folder = local(output["S3Output"]["LocalPath"])
        prefix = bucket.key_of(output["S3Output"]["S3Uri"])
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            bucket.write_bytes(prefix + file.relative_to(folder).as_posix(), file.read_bytes(), "binary/octet-stream")


def check(stubbed, bucket: DataBucket, started, status: str = "Completed", **described):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    stubbed.stubber.add_response(
        "describe_processing_job",
        {"ProcessingJobName": started.job_name, "ProcessingJobArn": "arn:x", "ProcessingJobStatus": status,
         "AppSpecification": {"ImageUri": SKLEARN_IMAGE}, "CreationTime": now,
         "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                   "VolumeSizeInGB": 10}},
         "ProcessingStartTime": now, "ProcessingEndTime": now + timedelta(seconds=61.5), **described},
        {"ProcessingJobName": started.job_name},
    )  # fmt: skip
    document = state({"bucket": BUCKET, "key": KEY}, preparation=started.as_dict())
    return check_preparation_job(
        parse_state(document, CheckPreparationJobInput), SageMakerGateway(stubbed.client), bucket
    )


def run_files(bucket: DataBucket, run_id: str) -> dict[str, bytes]:
    prefix = f"runs/{run_id}/"
    return {
        key[len(prefix) :]: bucket.read_bytes(key)
        for key in bucket.keys(prefix)
        if not key.startswith(prefix + "preparation/")
    }


def test_start_stages_the_exact_upload_version_and_creates_the_job(stubbed, bucket):
    source = upload(bucket, customers(), {"label": "y", "seed": 7})
    bucket.client.put_object(Bucket=BUCKET, Key=KEY, Body=b"a,b\n1,2\n")  # a newer version under the same key

    started = start(stubbed, bucket, source)

    assert started.status == "InProgress" and started.polls == 0 and len(started.job_name) <= 63
    assert started.config.seed == 7 and started.config_source == "incoming/shop/sagedrop.json"
    # the job reads a copy of the version that started the run, never the key's newer one
    (copied,) = bucket.keys(upload_prefix(RUN_ID))
    assert bucket.read_bytes(copied) == customers() and copied.endswith("/customers.csv")
    job = bucket.read_json(job_prefix(RUN_ID) + JOB_FILE)
    assert job["source"] == KEY and job["public_prefix"] == f"s3://{BUCKET}/runs/{RUN_ID}/"
    assert job["options"]["seed"] == 7 and job["options"]["label"] == "y"
    assert bucket.read_bytes(job_prefix(RUN_ID) + APP_NAME)[:2] == b"PK"
    # the upload is as it was: both versions, untouched
    assert len(bucket.client.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]) == 2


def test_a_bad_configuration_fails_before_anything_is_created(stubbed, bucket):
    source = upload(bucket, customers(), {"lable": "y"})
    with pytest.raises(InvalidConfigError, match="lable"):
        start_preparation_job(
            parse_state(state(source), PrepareInput), SageMakerGateway(stubbed.client), bucket, make_settings()
        )
    assert stubbed.calls("CreateProcessingJob") == []
    assert bucket.keys("runs/") == []


def test_the_job_leaves_exactly_what_the_lambda_leaves(stubbed, bucket, tmp_path):
    source = upload(bucket, customers(), {"label": "y"})
    started = start(stubbed, bucket, source)
    (request,) = stubbed.calls("CreateProcessingJob")
    run_like_processing(bucket, request, tmp_path)

    checked = check(stubbed, bucket, started)
    lambda_prepared = prepare_run(parse_state(state(source, LAMBDA_RUN), PrepareInput), bucket, make_settings())

    assert checked.status == "Completed" and checked.polls == 1 and checked.billable_seconds == 62
    # the same state (but for the run id in its keys) and the same files, byte for byte
    assert json.loads(json.dumps(checked.prepared.as_dict()).replace(RUN_ID, LAMBDA_RUN)) == lambda_prepared.as_dict()
    job_files, lambda_files = run_files(bucket, RUN_ID), run_files(bucket, LAMBDA_RUN)
    assert set(job_files) == set(lambda_files) >= {"schema.json", "data_report.json", "inference/model.tar.gz"}
    data_files = {name for name in job_files if name.startswith("data/")}
    assert data_files >= {"data/train/part-00000.csv", "data/raw/test.csv"}
    assert job_files == lambda_files


@pytest.mark.parametrize(
    ("data", "config", "error"),
    [
        (b"age,plan,y\n" + b"30,basic,no\n" * 50 + b"31,pro\n" + b"32,team,yes\n" * 50, {}, InvalidCsvError),
        (customers(leak=True), {"label": "y"}, DataLeakageError),
    ],
)
def test_bad_input_ends_the_run_with_the_lambdas_named_error(stubbed, bucket, tmp_path, data, config, error):
    source = upload(bucket, data, config)
    started = start(stubbed, bucket, source)
    (request,) = stubbed.calls("CreateProcessingJob")
    run_like_processing(bucket, request, tmp_path)

    with pytest.raises(error) as through_job:
        check(stubbed, bucket, started)
    with pytest.raises(error) as through_lambda:
        prepare_run(parse_state(state(source, LAMBDA_RUN), PrepareInput), bucket, make_settings())

    assert str(through_job.value) == str(through_lambda.value).replace(LAMBDA_RUN, RUN_ID)
    assert set(run_files(bucket, RUN_ID)) == set(run_files(bucket, LAMBDA_RUN))
    if error is InvalidCsvError:
        assert "line 52" in str(through_job.value)  # where, as the Lambda says it
    else:
        assert str(through_job.value).endswith(f"The data report: s3://{BUCKET}/{data_report_key(RUN_ID)}")
    assert bucket.read_json(outcome_key(RUN_ID))["error"]["type"] == error.__name__
    assert bucket.read_bytes(KEY) == data


def test_a_failed_job_reports_sagemakers_reason(stubbed, bucket):
    started = start(stubbed, bucket, upload(bucket, customers()))
    checked = check(stubbed, bucket, started, "Failed", FailureReason="AlgorithmError: See job logs")
    assert (checked.status, checked.failure_reason) == ("Failed", "AlgorithmError: See job logs")
    assert checked.prepared is None


def test_a_running_job_is_polled_again(stubbed, bucket):
    started = start(stubbed, bucket, upload(bucket, customers()))
    checked = check(stubbed, bucket, started, "InProgress")
    assert checked.status == "InProgress" and checked.polls == 1 and checked.prepared is None


def test_after_the_job_the_state_carries_the_configuration_once(stubbed, bucket, tmp_path):
    # Given a completed job's check output, through the two Pass states that follow it in the ASL
    source = upload(bucket, customers(), {"label": "y"})
    started = start(stubbed, bucket, source)
    (request,) = stubbed.calls("CreateProcessingJob")
    run_like_processing(bucket, request, tmp_path)
    checked = check(stubbed, bucket, started).as_dict()
    asl = json.loads((Path(__file__).resolve().parents[3] / "statemachine" / "pipeline.asl.json").read_text())
    take, keep = asl["States"]["Take the prepared data"], asl["States"]["Keep the job's summary"]
    assert (take["InputPath"], take["ResultPath"]) == ("$.preparation.prepared", "$.prepared")
    assert (take["Next"], keep["ResultPath"]) == ("Keep the job's summary", "$.preparation")
    document = state(source, preparation=checked)
    document["prepared"] = checked["prepared"]
    document["preparation"] = {  # every path the Pass reads is in the check's output (a missing one is fatal)
        name[:-2]: checked[path.removeprefix("$.preparation.")] for name, path in keep["Parameters"].items()
    }

    # Then the state is a valid run state for the next steps, with the configuration in $.prepared only
    parsed = parse_state(document, RunState)
    assert parsed.preparation.config is None and parsed.prepared.config.label == "y"
    assert json.dumps(document).count('"split"') == 1
    assert document["preparation"]["billable_seconds"] == 62
