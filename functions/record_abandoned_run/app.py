"""Backstop: record a run whose execution ended without its failure path (an EventBridge target).

Input: the "Step Functions Execution Status Change" event of a pipeline execution that ended
FAILED, TIMED_OUT or ABORTED (events/execution_failed.json).
Output: ``{"execution_arn", "status", "recorded", "reason", "run_id", "error", "deleted", "problems"}``;
EventBridge discards it, the log keeps it. ``recorded`` is false when run.json already records the
failure of that execution (the state machine's failure path ran) or the execution was redriven.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
from sagedrop.backstop import parse_status_change
from sagedrop.pipeline.abandoned import record_abandoned_run
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
# Nothing retries around this function but Lambda's own two retries of a failed event: SELF.
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.SELF))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)
NOTIFIER = Notifier(client("sns", retries=RetryPolicy.SELF), SETTINGS.notification_topic_arn)
EXECUTIONS = Executions(client("stepfunctions", retries=RetryPolicy.SELF))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    outcome = record_abandoned_run(
        parse_status_change(event), sagemaker=SAGEMAKER, bucket=BUCKET, notifier=NOTIFIER, executions=EXECUTIONS
    )
    logger.append_keys(run_id=outcome.run_id, execution_arn=outcome.execution_arn)
    if outcome.recorded:
        metrics.add_metric(name="AbandonedRunsRecorded", unit=MetricUnit.Count, value=1)
        logger.warning("recorded a run its state machine did not", extra=outcome.as_dict())
    else:
        logger.info("nothing to record", extra={"reason": outcome.reason, "status": outcome.status})
    return outcome.as_dict()
