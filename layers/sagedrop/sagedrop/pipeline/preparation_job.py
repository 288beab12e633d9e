"""The preparation of a large upload: a SageMaker Processing job on the scikit-learn image, then its polls.

Uploads above the stack's LambdaPrepareMaxBytes (the Choice "Where to prepare?") would not finish in
the Lambda's 15 minutes. The job runs :mod:`sagedrop.preparation.job` — the same ``prepare_upload``
the Lambda runs — and writes the same files under ``runs/<run-id>/``, so training, analysis,
deployment and evaluation do not know which route prepared their data.

How the same code runs in that image (Python 3.12, numpy and pandas, no pydantic): the Lambda
resolves and validates the run configuration here, before the job starts, and hands the job only
plain values (``PrepareOptions`` in ``job.json``); the preparation's import closure is the standard
library, numpy and pandas (tests/unit/preparation/test_import_rules.py pins it and runs the zip
application with the Lambda-only packages blocked). Converting the configuration at the boundary
keeps one validation (``RunConfig``) instead of a second, hand-written one in the job.

The exact upload version is copied (server-side) to ``runs/<run-id>/preparation/upload/``: a
Processing input names a prefix, not an object version, and the copy is what the job reads even if
the key is overwritten meanwhile. Bad input does not fail the job: it writes ``outcome.json`` and
"Check the preparation job" raises the same named error as the Lambda. Once the data is written,
the check step builds the inference tarball from ``schema.json`` as the Lambda route does.
"""

from __future__ import annotations

import math
import posixpath

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.dataset.options import PrepareOptions
from sagedrop.errors import InvalidEventError, PreparationJobFailed
from sagedrop.image_uris import SKLEARN, image_uri
from sagedrop.limits import (
    PREPARATION_INSTANCE_TYPE,
    PREPARATION_MAX_RUNTIME_SECONDS,
    PREPARATION_VOLUME_MARGIN_GB,
)
from sagedrop.names import preparation_job_name, run_prefix
from sagedrop.pipeline.preparing import prepared_state, resolve_config, schema_key, write_inference_tarball
from sagedrop.pipeline.processing import CONTAINER_ROOT, processing_input, run_seconds, zip_application
from sagedrop.pipeline.state import CheckPreparationJobInput, PreparationJob, PrepareInput
from sagedrop.pipeline.training import sagemaker_tags
from sagedrop.preparation.job import OUTCOME_FILE, RECORDED_ERRORS
from sagedrop.settings import PipelineSettings

JOB_MODULE = "sagedrop.preparation.job"
APP_NAME = "prepare.pyz"
JOB_FILE = "job.json"
_ERRORS = {error.__name__: error for error in RECORDED_ERRORS}


def job_prefix(run_id: str) -> str:
    """The job's code and ``job.json`` (one input)."""
    return f"{run_prefix(run_id)}preparation/job/"


def upload_prefix(run_id: str) -> str:
    """The copy of the exact upload version the job reads (one input)."""
    return f"{run_prefix(run_id)}preparation/upload/"


def outcome_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}preparation/output/{OUTCOME_FILE}"


def volume_size_gb(upload_bytes: int | None) -> int:
    """The upload, its splits and raw test split (three times the upload), and a margin."""
    return math.ceil(3 * (upload_bytes or 0) / 1024**3) + PREPARATION_VOLUME_MARGIN_GB


def preparation_job_request(
    *, run_id: str, job_name: str, upload_bytes: int | None, settings: PipelineSettings
) -> dict:
    """The complete CreateProcessingJob request (a pure function of its inputs)."""
    bucket = f"s3://{settings.data_bucket}/"
    job = f"{CONTAINER_ROOT}/input/job"
    return {
        "ProcessingJobName": job_name,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": PREPARATION_INSTANCE_TYPE,
                "VolumeSizeInGB": volume_size_gb(upload_bytes),
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": PREPARATION_MAX_RUNTIME_SECONDS},
        "AppSpecification": {
            "ImageUri": image_uri(SKLEARN, settings.region),
            "ContainerEntrypoint": ["python3", f"{job}/{APP_NAME}"],
            "ContainerArguments": [
                *("--job", f"{job}/{JOB_FILE}", "--upload", f"{CONTAINER_ROOT}/input/upload"),
                *("--output", f"{CONTAINER_ROOT}/output/run", "--outcome", f"{CONTAINER_ROOT}/output/outcome"),
            ],
        },
        "ProcessingInputs": [
            processing_input("job", bucket + job_prefix(run_id)),
            processing_input("upload", bucket + upload_prefix(run_id)),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                _output("run", bucket + run_prefix(run_id)),
                _output("outcome", bucket + posixpath.dirname(outcome_key(run_id)) + "/"),
            ]
        },
        "RoleArn": settings.sagemaker_role_arn,
        # Everything comes in through the inputs: the job needs no network.
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "Tags": sagemaker_tags(settings, run_id),
    }


