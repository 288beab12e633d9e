"""Steps 4 and 5: model, endpoint config and endpoint, then report the endpoint's status on each poll.

The deployed model answers raw rows. On an instance it is a serial inference pipeline, as Autopilot
builds one: (1) the scikit-learn serving image running our featurizer from the run's inference
tarball, (2) the algorithm — XGBoost answering CSV, or Linear Learner answering JSON, its only
non-binary answer — (3) the same image and tarball decoding the answer into the original labels. A
serverless endpoint cannot host several containers, so there the XGBoost image runs the same code
in script mode, featurizer → Booster.predict → decoder in one process ("single" mode), from a
tarball that also holds the trained model. The Linear Learner image cannot run our code, so a
Linear Learner run has no serverless form (the run configuration refuses the combination).
"""

from __future__ import annotations

import dataclasses

from sagedrop.algorithms import Algorithm
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.image_uris import SKLEARN, image_uri
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import algorithm_files, build_model_tarball, container_environment, read_model_tarball
from sagedrop.inference.serving import DECODE, FEATURIZE, SINGLE
from sagedrop.names import endpoint_config_name, endpoint_name, model_name, run_prefix
from sagedrop.pipeline.state import CheckEndpointInput, DeployInput, Endpoint
from sagedrop.pipeline.training import algorithm_image, sagemaker_tags
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


def single_artifact_key(run_id: str) -> str:
    """The serverless form's tarball: the inference code and artifact plus the trained model."""
    return f"{run_prefix(run_id)}inference/single/model.tar.gz"


def model_containers(
    *,
    model_artifact: str,
    inference_artifact: str,
    serverless_artifact: str | None,
    settings: PipelineSettings,
    algorithm: Algorithm = Algorithm.XGBOOST,
) -> dict:
    """The container part of CreateModel: the serial pipeline, or one script-mode container when serverless."""
    image = algorithm_image(algorithm, settings)
    if serverless_artifact is not None:
        if not algorithm.has_single_container_form:
            raise ValueError(f"{algorithm.display_name} has no single-container (serverless) form")
        return {
            "PrimaryContainer": {
                "Image": image,
                "ModelDataUrl": serverless_artifact,
                "Environment": container_environment(SINGLE),
            }
        }
    sklearn = image_uri(SKLEARN, settings.region)
    return {
        "Containers": [
            {"Image": sklearn, "ModelDataUrl": inference_artifact, "Environment": container_environment(FEATURIZE)},
            # Without it the XGBoost container answers the pipeline's Accept (the caller's) and 415s on JSON;
            # Linear Learner has no CSV answer, so it is told to answer JSON, which the decoder reads.
            {
                "Image": image,
                "ModelDataUrl": model_artifact,
                "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": algorithm.answer_type},
            },
            {"Image": sklearn, "ModelDataUrl": inference_artifact, "Environment": container_environment(DECODE)},
        ],
        "InferenceExecutionConfig": {"Mode": "Serial"},
    }


def hosting_requests(
    run_id: str,
    model_artifact: str,
    config: RunConfig,
    settings: PipelineSettings,
    *,
    inference_artifact: str,
    serverless_artifact: str | None = None,
) -> dict:
    """CreateModel, CreateEndpointConfig and CreateEndpoint requests (pure)."""
    names = hosting_names(run_id)
    tags = sagemaker_tags(settings, run_id)
    return {
        "model": {
            "ModelName": names["model_name"],
            **model_containers(
                model_artifact=model_artifact,
                inference_artifact=inference_artifact,
                serverless_artifact=serverless_artifact,
                settings=settings,
                algorithm=config.algorithm,
            ),
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


def thresholded_artifact_key(run_id: str) -> str:
    """The inference tarball with the decision threshold the analysis chose."""
    return f"{run_prefix(run_id)}inference/deployed/model.tar.gz"


def _artifact(inference_artifact: str, bucket: DataBucket, threshold: float | None) -> FeaturizerArtifact:
    artifact = read_model_tarball(bucket.read_bytes(bucket.key_of(inference_artifact))).artifact
    return artifact if threshold is None else dataclasses.replace(artifact, threshold=float(threshold))


def package_thresholded_model(run_id: str, inference_artifact: str, bucket: DataBucket, threshold: float) -> str:
    """Upload the inference tarball again with ``threshold`` in its artifact; returns its S3 URI."""
    key = thresholded_artifact_key(run_id)
    bucket.write_bytes(key, build_model_tarball(_artifact(inference_artifact, bucket, threshold)), "application/gzip")
    return bucket.uri(key)


def package_serverless_model(
    run_id: str, model_artifact: str, inference_artifact: str, bucket: DataBucket, threshold: float | None = None
) -> str:
    """Build and upload the single-container tarball; returns its S3 URI (the same bytes on a retry)."""
    trained = algorithm_files(bucket.read_bytes(bucket.key_of(model_artifact)))
    key = single_artifact_key(run_id)
    artifact = _artifact(inference_artifact, bucket, threshold)
    bucket.write_bytes(key, build_model_tarball(artifact, trained), "application/gzip")
    return bucket.uri(key)


def deploy_model(
    state: DeployInput, sagemaker: SageMakerGateway, bucket: DataBucket, settings: PipelineSettings
) -> Endpoint:
    """Create model, endpoint config and endpoint; safe to retry (what exists is reused).

    The label decoder applies the analysis's decision threshold (binary), packed into the inference
    tarball's artifact. Returns the three names with ``status: "Creating"`` and ``polls: 0``.
    """
    config, dataset = state.prepared.config, state.prepared.dataset
    threshold = state.analysis.threshold if state.analysis is not None else None
    inference_artifact = dataset.inference_artifact
    serverless_artifact = None
    if config.serverless is not None:
        serverless_artifact = package_serverless_model(
            state.run_id, state.training.model_artifact, inference_artifact, bucket, threshold
        )
    elif threshold is not None:
        inference_artifact = package_thresholded_model(state.run_id, inference_artifact, bucket, threshold)
    requests = hosting_requests(
        state.run_id,
        state.training.model_artifact,
        config,
        settings,
        inference_artifact=inference_artifact,
        serverless_artifact=serverless_artifact,
    )
    sagemaker.create_model(requests["model"])
    sagemaker.create_endpoint_config(requests["endpoint_config"])
    sagemaker.create_endpoint(requests["endpoint"])
    return Endpoint(
        **hosting_names(state.run_id),
        status="Creating",
        polls=0,
        inference_artifact=serverless_artifact or inference_artifact,
    )


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
