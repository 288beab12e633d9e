"""Check the analysis: one poll of the model analysis job, for the wait loop.

Input: the run state (``analysis.job_name``, ``analysis.polls``).
Output (ResultPath ``$.analysis``): ``{"job_name", "status", "polls", "failure_reason",
"analysis_key", "threshold", "rounds"}`` — the last three once Completed, read from
``analysis.json``; the state machine's Choice routes on ``status`` and bounds the loop with ``polls``.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.analysing import check_analysis
from sagedrop.pipeline.state import CheckAnalysisInput, parse_state
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
    analysis = check_analysis(parse_state(event, CheckAnalysisInput), SAGEMAKER, BUCKET)
    logger.info("analysis status", extra={"status": analysis.status, "polls": analysis.polls})
    return analysis.as_dict()
