"""Check the evaluation transform: one poll of DescribeTransformJob, for the wait loop.

Input: the run state (``poll``, ``evaluation_transform.job_name``, ``evaluation_transform.polls``).
Output (ResultPath ``$.evaluation_transform``): the section with ``status``, ``polls`` + 1 and
``failure_reason`` when the job ended Failed or Stopped; the Choice routes on
``status`` and bounds the loop with ``polls``.
Raises SageMakerThrottled / SageMakerLimitExceeded (retried with backoff).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.pipeline.evaluation_transform import check_evaluation_transform
from sagedrop.pipeline.state import CheckEvaluationTransformInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = BatchTransformGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    transform = check_evaluation_transform(parse_state(event, CheckEvaluationTransformInput), SAGEMAKER)
    logger.info("evaluation transform status", extra={"status": transform.status, "polls": transform.polls})
    return transform.as_dict()
