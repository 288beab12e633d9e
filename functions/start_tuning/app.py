"""Start tuning: CreateHyperParameterTuningJob for a run whose configuration asks for tuning.

Input: the run state after preprocessing (``run_id``, ``prepared.config.tuning``, ``prepared.dataset``).
Output (ResultPath ``$.tuning``): ``{"job_name", "status": "InProgress", "polls": 0, "max_polls",
"objective_metric", ...}``.
Raises SageMakerLimitExceeded while the stack's training-job limit is reached (retried with backoff)
and SageMakerThrottled.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.state import StartTuningInput, parse_state
from sagedrop.pipeline.tuning import start_tuning
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    tuning = start_tuning(parse_state(event, StartTuningInput), SAGEMAKER, SETTINGS)
    logger.info("tuning started", extra={"job_name": tuning.job_name, "max_polls": tuning.max_polls})
    return tuning.as_dict()
