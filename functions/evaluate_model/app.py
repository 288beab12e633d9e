"""Evaluate the model: the test split through the endpoint (or a Batch Transform job), scored against its labels.

Input: the run state (``run_id``, ``prepared.dataset``, ``training``, ``endpoint.endpoint_name``; and
``evaluation_transform.output_key`` when the state machine took the Batch Transform route).
Output (ResultPath ``$.evaluation``): ``{"evaluation_key", "report_key", "headline": {metric: value}}``;
``runs/<run-id>/evaluation.json`` (the public contract) and ``report.html`` are in the bucket, the
headline metrics go to CloudWatch (EMF) and the tutorial-style confusion table to the log.
Raises FeatureCountMismatchError / InvalidPredictionError when rows or answers do not fit the model.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.runtime import EndpointInvoker
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.evaluation import confusion_table
from sagedrop.pipeline.evaluating import evaluate_run
from sagedrop.pipeline.state import EvaluateInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
S3 = client("s3", retries=RetryPolicy.SELF)
RUNTIME = client("sagemaker-runtime", retries=RetryPolicy.SELF)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    state = parse_state(event, EvaluateInput)
    bucket = DataBucket(S3, SETTINGS.data_bucket)
    result = evaluate_run(
        state,
        bucket,
        ObjectStreams(S3, SETTINGS.data_bucket),
        EndpointInvoker(RUNTIME, state.endpoint.endpoint_name, serverless=state.prepared.config.serverless is not None),
    )
    for name, value in result.headline.items():
        if isinstance(value, int | float):
            metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)
    logger.info("evaluation\n" + confusion_table(bucket.read_json(result.evaluation_key)))
    return result.as_dict()