def _output(name: str, uri: str) -> dict:
    return {
        "OutputName": name,
        "S3Output": {"S3Uri": uri, "LocalPath": f"{CONTAINER_ROOT}/output/{name}", "S3UploadMode": "EndOfJob"},
    }


def start_preparation_job(
    state: PrepareInput, sagemaker: SageMakerGateway, bucket: DataBucket, settings: PipelineSettings
) -> PreparationJob:
    """Resolve the configuration, stage the upload, code and options, and create the Processing job.

    Raises InvalidConfigError before anything is created. Returns ``status: "InProgress"`` and
    ``polls: 0`` for the wait loop, and the effective configuration for ``$.prepared`` later.
    """
    run_id, source = state.run_id, state.source
    config, config_source = resolve_config(state, bucket, settings)
    bucket.copy_version(source.key, source.version_id, upload_prefix(run_id) + posixpath.basename(source.key))
    bucket.write_bytes(job_prefix(run_id) + APP_NAME, zip_application(JOB_MODULE), "application/zip")
    job_document = {
        "source": source.key,
        "public_prefix": bucket.uri(run_prefix(run_id)),
        "options": PrepareOptions.of(config).as_dict(),
    }
    bucket.write_json(job_prefix(run_id) + JOB_FILE, job_document)
    job_name = preparation_job_name(run_id)
    request = preparation_job_request(run_id=run_id, job_name=job_name, upload_bytes=source.size, settings=settings)
    sagemaker.create_processing_job(request)
    return PreparationJob(job_name=job_name, status="InProgress", polls=0, config=config, config_source=config_source)


def check_preparation_job(
    state: CheckPreparationJobInput, sagemaker: SageMakerGateway, bucket: DataBucket
) -> PreparationJob:
    """One poll of the job; once Completed, ``prepared`` — or the named error the job recorded, raised."""
    preparation = state.preparation
    if preparation.config is None:
        raise InvalidEventError("preparation.config is missing: the job's configuration travels until it completes")
    job = sagemaker.describe_processing_job(preparation.job_name)
    status = job["ProcessingJobStatus"]
    update: dict = {"status": status, "polls": preparation.polls + 1}
    if status == "Completed":
        outcome = bucket.read_json(outcome_key(state.run_id))
        if "error" in outcome:
            raise_recorded(outcome["error"])
        schema = bucket.read_json(schema_key(state.run_id))
        write_inference_tarball(bucket, state.run_id, schema)
        prepared = prepared_state(
            state.run_id,
            bucket,
            preparation.config,
            preparation.config_source,
            schema,
            outcome["parts"],
            outcome["raw_test_bytes"],
        )
        # billable_seconds is always set here: the state machine's summary Pass reads it by path
        update.update(prepared=prepared, failure_reason=None, billable_seconds=run_seconds(job) or 0)
    else:
        update["failure_reason"] = (
            job.get("FailureReason") or job.get("ExitMessage") or f"preparation job {preparation.job_name} is {status}"
        )
    return preparation.model_copy(update=update)


def raise_recorded(error: dict) -> None:
    """The job's recorded bad-input error as the class the Lambda route raises (its name is the run's error)."""
    kind = _ERRORS.get(str(error.get("type")))
    message = str(error.get("message") or "")
    if kind is None:
        raise PreparationJobFailed(f"the preparation job recorded an unknown error {error.get('type')!r}: {message}")
    raise kind(message)
