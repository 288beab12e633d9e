"""Start training: CreateTrainingJob with SageMaker's built-in XGBoost.

Input: the run state after preprocessing (``run_id``, ``prepared.config``, ``prepared.dataset``).
Output (ResultPath ``$.training``): ``{"job_name", "status": "InProgress", "polls": 0}``.
Raises SageMakerThrottled / SageMakerLimitExceeded (retried by the state machine).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.state import StartTrainingInput, parse_state
from sagedrop.pipeline.training import start_training
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
    training = start_training(parse_state(event, StartTrainingInput), SAGEMAKER, SETTINGS)
    logger.info("training job created", extra={"job_name": training.job_name})
    return training.as_dict()
