"""Take the best trial: the tuning job's best training job becomes the run's training.

Input: the run state with a Completed ``tuning``. Writes ``runs/<run-id>/tuning/trials.json`` (every
trial, for the report).
Output (ResultPath ``$.training``): the best trial's training section (``job_name``, ``status``,
``model_artifact``, ``metrics``, ``billable_seconds``, ...), as "Check training" returns it.
Raises TrainingFailed when the tuning job has no best trial.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.state import TakeBestTrialInput, parse_state
from sagedrop.pipeline.tuning import take_best_trial
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
    training = take_best_trial(parse_state(event, TakeBestTrialInput), SAGEMAKER, BUCKET)
    logger.info("best trial", extra={"job_name": training.job_name})
    return training.as_dict()
