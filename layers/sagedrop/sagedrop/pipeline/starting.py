"""Start one execution per uploaded object version: a run for ``incoming/``, a scoring for ``score/``.

Both are named deterministically from bucket, key and object version, so a duplicate S3 delivery
finds its execution name taken; keys under neither prefix (or not ending in ``.csv``) are ignored
with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from sagedrop.aws.stepfunctions import Executions
from sagedrop.errors import InvalidEventError
from sagedrop.names import run_id_for
from sagedrop.scoring.keys import SCORE_PREFIX
from sagedrop.scoring.names import scoring_id_for
from sagedrop.settings import StarterSettings

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int | None

    def as_dict(self) -> dict:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "etag": self.etag,
            "size": self.size,
        }


def parse_object_created(event: dict) -> UploadedObject:
    """The object an EventBridge "Object Created" event from S3 is about."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise InvalidEventError(
            f"expected an S3 'Object Created' event, got source={event.get('source')!r} "
            f"detail-type={event.get('detail-type')!r}"
        )
    notification = S3EventBridgeNotificationEvent(event)
    try:
        detail = notification.detail
        raw_object = detail["object"]
        return UploadedObject(
            bucket=detail.bucket.name,
            # S3 URL-encodes keys in notifications ("red flower.csv" arrives as "red+flower.csv").
            # Decode the raw field exactly once: Powertools' ``object.key`` already decodes, and a
            # second pass would turn a literal "+" (sent as "%2B") into a space.
            key=unquote_plus(raw_object["key"]),
            # Absent when the bucket is not versioned; run_id_for then falls back to the ETag.
            version_id=raw_object.get("version-id"),
            etag=detail.object.etag,
            size=detail.object.size,
        )
    except (KeyError, TypeError) as error:
        raise InvalidEventError(f"S3 event is missing {error}") from None


def ignore_reason(obj: UploadedObject, incoming_prefix: str) -> str | None:
    """Why this object does not start a run, or None when it does."""
    if not obj.key.startswith(incoming_prefix):
        return f"key {obj.key!r} is outside {incoming_prefix!r}"
    if not obj.key.lower().endswith(".csv"):
        return f"key {obj.key!r} does not end in .csv"
    return None


@dataclass(frozen=True)
class StartOutcome:
    run_id: str | None
    execution_arn: str | None
    started: bool
    reason: str
    #: Set for a scoring (its execution name); run_id is then None.
    scoring_id: str | None = None

    def as_dict(self) -> dict:
        outcome = {
            "run_id": self.run_id,
            "execution_arn": self.execution_arn,
            "started": self.started,
            "reason": self.reason,
        }
        if self.scoring_id is not None:
            outcome["scoring_id"] = self.scoring_id
        return outcome


def start_run(obj: UploadedObject, executions: Executions, settings: StarterSettings) -> StartOutcome:
    """Start the pipeline for ``obj`` unless it is not ours or already started."""
    reason = ignore_reason(obj, settings.incoming_prefix)
    if reason:
        LOG.info("ignored upload: %s", reason)
        return StartOutcome(None, None, False, f"ignored: {reason}")
    run_id = run_id_for(obj.bucket, obj.key, obj.version_id, obj.etag)
    document = {
        "run_id": run_id,
        # Unique per delivery: StartExecution with the same name AND the same input as a running
        # execution succeeds and returns that execution, so a duplicate would look newly started.
        # A different input makes it answer ExecutionAlreadyExists instead. ("Start the run" drops it.)
        "requested_at": datetime.now(UTC).isoformat(),
        "source": obj.as_dict(),
        "poll": _poll(settings),
        # The state machine refuses a larger upload from its event size, before anything reads it,
        # and prepares one above lambda_prepare_max_bytes in a Processing job instead of the Lambda,
        # and evaluates a raw test split over evaluation_transform_bytes with Batch Transform.
        "limits": {
            "max_upload_bytes": settings.max_upload_bytes,
            "lambda_prepare_max_bytes": settings.lambda_prepare_max_bytes,
            "evaluation_transform_bytes": settings.evaluation_transform_bytes,
        },
    }
    execution_arn, started = executions.start(run_id, document)
    if not started:
        LOG.info("duplicate delivery: run %s already started", run_id)
        return StartOutcome(run_id, execution_arn, False, "duplicate delivery: already started")
    LOG.info("started run %s", run_id)
    return StartOutcome(run_id, execution_arn, True, "started")


def _poll(settings: StarterSettings) -> dict:
    return {"interval_seconds": settings.poll_interval_seconds, "max_polls": settings.max_polls}


def start_scoring(obj: UploadedObject, executions: Executions, settings: StarterSettings) -> StartOutcome:
    """Start the scoring of a ``score/<run-id>/<name>.csv`` upload, named by its scoring id.

    Whether the run exists is the scoring's first state's question, not the starter's: an unknown
    run id then ends in a failed execution with its named error and a notification, never in silence.
    """
    scoring_id = scoring_id_for(obj.bucket, obj.key, obj.version_id, obj.etag)
    document = {
        "scoring_id": scoring_id,
        "requested_at": datetime.now(UTC).isoformat(),  # unique per delivery, as for a run (see start_run)
        "source": obj.as_dict(),
        "poll": _poll(settings),
    }
    execution_arn, started = executions.start(scoring_id, document)
    if not started:
        LOG.info("duplicate delivery: scoring %s already started", scoring_id)
        return StartOutcome(None, execution_arn, False, "duplicate delivery: already started", scoring_id)
    LOG.info("started scoring %s", scoring_id)
    return StartOutcome(None, execution_arn, True, "started", scoring_id)


def start_for_upload(
    obj: UploadedObject,
    *,
    pipeline: Executions,
    scoring: Callable[[], Executions],
    settings: StarterSettings,
) -> StartOutcome:
    """Route an upload by its prefix: ``score/*.csv`` starts a scoring, anything else goes to start_run.

    ``scoring`` gives the scoring state machine's executions when one is needed (it raises when the
    deployment has none, so such an upload fails the starter rather than being ignored).
    """
    if obj.key.startswith(SCORE_PREFIX) and obj.key.lower().endswith(".csv"):
        return start_scoring(obj, scoring(), settings)
    return start_run(obj, pipeline, settings)
