"""Deployment: CreateModel / CreateEndpointConfig / CreateEndpoint requests, idempotent retries, polling."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from sagedrop.algorithms import Algorithm
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.dataset import prepare_dataset
from sagedrop.errors import EndpointConfigNotReady, InvalidConfigError, SageMakerThrottled
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.decoder import Decoder
from sagedrop.inference.packaging import build_model_tarball, read_model_tarball
from sagedrop.names import endpoint_config_name, endpoint_name, model_name
from sagedrop.pipeline.deployment import check_endpoint, deploy_model, model_containers
from sagedrop.pipeline.state import CheckEndpointInput, DeployInput, parse_state
from sagedrop.run_config import resolve_run_config

from .conftest import BUCKET, ROLE_ARN, RUN_ID, STACK, make_config, make_settings, make_state

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
ARTIFACT = f"s3://{BUCKET}/runs/{RUN_ID}/model/job/output/model.tar.gz"
INFERENCE = f"s3://{BUCKET}/runs/{RUN_ID}/inference/model.tar.gz"
SINGLE = f"s3://{BUCKET}/runs/{RUN_ID}/inference/single/model.tar.gz"


def serving_environment(mode: str) -> dict:
    # What the scikit-learn (and, in script mode, XGBoost) serving containers read: sagemaker-containers'
    # SAGEMAKER_PROGRAM / SAGEMAKER_SUBMIT_DIRECTORY, and the default Accept the next container needs.
    return {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        "SAGEDROP_INFERENCE_MODE": mode,
    }


PIPELINE = {
    "Containers": [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": INFERENCE, "Environment": serving_environment("featurize")},
        {"Image": IMAGE, "ModelDataUrl": ARTIFACT, "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}},
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": INFERENCE, "Environment": serving_environment("decode")},
    ],
    "InferenceExecutionConfig": {"Mode": "Serial"},
}
SINGLE_CONTAINER = {
    "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": SINGLE, "Environment": serving_environment("single")}
}
TAGS = [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}]
ARN = "arn:aws:sagemaker:us-east-1:123456789012:x/y"


# An instance deploy reads nothing from the bucket: a client with no credentials would fail loudly if it did.
UNUSED_BUCKET = DataBucket(None, BUCKET)


def deploy(stubbed):
    return deploy_model(
        parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), UNUSED_BUCKET, make_settings()
    )


def trained_state(**config) -> dict:
    return make_state(
        config=make_config(**config),
        training={"job_name": "job", "status": "Completed", "model_artifact": ARTIFACT, "polls": 3},
    )


def expect_model(stubbed, containers=None):
    stubbed.stubber.add_response(
        "create_model",
        {"ModelArn": ARN},
        {
            "ModelName": model_name(RUN_ID),
            **(containers or PIPELINE),
            "ExecutionRoleArn": ROLE_ARN,
            "EnableNetworkIsolation": True,
            "Tags": TAGS,
        },
    )


def expect_endpoint(stubbed):
    stubbed.stubber.add_response(
        "create_endpoint",
        {"EndpointArn": ARN},
        {
            "EndpointName": endpoint_name(RUN_ID),
            "EndpointConfigName": endpoint_config_name(RUN_ID),
            "Tags": TAGS,
        },
    )


def test_deploy_creates_model_config_and_endpoint_on_an_instance(stubbed):
    # Given a trained run with the default (instance) hosting
    expect_model(stubbed)
    stubbed.stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": ARN},
        {
            "EndpointConfigName": endpoint_config_name(RUN_ID),
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name(RUN_ID),
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "InitialVariantWeight": 1.0,
                }
            ],
            "Tags": TAGS,
        },
    )
    expect_endpoint(stubbed)

    # When the deploy step runs
    endpoint = deploy_model(
        parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), UNUSED_BUCKET, make_settings()
    ).as_dict()

    # Then the three requests were made in order and the wait loop gets the names
    assert [name for name, _ in stubbed.requests] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    assert endpoint == {
        "model_name": model_name(RUN_ID),
        "endpoint_config_name": endpoint_config_name(RUN_ID),
        "endpoint_name": endpoint_name(RUN_ID),
        "status": "Creating",
        "polls": 0,
        "inference_artifact": trained_state()["prepared"]["dataset"]["inference_artifact"],
    }


@pytest.fixture
def run_bucket():
    """The bucket after preprocessing and training: the run's inference tarball and trained model."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        csv = "age,job,y\n" + "".join(f"{20 + i % 40},{'ab'[i % 2]},{'yes' if i % 3 else 'no'}\n" for i in range(60))
        prepared = prepare_dataset(csv.encode(), resolve_run_config(None, None, source="test"), source="t.csv")
        tarball = build_model_tarball(FeaturizerArtifact.from_schema(prepared.schema))
        s3.put_object(Bucket=BUCKET, Key=INFERENCE.removeprefix(f"s3://{BUCKET}/"), Body=tarball)
        trained = io.BytesIO()
        with tarfile.open(fileobj=trained, mode="w:gz") as archive:
            member = tarfile.TarInfo("xgboost-model")
            member.size = len(b"trained-model-bytes")
            archive.addfile(member, io.BytesIO(b"trained-model-bytes"))
        s3.put_object(Bucket=BUCKET, Key=ARTIFACT.removeprefix(f"s3://{BUCKET}/"), Body=trained.getvalue())
        yield DataBucket(s3, BUCKET)


