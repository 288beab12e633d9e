"""Steps 4 and 5: model, endpoint config and endpoint, then report the endpoint's status on each poll."""

from __future__ import annotations

from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.image_uris import xgboost_image_uri
from sagedrop.names import endpoint_config_name, endpoint_name, model_name
from sagedrop.pipeline.state import CheckEndpointInput, DeployInput, Endpoint
from sagedrop.pipeline.training import sagemaker_tags
from sagedrop.run_config import RunConfig
from sagedrop.settings import PipelineSettings

VARIANT_NAME = "AllTraffic"


def hosting_names(run_id: str) -> dict[str, str]:
    """Hosting names derive from the run id alone, so a retried deploy and the failure handler find them."""
    return {
        "model_name": model_name(run_id),
        "endpoint_config_name": endpoint_config_name(run_id),
        "endpoint_name": endpoint_name(run_id),
    }


def production_variant(config: RunConfig, model: str) -> dict:
    variant = {"VariantName": VARIANT_NAME, "ModelName": model}
    serverless = config.serverless
    if serverless:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": int(serverless.memory_size_mb),
            "MaxConcurrency": int(serverless.max_concurrency),
        }
    else:
        variant.update(
            {"InitialInstanceCount": 1, "InstanceType": config.endpoint_instance_type, "InitialVariantWeight": 1.0}
        )
    return variant


def hosting_requests(run_id: str, model_artifact: str, config: RunConfig, settings: PipelineSettings) -> dict:
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


def deploy_model(state: DeployInput, sagemaker: SageMakerGateway, settings: PipelineSettings) -> Endpoint:
    """Create model, endpoint config and endpoint; safe to retry (what exists is reused).

    Returns the three names with ``status: "Creating"`` and ``polls: 0`` for the wait loop.
    """
    requests = hosting_requests(state.run_id, state.training.model_artifact, state.prepared.config, settings)
    sagemaker.create_model(requests["model"])
    sagemaker.create_endpoint_config(requests["endpoint_config"])
    sagemaker.create_endpoint(requests["endpoint"])
    return Endpoint(**hosting_names(state.run_id), status="Creating", polls=0)


def check_endpoint(state: CheckEndpointInput, sagemaker: SageMakerGateway) -> Endpoint:
    """One poll of the endpoint; ``polls`` incremented, a reason only when the endpoint is not in service."""
    endpoint = state.endpoint
    described = sagemaker.describe_endpoint(endpoint.endpoint_name)
    status = described["EndpointStatus"]
    reason = (
        None
        if status == "InService"
        else described.get("FailureReason") or f"endpoint {endpoint.endpoint_name} is {status}"
    )
    return endpoint.model_copy(update={"status": status, "failure_reason": reason, "polls": endpoint.polls + 1})
