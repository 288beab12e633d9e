"""Prepare the data: validate the run configuration and the CSV, write the splits and schema.

Input: the run state (``run_id``, ``source``: bucket/key/version_id of the upload).
Output (ResultPath ``$.prepared``): ``{"config": <effective run config>, "dataset": {"schema_key",
"channels": {"train", "validation", "test"}, "label", "problem_type", "feature_count",
"class_count", "rows"}}``.
Raises InvalidConfigError, InvalidCsvError, LabelNotFoundError or UnusableLabelError on bad input;
the upload itself is only ever read.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.pipeline.preparing import prepare_run
from sagedrop.pipeline.state import PrepareInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    prepared = prepare_run(parse_state(event, PrepareInput), BUCKET, SETTINGS)
    metrics.add_metric(name="InputRows", unit=MetricUnit.Count, value=prepared.dataset.rows["input"])
    logger.info("prepared", extra={"dataset": prepared.dataset.as_dict()})
    return prepared.as_dict()