def test_a_serverless_run_serves_one_script_mode_container_with_the_model_inside(stubbed, run_bucket):
    # Given a serverless run: a serverless endpoint cannot host a multi-container model
    expect_model(stubbed, SINGLE_CONTAINER)
    stubbed.stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": ARN},
        {
            "EndpointConfigName": endpoint_config_name(RUN_ID),
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name(RUN_ID),
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                }
            ],
            "Tags": TAGS,
        },
    )
    expect_endpoint(stubbed)

    # When it deploys
    deploy_model(
        parse_state(trained_state(serverless={"memory_size_mb": 2048, "max_concurrency": 5}), DeployInput),
        SageMakerGateway(stubbed.client),
        run_bucket,
        make_settings(),
    )

    # Then the single tarball holds the inference code and artifact and the trained model
    single = read_model_tarball(run_bucket.read_bytes(run_bucket.key_of(SINGLE)))
    inference = read_model_tarball(run_bucket.read_bytes(run_bucket.key_of(INFERENCE)))
    assert single.files["xgboost-model"] == b"trained-model-bytes"
    assert single.artifact == inference.artifact
    assert single.files["code/inference.py"] == inference.files["code/inference.py"]


@pytest.mark.parametrize("kind", ["model", "endpoint configuration", "endpoint"])
def test_a_retried_deploy_reuses_what_the_first_attempt_created(stubbed, kind):
    # Given an earlier attempt that created some resources before failing
    operations = ["create_model", "create_endpoint_config", "create_endpoint"]
    existing = {"model": 1, "endpoint configuration": 2, "endpoint": 3}[kind]
    for operation in operations[:existing]:
        stubbed.stubber.add_client_error(
            operation,
            service_error_code="ValidationException",
            service_message=f'Cannot create already existing {kind} "arn:aws:sagemaker:us-east-1:1:x/y".',
        )
    responses = {
        "create_model": "ModelArn",
        "create_endpoint_config": "EndpointConfigArn",
        "create_endpoint": "EndpointArn",
    }
    for operation in operations[existing:]:
        stubbed.stubber.add_response(operation, {responses[operation]: ARN})

    # When the step is retried, Then it succeeds and reports the same names
    endpoint = deploy_model(
        parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), UNUSED_BUCKET, make_settings()
    ).as_dict()

    assert endpoint["endpoint_name"] == endpoint_name(RUN_ID)
    assert endpoint["status"] == "Creating"


def test_create_endpoint_before_the_config_is_visible_is_retryable(stubbed):
    stubbed.stubber.add_response("create_model", {"ModelArn": ARN})
    stubbed.stubber.add_response("create_endpoint_config", {"EndpointConfigArn": ARN})
    stubbed.stubber.add_client_error(
        "create_endpoint",
        service_error_code="ValidationException",
        service_message='Could not find endpoint configuration "endpoint-config/c"',
    )

    with pytest.raises(EndpointConfigNotReady, match="Could not find endpoint configuration"):
        deploy_model(
            parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), UNUSED_BUCKET, make_settings()
        )


def test_other_validation_errors_are_not_swallowed(stubbed):
    from botocore.exceptions import ClientError

    stubbed.stubber.add_client_error(
        "create_model",
        service_error_code="ValidationException",
        service_message="Could not access model data",
    )

    with pytest.raises(ClientError):
        deploy_model(
            parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), UNUSED_BUCKET, make_settings()
        )


def test_throttled_deploy_is_named(stubbed):
    stubbed.stubber.add_client_error("create_model", service_error_code="ThrottlingException")

    with pytest.raises(SageMakerThrottled):
        deploy_model(
            parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), UNUSED_BUCKET, make_settings()
        )


