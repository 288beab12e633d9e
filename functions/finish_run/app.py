"""Finish the run: delete the endpoint unless the run keeps it, write run.json, notify success.

Input: the run state after evaluation.
Writes run.json (with ``estimated_cost_usd``) and renders report.html again with the step timings
and the cost.
Output (ResultPath ``$.result``): ``{"run_key", "deleted": [resource names], "status": "SUCCEEDED"}``.
"""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
from sagedrop.pipeline.costing import lambda_memory_from_environ
from sagedrop.pipeline.finishing import finish_run
from sagedrop.pipeline.state import FinishInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.SELF))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)
NOTIFIER = Notifier(client("sns", retries=RetryPolicy.SELF), SETTINGS.notification_topic_arn)
EXECUTIONS = Executions(client("stepfunctions", retries=RetryPolicy.SELF))
LAMBDA_MEMORY_MB = lambda_memory_from_environ(os.environ)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    result = finish_run(
        parse_state(event, FinishInput),
        sagemaker=SAGEMAKER,
        bucket=BUCKET,
        notifier=NOTIFIER,
        executions=EXECUTIONS,
        lambda_memory_mb=LAMBDA_MEMORY_MB,
    )
    metrics.add_metric(name="RunsSucceeded", unit=MetricUnit.Count, value=1)
    return result.as_dict()
