"""Starter: one execution of the pipeline per uploaded object version.

Input: the EventBridge "Object Created" event S3 sends for the data bucket (events/object_created.json).
Output: ``{"run_id", "execution_arn", "started", "reason"}``. A duplicate delivery of the same event
finds its execution name taken and returns ``started: false``; keys outside ``incoming/`` or not
ending in ``.csv`` are ignored with a log line.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.stepfunctions import Executions
from sagedrop.pipeline.starting import parse_object_created, start_run
from sagedrop.settings import StarterSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = StarterSettings.from_environ()
EXECUTIONS = Executions(client("stepfunctions", retries=RetryPolicy.SELF), SETTINGS.state_machine_arn)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    outcome = start_run(parse_object_created(event), EXECUTIONS, SETTINGS)
    if outcome.started:
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    elif outcome.run_id:
        metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
    return outcome.as_dict()
