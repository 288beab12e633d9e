"""Assemble the scores: the upload's rows with their predictions, as ``scores/<run-id>/<name>.csv``.

Input: the scoring state after the transform job completed (``source``, ``validated``, ``staged``,
``transform``). Streams the upload and the job's output into the scores file (multipart).
Output (ResultPath ``$.scores``): ``{"scores_key", "rows"}``.
Raises TransformOutputMismatch when the job's output does not pair up with the rows.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.scoring.assembling import assemble_scores
from sagedrop.scoring.state import AssembleInput, parse_state
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
    scores = assemble_scores(parse_state(event, AssembleInput), BUCKET, STREAMS)
    metrics.add_metric(name="RowsScored", unit=MetricUnit.Count, value=scores.rows)
    logger.info("scores written", extra={"scores_key": scores.scores_key, "rows": scores.rows})
    return scores.as_dict()
