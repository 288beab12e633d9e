"""Start the evaluation transform: the raw test split staged as JSON Lines, then CreateTransformJob.

Taken instead of InvokeEndpoint when the raw test split is over the stack's EvaluationTransformBytes.
Input: the run state (``run_id``, ``poll``, ``prepared``, ``endpoint.model_name``).
Output (ResultPath ``$.evaluation_transform``): ``{"job_name", "status": "InProgress", "polls": 0,
"input_key", "output_key", "rows"}``. The job runs the deployed model; its name is
derived from the run id, so a retried step finds the job it created.
Raises InvalidCsvError for a raw test row that cannot be sent; SageMakerThrottled /
SageMakerLimitExceeded (retried with backoff).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.pipeline.evaluation_transform import start_evaluation_transform
from sagedrop.pipeline.state import StartEvaluationTransformInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = BatchTransformGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))
S3 = client("s3", retries=RetryPolicy.SELF)
BUCKET = DataBucket(S3, SETTINGS.data_bucket)
STREAMS = ObjectStreams(S3, SETTINGS.data_bucket)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    state = parse_state(event, StartEvaluationTransformInput)
    transform = start_evaluation_transform(state, SAGEMAKER, BUCKET, STREAMS, SETTINGS)
    logger.info("evaluation transform requested", extra={"job_name": transform.job_name, "rows": transform.rows})
    return transform.as_dict()