def describe_endpoint(status: str, **extra) -> dict:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "EndpointName": endpoint_name(RUN_ID),
        "EndpointArn": ARN,
        "EndpointConfigName": endpoint_config_name(RUN_ID),
        "EndpointStatus": status,
        "CreationTime": now,
        "LastModifiedTime": now,
        **extra,
    }


def endpoint_state(polls: int) -> dict:
    names = {
        "model_name": model_name(RUN_ID),
        "endpoint_config_name": endpoint_config_name(RUN_ID),
        "endpoint_name": endpoint_name(RUN_ID),
    }
    return make_state(endpoint={**names, "status": "Creating", "polls": polls})


def test_check_endpoint_counts_polls_and_keeps_the_names(stubbed):
    stubbed.stubber.add_response(
        "describe_endpoint", describe_endpoint("Creating"), {"EndpointName": endpoint_name(RUN_ID)}
    )

    endpoint = check_endpoint(
        parse_state(endpoint_state(polls=6), CheckEndpointInput), SageMakerGateway(stubbed.client)
    ).as_dict()

    assert endpoint["status"] == "Creating"
    assert endpoint["polls"] == 7
    assert endpoint["model_name"] == model_name(RUN_ID)
    assert endpoint["endpoint_config_name"] == endpoint_config_name(RUN_ID)


def test_check_endpoint_carries_the_failure_reason(stubbed):
    stubbed.stubber.add_response(
        "describe_endpoint",
        describe_endpoint("Failed", FailureReason="Insufficient capacity for ml.m5.large"),
    )

    endpoint = check_endpoint(
        parse_state(endpoint_state(polls=0), CheckEndpointInput), SageMakerGateway(stubbed.client)
    ).as_dict()

    assert endpoint["status"] == "Failed"
    assert endpoint["failure_reason"] == "Insufficient capacity for ml.m5.large"
    assert endpoint["polls"] == 1


# --- Linear Learner ------------------------------------------------------------------------------

LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
LINEAR_LEARNER_PIPELINE = {
    "Containers": [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": INFERENCE, "Environment": serving_environment("featurize")},
        # Linear Learner has no CSV answer: told to answer JSON, the decoder's input
        {
            "Image": LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": ARTIFACT,
            "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"},
        },
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": INFERENCE, "Environment": serving_environment("decode")},
    ],
    "InferenceExecutionConfig": {"Mode": "Serial"},
}


def test_a_linear_learner_run_serves_featurizer_linear_learner_and_decoder(stubbed):
    # Given a trained Linear Learner run on an instance endpoint
    expect_model(stubbed, LINEAR_LEARNER_PIPELINE)
    stubbed.stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": ARN},
        {
            "EndpointConfigName": endpoint_config_name(RUN_ID),
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name(RUN_ID),
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "InitialVariantWeight": 1.0,
                }
            ],
            "Tags": TAGS,
        },
    )
    expect_endpoint(stubbed)

    # When it deploys (an instance deploy reads nothing from the bucket)
    endpoint = deploy_model(
        parse_state(trained_state(algorithm="linear-learner"), DeployInput),
        SageMakerGateway(stubbed.client),
        UNUSED_BUCKET,
        make_settings(),
    )

    # Then the Stubber saw exactly the three-container pipeline, the Linear Learner image in the middle
    assert endpoint.status == "Creating"
    assert [name for name, _ in stubbed.requests] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]


def test_the_linear_learner_answer_type_is_one_the_decoder_reads():

    artifact = FeaturizerArtifact(
        label="y",
        problem_type="binary_classification",
        source_columns=("x",),
        encodings={"x": {"kind": "numeric", "features": ["x"], "missing": 0}},
        features=("x",),
        label_mapping=("no", "yes"),
    )
    answer = b'{"predictions": [{"score": 0.8, "predicted_label": 1.0}, {"score": 0.1, "predicted_label": 0.0}]}'

    decoded = Decoder(artifact).decode_answer(answer, Algorithm.LINEAR_LEARNER.answer_type)

    assert decoded.predicted_labels() == ["yes", "no"]


def test_there_is_no_serverless_linear_learner_model():

    # The run configuration refuses the combination with a message naming the key …
    with pytest.raises(InvalidConfigError, match="serverless: not available with algorithm 'linear-learner'"):
        make_config(algorithm="linear-learner", serverless={})
    # … and the deployment refuses to build one should a state carry it anyway.
    with pytest.raises(ValueError, match="Linear Learner has no single-container"):
        model_containers(
            model_artifact=ARTIFACT,
            inference_artifact=INFERENCE,
            serverless_artifact=SINGLE,
            settings=make_settings(),
            algorithm=Algorithm.LINEAR_LEARNER,
        )
