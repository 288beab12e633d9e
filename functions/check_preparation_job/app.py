"""Check the preparation job: one poll of a large upload's preparation job, for the wait loop.

Input: the run state (``preparation.job_name``, ``preparation.polls``, ``preparation.config``).
Output (ResultPath ``$.preparation``): ``{"job_name", "status", "polls", "config", "failure_reason",
"billable_seconds", "prepared"}`` — ``prepared`` (what "Prepare the data" returns) once Completed;
once Completed, it also writes ``runs/<run-id>/inference/model.tar.gz`` from ``schema.json``, as
"Prepare the data" does; the state machine's Choice routes on ``status``, bounds the loop with ``polls`` and copies
``prepared`` to ``$.prepared``.
Raises the named error the job recorded for bad input (InvalidCsvError, LabelNotFoundError,
UnusableLabelError, DataLeakageError), exactly as the preprocessing Lambda raises it.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.preparation_job import check_preparation_job
from sagedrop.pipeline.state import CheckPreparationJobInput, parse_state
from sagedrop.settings import PipelineSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = PipelineSettings.from_environ()
SAGEMAKER = SageMakerGateway(client("sagemaker", retries=RetryPolicy.STATE_MACHINE))
BUCKET = DataBucket(client("s3", retries=RetryPolicy.SELF), SETTINGS.data_bucket)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(run_id=event.get("run_id"))
    preparation = check_preparation_job(parse_state(event, CheckPreparationJobInput), SAGEMAKER, BUCKET)
    logger.info("preparation job status", extra={"status": preparation.status, "polls": preparation.polls})
    return preparation.as_dict()
