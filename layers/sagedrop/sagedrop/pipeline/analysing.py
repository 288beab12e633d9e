"""The model analysis between training and deployment: a SageMaker Processing job, then its polls.

The job runs :mod:`sagedrop.analysis.job` on the XGBoost image (xgboost does not fit in a Lambda):
it chooses a binary model's decision threshold on the validation split, counts the boosting rounds
early stopping kept, and explains the model by source column on a sample of the test split. Its
code travels as one zip application built from the package's import closure, so the job runs the
same code as the tests. The deploy step reads the threshold from this step's section; the
evaluation reads ``analysis.json`` for the explanations.
"""

from __future__ import annotations

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.limits import ANALYSIS_MAX_RUNTIME_SECONDS, ANALYSIS_SAMPLE_ROWS
from sagedrop.names import analysis_job_name, run_prefix
from sagedrop.pipeline.processing import CONTAINER_ROOT, processing_input, run_seconds, zip_application
from sagedrop.pipeline.state import AnalyseInput, Analysis, CheckAnalysisInput
from sagedrop.pipeline.training import algorithm_image, sagemaker_tags
from sagedrop.run_config import DecisionThreshold
from sagedrop.settings import PipelineSettings

JOB_MODULE = "sagedrop.analysis.job"
APP_NAME = "analysis.pyz"
ANALYSIS_FILE = "analysis.json"  # what sagedrop.analysis.job writes


def code_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}analysis/code/{APP_NAME}"


def output_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}analysis/output/"


def analysis_key(run_id: str) -> str:
    return output_prefix(run_id) + ANALYSIS_FILE


def build_analysis_app() -> bytes:
    """The zip application (``python3 analysis.pyz …``): ``__main__`` and the job's import closure."""
    return zip_application(JOB_MODULE)


def threshold_arguments(threshold: DecisionThreshold) -> list[str]:
    if threshold.value is not None:
        return ["--threshold-value", repr(float(threshold.value))]
    arguments = ["--threshold-metric", threshold.metric]
    if threshold.cost is not None:
        arguments += [
            "--false-positive-cost",
            repr(float(threshold.cost.false_positive)),
            "--false-negative-cost",
            repr(float(threshold.cost.false_negative)),
        ]
    return arguments


def analysis_job_request(
    *, run_id: str, job_name: str, state: AnalyseInput, code_uri: str, settings: PipelineSettings
) -> dict:
    """The complete CreateProcessingJob request (a pure function of its inputs)."""
    config, dataset = state.prepared.config, state.prepared.dataset
    bucket = f"s3://{settings.data_bucket}/"
    inputs = [
        processing_input("code", code_uri),
        processing_input("model", state.training.model_artifact),
        processing_input("schema", bucket + dataset.schema_key),
        processing_input("test", dataset.channels.test),
    ]
    arguments = ["--model", f"{CONTAINER_ROOT}/input/model", "--schema", f"{CONTAINER_ROOT}/input/schema"]
    if dataset.channels.validation is not None:
        inputs.append(processing_input("validation", dataset.channels.validation))
        arguments += ["--validation", f"{CONTAINER_ROOT}/input/validation"]
    arguments += ["--test", f"{CONTAINER_ROOT}/input/test", "--output", f"{CONTAINER_ROOT}/output"]
    arguments += threshold_arguments(config.decision_threshold)
    arguments += ["--sample-rows", str(ANALYSIS_SAMPLE_ROWS), "--seed", str(config.seed)]
    return {
        "ProcessingJobName": job_name,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": config.training_instance_type, "VolumeSizeInGB": 10}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": ANALYSIS_MAX_RUNTIME_SECONDS},
        "AppSpecification": {
            "ImageUri": algorithm_image(config.algorithm, settings),
            "ContainerEntrypoint": ["python3", f"{CONTAINER_ROOT}/input/code/{APP_NAME}"],
            "ContainerArguments": arguments,
        },
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "analysis",
                    "S3Output": {
                        "S3Uri": bucket + output_prefix(run_id),
                        "LocalPath": f"{CONTAINER_ROOT}/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "RoleArn": settings.sagemaker_role_arn,
        # Everything comes in through the inputs: the job needs no network.
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "Tags": sagemaker_tags(settings, run_id),
    }


def start_analysis(
    state: AnalyseInput, sagemaker: SageMakerGateway, bucket: DataBucket, settings: PipelineSettings
) -> Analysis:
    """Upload the job's code and create the Processing job under a name unique to this attempt.

    Returns ``status: "InProgress"`` and ``polls: 0`` for the wait loop.
    """
    key = code_key(state.run_id)
    bucket.write_bytes(key, build_analysis_app(), "application/zip")
    job_name = analysis_job_name(state.run_id)
    request = analysis_job_request(
        run_id=state.run_id, job_name=job_name, state=state, code_uri=bucket.uri(key), settings=settings
    )
    sagemaker.create_processing_job(request)
    return Analysis(job_name=job_name, status="InProgress", polls=0)


def check_analysis(state: CheckAnalysisInput, sagemaker: SageMakerGateway, bucket: DataBucket) -> Analysis:
    """One poll of the analysis job; once Completed, the threshold and rounds from ``analysis.json``."""
    analysis = state.analysis
    job = sagemaker.describe_processing_job(analysis.job_name)
    status = job["ProcessingJobStatus"]
    update: dict = {"status": status, "polls": analysis.polls + 1}
    if status == "Completed":
        key = analysis_key(state.run_id)
        document = bucket.read_json(key)
        threshold = document.get("threshold") or {}
        update.update(
            analysis_key=key,
            threshold=threshold.get("value"),
            rounds=(document.get("rounds") or {}).get("kept"),
            failure_reason=None,
            billable_seconds=run_seconds(job),
        )
    else:
        update["failure_reason"] = (
            job.get("FailureReason") or job.get("ExitMessage") or f"analysis job {analysis.job_name} is {status}"
        )
    return analysis.model_copy(update=update)
