"""The scoring's backstop: record a scoring whose execution ended without its failure path.

The same gaps as a run's (:mod:`sagedrop.backstop`): States.Runtime and States.DataLimitExceeded
reach no Catch, an execution timeout or StopExecution ends the execution at once, and "Record the
failure" can die itself. The rule ``<stack>-scoring-ended`` hands each FAILED, TIMED_OUT or ABORTED
end of ScoringStateMachine to RecordAbandonedScoringFunction. The scoring's latest state is rebuilt
from the history and handed, with the execution's error, to the failure path's own function
(:func:`sagedrop.scoring.finishing.handle_scoring_failure`): the transform job stopped, the scoring
model deleted, status.json FAILED (``recorded_by: "backstop"``), the failure notification.

status.json is left as it is when it already holds this execution's end (its Finish or failure path
wrote it: SUCCEEDED or FAILED), and when it holds the end of another scoring of the same file name
that finished after this execution started (a later drop: a late or replayed event must not
replace its record with an older failure).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.stepfunctions import Executions
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.backstop import (
    RECORDED_BY_BACKSTOP,
    BackstopOutcome,
    ExecutionStatusChange,
    backstop_note,
    read_ended_execution,
)
from sagedrop.scoring.finishing import handle_scoring_failure, target_of
from sagedrop.scoring.keys import status_key
from sagedrop.scoring.state import ScoringFailureInput

#: What the InvalidEventError of an execution none of whose documents reads as a scoring says it lacks.
_A_SCORING = "a scoring (scoring_id, source, poll)"


class AbandonedScoringOutcome(BackstopOutcome):
    """What the backstop did with one scoring's event (the handler's response; EventBridge discards it)."""

    scoring_id: str | None = None
    status_key: str | None = None
    error: dict[str, Any] | None = None
    stopped: list[str] = []
    deleted: list[str] = []
    problems: list[str] = []


def record_abandoned_scoring(
    event: ExecutionStatusChange,
    *,
    sagemaker: BatchTransformGateway,
    bucket: DataBucket,
    notifier: Notifier,
    executions: Executions,
) -> AbandonedScoringOutcome:
    """Record the failure of the scoring execution in ``event`` unless status.json already holds its end."""
    ended = read_ended_execution(event, executions)
    if not ended.ended_without_success:  # redriven since
        return AbandonedScoringOutcome(**ended.left_alone())
    state = ended.latest_state(ScoringFailureInput, _A_SCORING)
    target = target_of(state)
    key = status_key(target) if target else None
    kept = _why_status_stays(bucket, key, ended.arn, ended.description.get("startDate")) if key else None
    if kept:
        return AbandonedScoringOutcome(**ended.left_alone(kept), scoring_id=state.scoring_id, status_key=key)
    handled = handle_scoring_failure(
        state.model_copy(update={"failure": ended.failure()}),
        sagemaker=sagemaker,
        bucket=bucket,
        notifier=notifier,
        recorded_by=RECORDED_BY_BACKSTOP,
        note=backstop_note(ended.status),
    )
    return AbandonedScoringOutcome(
        **ended.recorded(),
        scoring_id=state.scoring_id,
        status_key=handled.status_key,
        error=handled.error,
        stopped=handled.stopped,
        deleted=handled.deleted,
        problems=handled.problems,
    )


def _why_status_stays(bucket: DataBucket, key: str, execution_arn: str, started: datetime | None) -> str | None:
    """Why status.json must be left as it is, or None when the backstop is to write it."""
    text = bucket.read_bytes_if_exists(key)
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    if document.get("execution_arn") == execution_arn:
        return f"status.json already records this execution's end ({document.get('status')})"
    if _finished_after(document.get("finished_at"), started):
        return (
            f"status.json records a later scoring of the file ({document.get('execution_arn')}, "
            f"{document.get('status')}): left as it is"
        )
    return None


def _finished_after(finished_at: Any, started: datetime | None) -> bool:
    if not isinstance(finished_at, str) or started is None:
        return False
    try:
        return datetime.fromisoformat(finished_at) >= started
    except (ValueError, TypeError):  # not a time, or one without a zone
        return False
