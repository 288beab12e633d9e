"""Start the preparation job: a large upload is prepared by a SageMaker Processing job, not the Lambda.

Input: the run state (``run_id``, ``source``: bucket/key/version_id/size of the upload), routed here
by "Where to prepare?" when ``source.size`` exceeds ``limits.lambda_prepare_max_bytes``. Resolves
the run configuration, copies the exact upload version to ``runs/<run-id>/preparation/upload/`` and
writes the job's code and ``job.json`` under ``runs/<run-id>/preparation/job/``.
Output (ResultPath ``$.preparation``): ``{"job_name", "status": "InProgress", "polls": 0, "config",
"config_source"}``.
Raises InvalidConfigError on a bad sagedrop.json; SageMakerThrottled / SageMakerLimitExceeded (retried).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.preparation_job import start_preparation_job
from sagedrop.pipeline.state import PrepareInput, parse_state
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
    preparation = start_preparation_job(parse_state(event, PrepareInput), SAGEMAKER, BUCKET, SETTINGS)
    logger.info("preparation job started", extra={"job_name": preparation.job_name})
    return preparation.as_dict()
