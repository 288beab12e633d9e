"""Analyse the model: upload the analysis code and start its SageMaker Processing job.

Input: the run state after training (``run_id``, ``training.model_artifact``, ``prepared.config``,
``prepared.dataset``). Writes ``runs/<run-id>/analysis/code/analysis.pyz``.
Output (ResultPath ``$.analysis``): ``{"job_name", "status": "InProgress", "polls": 0}``.
Raises SageMakerThrottled / SageMakerLimitExceeded (retried with backoff).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.analysing import start_analysis
from sagedrop.pipeline.state import AnalyseInput, parse_state
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
    analysis = start_analysis(parse_state(event, AnalyseInput), SAGEMAKER, BUCKET, SETTINGS)
    logger.info("analysis started", extra={"job_name": analysis.job_name})
    return analysis.as_dict()
