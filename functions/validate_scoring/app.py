"""Check the run and the file: the run named by the key succeeded and the file's header names its columns.

Input: the scoring state from "Start the scoring" (``scoring_id``, ``source`` = the dropped object,
``poll``). Reads ``runs/<run-id>/run.json``, ``schema.json`` and the upload's header line only.
Output (ResultPath ``$.validated``): ``{"run_id", "name", "schema_key", "model_artifact",
"inference_artifact", "endpoint_instance_type", "problem_type", "prediction_columns", "columns"}``.
Raises InvalidScoringKeyError, RunNotFoundError, RunNotScorableError, ColumnMismatchError, InvalidCsvError.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.scoring.state import ValidateInput, parse_state
from sagedrop.scoring.validation import validate_scoring
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
    validated = validate_scoring(parse_state(event, ValidateInput), BUCKET, STREAMS)
    logger.info("scoring request valid", extra={"run_id": validated.run_id, "columns": validated.columns})
    return validated.as_dict()
