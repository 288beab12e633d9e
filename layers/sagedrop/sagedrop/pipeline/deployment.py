"""Steps 4 and 5: model, endpoint config and endpoint, then report the endpoint's status on each poll."""

from __future__ import annotations

from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.image_uris import xgboost_image_uri
from sagedrop.names import endpoint_config_name, endpoint_name, model_name
from sagedrop.pipeline.state import require
from sagedrop.pipeline.training import sagemaker_tags
from sagedrop.settings import PipelineSettings

VARIANT_NAME = "AllTraffic"


def hosting_names(run_id: str) -> dict[str, str]:
    """Hosting names derive from the run id alone, so a retried deploy and the failure handler find them."""
    return {
        "model_name": model_name(run_id),
        "endpoint_config_name": endpoint_config_name(run_id),
        "endpoint_name": endpoint_name(run_id),
    }


def production_variant(config: dict, model: str) -> dict:
    variant = {"VariantName": VARIANT_NAME, "ModelName": model}
    serverless = config.get("serverless")
    if serverless:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": int(serverless["memory_size_mb"]),
            "MaxConcurrency": int(serverless["max_concurrency"]),
        }
    else:
        variant.update(
            {"InitialInstanceCount": 1, "InstanceType": config["endpoint_instance_type"], "InitialVariantWeight": 1.0}
        )
    return variant


def hosting_requests(run_id: str, model_artifact: str, config: dict, settings: PipelineSettings) -> dict:
    """CreateModel, CreateEndpointConfig and CreateEndpoint requests (pure)."""
    names = hosting_names(run_id)
    tags = sagemaker_tags(settings, run_id)
    return {
        "model": {
            "ModelName": names["model_name"],
            "PrimaryContainer": {
                "Image": xgboost_image_uri(settings.region, settings.xgboost_version),
                "ModelDataUrl": model_artifact,
            },
            "ExecutionRoleArn": settings.sagemaker_role_arn,
            "EnableNetworkIsolation": True,
            "Tags": tags,
        },
        "endpoint_config": {
            "EndpointConfigName": names["endpoint_config_name"],
            "ProductionVariants": [production_variant(config, names["model_name"])],
            "Tags": tags,
        },
        "endpoint": {
            "EndpointName": names["endpoint_name"],
            "EndpointConfigName": names["endpoint_config_name"],
            "Tags": tags,
        },
    }


def deploy_model(state: dict, sagemaker: SageMakerGateway, settings: PipelineSettings) -> dict:
    """Create model, endpoint config and endpoint; safe to retry (what exists is reused).

    Returns the ``endpoint`` document: the three names, ``status: "Creating"``, ``polls: 0``.
    """
    run_id = require(state, "run_id")
    requests = hosting_requests(
        run_id, require(state, "training.model_artifact"), require(state, "prepared.config"), settings
    )
    sagemaker.create_model(requests["model"])
    sagemaker.create_endpoint_config(requests["endpoint_config"])
    sagemaker.create_endpoint(requests["endpoint"])
    return {**hosting_names(run_id), "status": "Creating", "polls": 0}


def check_endpoint(state: dict, sagemaker: SageMakerGateway) -> dict:
    """One poll of the endpoint; returns the ``endpoint`` document with ``polls`` incremented."""
    endpoint = dict(require(state, "endpoint"))
    described = sagemaker.describe_endpoint(endpoint["endpoint_name"])
    endpoint.update(
        status=described["EndpointStatus"],
        failure_reason=described.get("FailureReason")
        or f"endpoint {endpoint['endpoint_name']} is {described['EndpointStatus']}",
        polls=int(endpoint.get("polls", 0)) + 1,
    )
    return endpoint
