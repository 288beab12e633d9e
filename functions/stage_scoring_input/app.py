"""Stage the rows: the upload without its header line, in the model's columns, one record per line.

Input: the scoring state after "Check the run and the file" (``source``, ``validated``).
Streams the upload into ``runs/<run-id>/scoring/<name>/input/`` (multipart, bounded memory),
checking each row's field count and numeric values.
Output (ResultPath ``$.staged``): ``{"input_prefix", "rows", "bytes"}``.
Raises InvalidCsvError or InvalidValueError naming the line (and the column).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.scoring.staging import stage_input
from sagedrop.scoring.state import StageInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
S3 = client("s3", retries=RetryPolicy.SELF)
BUCKET = DataBucket(S3, SETTINGS.data_bucket)
STREAMS = ObjectStreams(S3, SETTINGS.data_bucket)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(scoring_id=event.get("scoring_id"))
    staged = stage_input(parse_state(event, StageInput), BUCKET, STREAMS)
    metrics.add_metric(name="RowsStagedForScoring", unit=MetricUnit.Count, value=staged.rows)
    logger.info("rows staged", extra={"rows": staged.rows, "bytes": staged.bytes})
    return staged.as_dict()
