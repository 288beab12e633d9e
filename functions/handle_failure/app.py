"""Record the failure: stop training, delete the endpoint unless kept, write run.json, notify.

Input: the run state with ``failure`` = ``{"Error", "Cause"}`` (from a Catch or a failure Pass).
Output (ResultPath ``$.cleanup``): ``{"run_key", "deleted", "error": {"error", "message"}, "problems"}``.
The state machine then ends in Fail with the original error name and cause.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
from sagedrop.pipeline.finishing import handle_failure
from sagedrop.pipeline.state import FailureInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.SELF))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)
NOTIFIER = Notifier(client("sns", retries=RetryPolicy.SELF), SETTINGS.notification_topic_arn)
EXECUTIONS = Executions(client("stepfunctions", retries=RetryPolicy.SELF))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    result = handle_failure(
        parse_state(event, FailureInput), sagemaker=SAGEMAKER, bucket=BUCKET, notifier=NOTIFIER, executions=EXECUTIONS
    )
    metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
    logger.warning("run failed", extra={"error": result.error, "deleted": result.deleted})
    return result.as_dict()
