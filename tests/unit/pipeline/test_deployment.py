"""Deployment: CreateModel / CreateEndpointConfig / CreateEndpoint requests, idempotent retries, polling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.errors import EndpointConfigNotReady, SageMakerThrottled
from sagedrop.names import endpoint_config_name, endpoint_name, model_name
from sagedrop.pipeline.deployment import check_endpoint, deploy_model
from sagedrop.pipeline.state import CheckEndpointInput, DeployInput, parse_state

from .conftest import BUCKET, ROLE_ARN, RUN_ID, STACK, make_config, make_settings, make_state

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
ARTIFACT = f"s3://{BUCKET}/runs/{RUN_ID}/model/job/output/model.tar.gz"
TAGS = [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}]
ARN = "arn:aws:sagemaker:us-east-1:123456789012:x/y"


def trained_state(**config) -> dict:
    return make_state(
        config=make_config(**config),
        training={"job_name": "job", "status": "Completed", "model_artifact": ARTIFACT, "polls": 3},
    )


def expect_model(stubbed):
    stubbed.stubber.add_response(
        "create_model",
        {"ModelArn": ARN},
        {
            "ModelName": model_name(RUN_ID),
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": ARTIFACT},
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
        parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), make_settings()
    ).as_dict()

    # Then the three requests were made in order and the wait loop gets the names
    assert [name for name, _ in stubbed.requests] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    assert endpoint == {
        "model_name": model_name(RUN_ID),
        "endpoint_config_name": endpoint_config_name(RUN_ID),
        "endpoint_name": endpoint_name(RUN_ID),
        "status": "Creating",
        "polls": 0,
    }


def test_a_serverless_run_gets_a_serverless_variant(stubbed):
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
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                }
            ],
            "Tags": TAGS,
        },
    )
    expect_endpoint(stubbed)

    deploy_model(
        parse_state(trained_state(serverless={"memory_size_mb": 2048, "max_concurrency": 5}), DeployInput),
        SageMakerGateway(stubbed.client),
        make_settings(),
    )

    (config,) = stubbed.calls("CreateEndpointConfig")
    assert "InstanceType" not in config["ProductionVariants"][0]


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
        parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), make_settings()
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
        deploy_model(parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), make_settings())


def test_other_validation_errors_are_not_swallowed(stubbed):
    from botocore.exceptions import ClientError

    stubbed.stubber.add_client_error(
        "create_model",
        service_error_code="ValidationException",
        service_message="Could not access model data",
    )

    with pytest.raises(ClientError):
        deploy_model(parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), make_settings())


def test_throttled_deploy_is_named(stubbed):
    stubbed.stubber.add_client_error("create_model", service_error_code="ThrottlingException")

    with pytest.raises(SageMakerThrottled):
        deploy_model(parse_state(trained_state(), DeployInput), SageMakerGateway(stubbed.client), make_settings())


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
