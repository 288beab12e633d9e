"""Check tuning: one poll of the tuning job, for the wait loop.

Input: the run state (``tuning.job_name``, ``tuning.polls``, ``tuning.max_polls``).
Output (ResultPath ``$.tuning``): the tuning section with ``status``, ``polls`` + 1, the best trial so
far and the trial counters; the state machine's Choice routes on ``status`` and bounds the loop with
``polls`` < ``max_polls``.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.state import CheckTuningInput, parse_state
from sagedrop.pipeline.tuning import check_tuning

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    tuning = check_tuning(parse_state(event, CheckTuningInput), SAGEMAKER)
    logger.info("tuning status", extra={"status": tuning.status, "polls": tuning.polls})
    return tuning.as_dict()
