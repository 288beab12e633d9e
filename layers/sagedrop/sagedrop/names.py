"""Names of executions, runs and SageMaker resources.

Step Functions execution names: 1-80 chars, no whitespace or ``<>{}[]?*"#%\\^|~$&,;:/``.
SageMaker names: at most 63 chars, ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``, unique per account and
region. The run id doubles as the execution name, so one uploaded object version maps to exactly
one execution (a duplicate S3 event finds the name taken) and every resource name can be derived
from the run id.
"""

from __future__ import annotations

import hashlib
import re
import secrets

SAGEMAKER_NAME_LIMIT = 63
EXECUTION_NAME_LIMIT = 80
RUN_HASH_LENGTH = 16
_MAX_STEM = 40
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
SAGEMAKER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

# Tags on every SageMaker resource sagedrop creates: the stack that owns it (cleanup touches only
# its own stack's), the run it belongs to (the failure path finds a run's jobs by it), and the
# tag a user sets to keep an endpoint from the nightly cleanup.
STACK_TAG = "sagedrop:stack"
RUN_ID_TAG = "sagedrop:run-id"
KEEP_TAG = "sagedrop:keep"


def _stem(text: str, limit: int) -> str:
    """Letters and digits of ``text`` joined by single hyphens, at most ``limit`` chars."""
    stem = _NOT_ALNUM.sub("-", text).strip("-")[:limit].strip("-")
    return stem or "run"


def run_id_for(bucket: str, key: str, version_id: str | None, etag: str | None = None) -> str:
    """A deterministic run id for one version of one uploaded object.

    The readable part comes from the file name; the hash covers bucket, key and version so two
    uploads of the same key are two runs, and the same event delivered twice is one run. Without
    versioning (version id absent or "null") the ETag stands in for the version.
    """
    version = version_id if version_id and version_id != "null" else f"etag:{etag or ''}"
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode()).hexdigest()[:RUN_HASH_LENGTH]
    file_name = key.rsplit("/", 1)[-1].removesuffix(".csv")
    return f"{_stem(file_name, _MAX_STEM)}-{digest}"


def _sagemaker_name(run_id: str, role: str) -> str:
    """``<stem>-<hash>-<role>`` cut to SageMaker's 63 chars by shortening the readable stem only."""
    stem, _, digest = run_id.rpartition("-")
    room = SAGEMAKER_NAME_LIMIT - len(digest) - len(role) - 2
    name = f"{_stem(stem, max(room, 1))}-{digest}-{role}"
    assert SAGEMAKER_NAME_PATTERN.match(name), name
    return name


def training_job_name(run_id: str, attempt: str | None = None) -> str:
    """A training job name unique per attempt: a retried state must not reuse a taken name."""
    return _sagemaker_name(run_id, f"t{attempt or secrets.token_hex(3)}")


def analysis_job_name(run_id: str, attempt: str | None = None) -> str:
    """The model analysis (Processing job) name, unique per attempt like the training job's."""
    return _sagemaker_name(run_id, f"a{attempt or secrets.token_hex(3)}")


def preparation_job_name(run_id: str, attempt: str | None = None) -> str:
    """The preparation (Processing job) name of a large upload, unique per attempt like the training job's."""
    return _sagemaker_name(run_id, f"p{attempt or secrets.token_hex(3)}")


def model_name(run_id: str) -> str:
    return _sagemaker_name(run_id, "model")


def endpoint_config_name(run_id: str) -> str:
    return _sagemaker_name(run_id, "config")


def endpoint_name(run_id: str) -> str:
    return _sagemaker_name(run_id, "endpoint")


def evaluation_transform_job_name(run_id: str) -> str:
    """The evaluation's Batch Transform job: one per run, so a retried start finds the job it created."""
    return _sagemaker_name(run_id, "evaluate")


def run_prefix(run_id: str) -> str:
    """Where everything a run writes lives in the data bucket."""
    return f"runs/{run_id}/"
