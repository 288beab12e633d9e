"""Finish the scoring: delete the scoring model, write status.json, publish the success.

Input: the scoring state after "Assemble the scores" (``validated``, ``staged``, ``transform``, ``scores``).
Output (ResultPath ``$.result``): ``{"status_key", "deleted", "status": "SUCCEEDED"}``.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.scoring.finishing import finish_scoring
from sagedrop.scoring.state import FinishScoringInput, parse_state
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
    finished = finish_scoring(
        parse_state(event, FinishScoringInput), sagemaker=SAGEMAKER, bucket=BUCKET, notifier=NOTIFIER
    )
    metrics.add_metric(name="ScoringsSucceeded", unit=MetricUnit.Count, value=1)
    return finished.as_dict()
