"""Record the failure of a scoring: stop the transform job, delete the scoring model, status.json, notify.

Input: the scoring state with ``failure`` = ``{"Error", "Cause"}`` (from a Catch or a failure Pass).
Output (ResultPath ``$.cleanup``): ``{"status_key", "stopped", "deleted", "error": {"error", "message"},
"problems"}``. The state machine then ends in Fail with the original error name and cause.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.scoring.finishing import handle_scoring_failure
from sagedrop.scoring.state import ScoringFailureInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = BatchTransformGateway(client("sagemaker", retries=RetryPolicy.SELF))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)
NOTIFIER = Notifier(client("sns", retries=RetryPolicy.SELF), SETTINGS.notification_topic_arn)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(scoring_id=event.get("scoring_id"))
    result = handle_scoring_failure(
        parse_state(event, ScoringFailureInput), sagemaker=SAGEMAKER, bucket=BUCKET, notifier=NOTIFIER
    )
    metrics.add_metric(name="ScoringsFailed", unit=MetricUnit.Count, value=1)
    logger.warning(
        "scoring failed", extra={"error": result.error, "stopped": result.stopped, "deleted": result.deleted}
    )
    return result.as_dict()
