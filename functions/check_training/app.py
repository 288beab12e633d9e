"""Check training: one poll of the training job, for the wait loop.

Input: the run state (``training.job_name``, ``training.polls``).
Output (ResultPath ``$.training``): ``{"job_name", "status", "secondary_status", "failure_reason",
"polls", "metrics", "model_artifact", "billable_seconds"}``; the state machine's Choice routes on
``status`` and bounds the loop with ``polls``.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.state import CheckTrainingInput, parse_state
from sagedrop.pipeline.training import check_training

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    training = check_training(parse_state(event, CheckTrainingInput), SAGEMAKER)
    logger.info("training status", extra={"status": training.status, "polls": training.polls})
    return training.as_dict()
