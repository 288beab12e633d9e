"""Starter: one execution per uploaded object version — a pipeline run, or a scoring.

Input: the EventBridge "Object Created" event S3 sends for the data bucket (events/object_created.json,
events/object_created_score.json). ``incoming/…csv`` starts the pipeline, named by the run id;
``score/<run-id>/<name>.csv`` starts the scoring state machine, named by the scoring id.
Output: ``{"run_id", "execution_arn", "started", "reason"}`` (a scoring adds ``scoring_id``). A
duplicate delivery of the same event finds its execution name taken and returns ``started: false``;
other keys are ignored with a log line.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.stepfunctions import Executions
from sagedrop.pipeline.starting import parse_object_created, start_for_upload
from sagedrop.scoring.settings import ScoringStarterSettings
from sagedrop.settings import StarterSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = StarterSettings.from_environ()
SCORING_SETTINGS = ScoringStarterSettings.from_environ()
STEPFUNCTIONS = client("stepfunctions", retries=RetryPolicy.SELF)
EXECUTIONS = Executions(STEPFUNCTIONS, SETTINGS.state_machine_arn)


def scoring_executions() -> Executions:
    return Executions(STEPFUNCTIONS, SCORING_SETTINGS.require())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    outcome = start_for_upload(
        parse_object_created(event), pipeline=EXECUTIONS, scoring=scoring_executions, settings=SETTINGS
    )
    if outcome.scoring_id is not None:
        metrics.add_metric(
            name="ScoringsStarted" if outcome.started else "DuplicateDeliveries", unit=MetricUnit.Count, value=1
        )
    elif outcome.started:
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    elif outcome.run_id:
        metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
    return outcome.as_dict()
