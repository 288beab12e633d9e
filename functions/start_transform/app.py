"""Start the transform job: CreateModel (the run's serial inference pipeline) and CreateTransformJob.

Idempotent per scoring (names derived from run id and scoring id). Input: the scoring state after
"Stage the rows" (``scoring_id``, ``validated``, ``staged.input_prefix``).
Output (ResultPath ``$.transform``): ``{"model_name", "job_name", "instance_type", "status": "InProgress",
"polls": 0}``; the instance type is the run's endpoint type, or ml.m5.large where Batch Transform does not offer it.
Raises SageMakerThrottled / SageMakerLimitExceeded (retried with backoff).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.scoring.state import StartTransformInput, parse_state
from sagedrop.scoring.transform import start_transform
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = BatchTransformGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(scoring_id=event.get("scoring_id"))
    transform = start_transform(parse_state(event, StartTransformInput), SAGEMAKER, BUCKET, SETTINGS)
    logger.info("transform job requested", extra={"job_name": transform.job_name, "model": transform.model_name})
    return transform.as_dict()
