"""The model analysis step: the CreateProcessingJob request (pinned with Stubber), its polls, and the deploy
step applying the threshold it chose."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY
from moto import mock_aws

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import build_model_tarball, read_model_tarball
from sagedrop.pipeline.analysing import analysis_key, check_analysis, code_key, start_analysis
from sagedrop.pipeline.deployment import thresholded_artifact_key
from sagedrop.pipeline.state import AnalyseInput, CheckAnalysisInput, parse_state

from .conftest import BUCKET, REGION, ROLE_ARN, RUN_ID, STACK, make_config, make_settings, make_state

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
ARTIFACT = f"s3://{BUCKET}/runs/{RUN_ID}/model/job/output/model.tar.gz"
TAGS = [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}]
ROOT = "/opt/ml/processing"


def trained(**config) -> dict:
    return make_state(
        config=make_config(**config),
        training={"job_name": "job", "status": "Completed", "model_artifact": ARTIFACT, "polls": 3},
    )


def processing_input(name: str, uri: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": f"{ROOT}/input/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield DataBucket(client, BUCKET)


def expected_request(threshold_arguments: list[str]) -> dict:
    data = f"s3://{BUCKET}/runs/{RUN_ID}/data"
    return {
        "ProcessingJobName": ANY,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 10}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", f"{ROOT}/input/code/analysis.pyz"],
            "ContainerArguments": [
                *("--model", f"{ROOT}/input/model", "--schema", f"{ROOT}/input/schema"),
                *("--validation", f"{ROOT}/input/validation", "--test", f"{ROOT}/input/test"),
                *("--output", f"{ROOT}/output"),
                *threshold_arguments,
                *("--sample-rows", "2000", "--seed", "1729"),
            ],
        },
        "ProcessingInputs": [
            processing_input("code", f"s3://{BUCKET}/{code_key(RUN_ID)}"),
            processing_input("model", ARTIFACT),
            processing_input("schema", f"s3://{BUCKET}/runs/{RUN_ID}/schema.json"),
            processing_input("test", f"{data}/test/"),
            processing_input("validation", f"{data}/validation/"),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "analysis",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/runs/{RUN_ID}/analysis/output/",
                        "LocalPath": f"{ROOT}/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "RoleArn": ROLE_ARN,
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "Tags": TAGS,
    }


@pytest.mark.parametrize(
    ("config", "arguments"),
    [
        ({}, ["--threshold-metric", "f1"]),
        (
            {"decision_threshold": {"metric": "cost", "cost": {"false_positive": 1, "false_negative": 5}}},
            ["--threshold-metric", "cost", "--false-positive-cost", "1.0", "--false-negative-cost", "5.0"],
        ),
        ({"decision_threshold": {"value": 0.4}}, ["--threshold-value", "0.4"]),
    ],
)
def test_start_analysis_uploads_its_code_and_creates_the_processing_job(stubbed, s3, config, arguments):
    stubbed.stubber.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"}, expected_request(arguments))

    analysis = start_analysis(
        parse_state(trained(**config), AnalyseInput), SageMakerGateway(stubbed.client), s3, make_settings()
    )

    (request,) = stubbed.calls("CreateProcessingJob")
    assert analysis.job_name == request["ProcessingJobName"] and analysis.status == "InProgress" and analysis.polls == 0
    # the code the job runs is the zip application, uploaded where the request points
    code = s3.read_bytes(code_key(RUN_ID))
    assert "sagedrop/analysis/job.py" in zipfile.ZipFile(io.BytesIO(code)).namelist()


def test_each_attempt_gets_its_own_job_name(stubbed, s3):
    for _ in range(2):
        stubbed.stubber.add_response(
            "create_processing_job", {"ProcessingJobArn": "arn:x"}, expected_request(["--threshold-metric", "f1"])
        )
    names = {
        start_analysis(
            parse_state(trained(), AnalyseInput), SageMakerGateway(stubbed.client), s3, make_settings()
        ).job_name
        for _ in range(2)
    }
    assert len(names) == 2 and all(len(name) <= 63 for name in names)


def polling(status: str, **described) -> tuple[dict, dict]:
    state = make_state(analysis={"job_name": "job-a", "status": "InProgress", "polls": 2})
    return state, {"ProcessingJobName": "job-a", "ProcessingJobArn": "arn:x", "ProcessingJobStatus": status,
                   "AppSpecification": {"ImageUri": IMAGE}, "ProcessingResources": {"ClusterConfig": {
                       "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 10}},
                   "CreationTime": datetime(2026, 1, 1, tzinfo=UTC), **described}  # fmt: skip


def test_a_completed_analysis_brings_its_threshold_rounds_and_run_time(stubbed, s3):
    started = datetime(2026, 12, 1, 12, tzinfo=UTC)
    state, described = polling(
        "Completed", ProcessingStartTime=started, ProcessingEndTime=started + timedelta(seconds=41.2)
    )
    stubbed.stubber.add_response("describe_processing_job", described, {"ProcessingJobName": "job-a"})
    s3.write_json(analysis_key(RUN_ID), {"threshold": {"value": 0.31}, "rounds": {"kept": 120}})

    analysis = check_analysis(parse_state(state, CheckAnalysisInput), SageMakerGateway(stubbed.client), s3)

    assert analysis.as_dict() == {
        "job_name": "job-a",
        "status": "Completed",
        "polls": 3,
        "analysis_key": analysis_key(RUN_ID),
        "threshold": 0.31,
        "rounds": 120,
        "billable_seconds": 42,
    }


def test_a_failed_analysis_carries_sagemakers_reason(stubbed, s3):
    state, described = polling("Failed", FailureReason="AlgorithmError: See job logs for more information")
    stubbed.stubber.add_response("describe_processing_job", described, {"ProcessingJobName": "job-a"})
    analysis = check_analysis(parse_state(state, CheckAnalysisInput), SageMakerGateway(stubbed.client), s3)
    assert analysis.status == "Failed" and analysis.failure_reason.startswith("AlgorithmError")
    assert analysis.threshold is None


def test_a_threshold_outside_zero_to_one_is_refused_by_the_state_model():
    state = make_state(analysis={"job_name": "a", "status": "Completed", "polls": 1, "threshold": 1.5})
    with pytest.raises(Exception, match="analysis.threshold"):
        parse_state(state, CheckAnalysisInput)


def test_the_deploy_step_packs_the_chosen_threshold_into_the_decoder(s3):
    from sagedrop.pipeline.deployment import package_thresholded_model

    schema = {
        "problem_type": "binary_classification", "label": "y", "source_columns": ["a"], "features": ["a"],
        "encodings": {"a": {"kind": "numeric", "features": ["a"], "missing": 0}}, "label_mapping": ["no", "yes"],
        "delimiter": ",", "header": True, "text_encoding": "utf-8",
    }  # fmt: skip
    s3.write_bytes(
        f"runs/{RUN_ID}/inference/model.tar.gz", build_model_tarball(FeaturizerArtifact.from_schema(schema)), "x"
    )

    uri = package_thresholded_model(RUN_ID, f"s3://{BUCKET}/runs/{RUN_ID}/inference/model.tar.gz", s3, 0.27)

    assert uri == f"s3://{BUCKET}/{thresholded_artifact_key(RUN_ID)}"
    artifact = read_model_tarball(s3.read_bytes(thresholded_artifact_key(RUN_ID))).artifact
    assert artifact.threshold == 0.27
    assert json.loads(artifact.to_json())["label_mapping"] == ["no", "yes"]


def test_the_bucket_lists_a_splits_part_files_in_key_order(s3):
    for name in ("part-00001.csv", "part-00000.csv", "part-00010.csv"):
        s3.write_bytes(f"runs/{RUN_ID}/data/test/{name}", b"1,2\n", "text/csv")
    s3.write_bytes(f"runs/{RUN_ID}/data/testing/other.csv", b"x", "text/csv")
    assert s3.keys(f"runs/{RUN_ID}/data/test/") == [
        f"runs/{RUN_ID}/data/test/part-00000.csv",
        f"runs/{RUN_ID}/data/test/part-00001.csv",
        f"runs/{RUN_ID}/data/test/part-00010.csv",
    ]


def test_a_serverless_deployment_packs_the_threshold_beside_the_trained_model(s3):
    import io
    import tarfile

    from sagedrop.inference.serving import XGBOOST_MODEL_FILE
    from sagedrop.pipeline.deployment import package_serverless_model, single_artifact_key

    schema = {
        "problem_type": "binary_classification", "label": "y", "source_columns": ["a"], "features": ["a"],
        "encodings": {"a": {"kind": "numeric", "features": ["a"], "missing": 0}}, "label_mapping": ["no", "yes"],
        "delimiter": ",", "header": True, "text_encoding": "utf-8",
    }  # fmt: skip
    s3.write_bytes(
        f"runs/{RUN_ID}/inference/model.tar.gz", build_model_tarball(FeaturizerArtifact.from_schema(schema)), "x"
    )
    trained = io.BytesIO()
    with tarfile.open(fileobj=trained, mode="w:gz") as archive:
        info = tarfile.TarInfo(XGBOOST_MODEL_FILE)
        info.size = 5
        archive.addfile(info, io.BytesIO(b"model"))
    s3.write_bytes(f"runs/{RUN_ID}/model/job/output/model.tar.gz", trained.getvalue(), "x")

    package_serverless_model(
        RUN_ID, ARTIFACT, f"s3://{BUCKET}/runs/{RUN_ID}/inference/model.tar.gz", s3, threshold=0.31
    )

    packed = read_model_tarball(s3.read_bytes(single_artifact_key(RUN_ID)))
    assert packed.artifact.threshold == 0.31
    with tarfile.open(fileobj=io.BytesIO(s3.read_bytes(single_artifact_key(RUN_ID)))) as archive:
        assert archive.extractfile(XGBOOST_MODEL_FILE).read() == b"model"
