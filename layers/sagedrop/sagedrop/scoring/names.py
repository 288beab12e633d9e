"""Names of a scoring: its execution, its model and its transform job.

The scoring id names the execution: like a run id it is derived from bucket, key and object
version, so S3 delivering the same upload twice starts one execution and uploading the file again
scores it again. The SageMaker names carry the run's readable stem and hash plus the scoring's
hash, so two files scored against one run at once never share a model or a job, and a retried
step finds the resources its earlier attempt created.
"""

from __future__ import annotations

import hashlib
import re

from sagedrop.names import RUN_HASH_LENGTH, SAGEMAKER_NAME_LIMIT, SAGEMAKER_NAME_PATTERN, run_id_for

SCORING_HASH_LENGTH = 8
MODEL_ROLE = "scoring"
TRANSFORM_JOB_ROLE = "transform"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_HEX = re.compile(rf"^[0-9a-f]{{{RUN_HASH_LENGTH}}}$")


def scoring_id_for(bucket: str, key: str, version_id: str | None, etag: str | None = None) -> str:
    """The execution name of the scoring of one uploaded object version (a run id of its key)."""
    return run_id_for(bucket, key, version_id, etag)


def _digest(identifier: str, length: int) -> str:
    """The hash an id ends with, or a hash of the whole id when it has none (any text can name a run)."""
    tail = identifier.rpartition("-")[2]
    if _HEX.match(tail):
        return tail[:length]
    return hashlib.sha256(identifier.encode()).hexdigest()[:length]


def _name(run_id: str, scoring_id: str, role: str) -> str:
    suffix = f"{_digest(run_id, RUN_HASH_LENGTH)}-{_digest(scoring_id, SCORING_HASH_LENGTH)}-{role}"
    room = SAGEMAKER_NAME_LIMIT - len(suffix) - 1
    stem = _NOT_ALNUM.sub("-", run_id.rpartition("-")[0] or run_id).strip("-")[:room].strip("-") or "run"
    name = f"{stem}-{suffix}"
    assert SAGEMAKER_NAME_PATTERN.match(name), name
    return name


def scoring_model_name(run_id: str, scoring_id: str) -> str:
    return _name(run_id, scoring_id, MODEL_ROLE)


def transform_job_name(run_id: str, scoring_id: str) -> str:
    return _name(run_id, scoring_id, TRANSFORM_JOB_ROLE)
