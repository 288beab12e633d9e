"""Check the endpoint: one poll of the endpoint, for the wait loop.

Input: the run state (``endpoint.endpoint_name``, ``endpoint.polls``).
Output (ResultPath ``$.endpoint``): the endpoint document with ``status``, ``failure_reason`` and
``polls`` updated; the state machine's Choice routes on ``status`` and bounds the loop with ``polls``.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.deployment import check_endpoint
from sagedrop.pipeline.state import CheckEndpointInput, parse_state

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    endpoint = check_endpoint(parse_state(event, CheckEndpointInput), SAGEMAKER)
    logger.info("endpoint status", extra={"status": endpoint.status, "polls": endpoint.polls})
    return endpoint.as_dict()
