"""Deploy the model: CreateModel (the raw-row inference pipeline), CreateEndpointConfig, CreateEndpoint.

Idempotent per run. Input: the run state after training (``run_id``, ``training.model_artifact``,
``prepared.config``, ``prepared.dataset.inference_artifact``); a serverless run also uploads its
single-container tarball under ``runs/<run-id>/inference/single/``.
Output (ResultPath ``$.endpoint``): ``{"model_name", "endpoint_config_name", "endpoint_name",
"status": "Creating", "polls": 0}``.
Raises EndpointConfigNotReady (retried: eventual consistency) and SageMakerThrottled /
SageMakerLimitExceeded (retried with backoff).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.deployment import deploy_model
from sagedrop.pipeline.state import DeployInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    endpoint = deploy_model(parse_state(event, DeployInput), SAGEMAKER, BUCKET, SETTINGS)
    logger.info("endpoint requested", extra={"endpoint_name": endpoint.endpoint_name})
    return endpoint.as_dict()
