"""Check the transform job: one poll of DescribeTransformJob, for the wait loop.

Input: the scoring state (``transform.job_name``, ``transform.polls``).
Output (ResultPath ``$.transform``): ``{"model_name", "job_name", "status", "polls", "failure_reason"}``;
the Choice routes on ``status`` and bounds the loop with ``polls``.
Raises SageMakerThrottled / SageMakerLimitExceeded (retried with backoff).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.scoring.state import CheckTransformInput, parse_state
from sagedrop.scoring.transform import check_transform

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SAGEMAKER = BatchTransformGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(scoring_id=event.get("scoring_id"))
    transform = check_transform(parse_state(event, CheckTransformInput), SAGEMAKER)
    logger.info("transform job status", extra={"status": transform.status, "polls": transform.polls})
    return transform.as_dict()
