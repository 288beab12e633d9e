"""Where scoring reads and writes in the data bucket, and what a dropped key means.

``score/<run-id>/<name>.csv``        the upload: only ever read
``runs/<run-id>/scoring/<name>/``    the staged input, the transform job's output and status.json
``scores/<run-id>/<name>.csv``       the result: the upload's rows with their predictions

``<name>`` is the key's path below the run id without ``.csv`` (it may hold ``/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sagedrop.names import run_prefix
from sagedrop.scoring.errors import InvalidScoringKeyError

SCORE_PREFIX = "score/"
SCORES_PREFIX = "scores/"
CSV_SUFFIX = ".csv"
STATUS_FILE = "status.json"


@dataclass(frozen=True)
class ScoringTarget:
    run_id: str
    name: str


def scoring_target(key: str) -> ScoringTarget:
    """The run id and name in ``score/<run-id>/<name>.csv``; InvalidScoringKeyError names what is wrong."""
    if not key.startswith(SCORE_PREFIX) or not key.endswith(CSV_SUFFIX):
        raise InvalidScoringKeyError(f"key {key!r} is not {SCORE_PREFIX}<run-id>/<name>{CSV_SUFFIX}")
    run_id, _, rest = key[len(SCORE_PREFIX) :].partition("/")
    name = rest[: -len(CSV_SUFFIX)]
    if not run_id or not rest or not name.strip("/") or "//" in rest:
        raise InvalidScoringKeyError(
            f"key {key!r} names no run: drop the file as {SCORE_PREFIX}<run-id>/<name>{CSV_SUFFIX}, "
            f"<run-id> as in runs/<run-id>/run.json"
        )
    return ScoringTarget(run_id=run_id, name=name)


def is_scoring_key(key: str) -> bool:
    return key.startswith(SCORE_PREFIX)


def scoring_prefix(target: ScoringTarget) -> str:
    return f"{run_prefix(target.run_id)}scoring/{target.name}/"


def staged_input_prefix(target: ScoringTarget) -> str:
    """What the transform job reads (S3Prefix): one object, the rows without the header."""
    return f"{scoring_prefix(target)}input/"


def staged_input_key(target: ScoringTarget) -> str:
    """The staged requests: JSON Lines (``sagedrop.scoring.staging``)."""
    return f"{staged_input_prefix(target)}{target.name.rsplit('/', 1)[-1]}.jsonl"


def transform_output_prefix(target: ScoringTarget) -> str:
    return f"{scoring_prefix(target)}output/"


def transform_output_key(target: ScoringTarget) -> str:
    """Batch Transform names its output after the input object, with ``.out`` appended."""
    return f"{transform_output_prefix(target)}{staged_input_key(target).rsplit('/', 1)[-1]}.out"


def status_key(target: ScoringTarget) -> str:
    return f"{scoring_prefix(target)}{STATUS_FILE}"


def scores_key(target: ScoringTarget) -> str:
    return f"{SCORES_PREFIX}{target.run_id}/{target.name}{CSV_SUFFIX}"
