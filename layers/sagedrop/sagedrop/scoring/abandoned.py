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
    ENDED_WITHOUT_SUCCESS,
    RECORDED_BY_BACKSTOP,
    ExecutionStatusChange,
    backstop_note,
    execution_input,
    latest_state,
    read_history,
    terminal_failure,
)
from sagedrop.errors import InvalidEventError
from sagedrop.scoring.finishing import handle_scoring_failure, target_of
from sagedrop.scoring.keys import status_key
from sagedrop.scoring.state import ScoringFailureInput, Section


class AbandonedScoringOutcome(Section):
    """What the backstop did with one event (the handler's response; EventBridge discards it)."""

    execution_arn: str
    status: str
    recorded: bool
    reason: str
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
    arn = event.detail.execution_arn
    description = executions.describe(arn)
    # The event is delivered best effort and may be late: the execution may have been redriven.
    status = description["status"]
    if status not in ENDED_WITHOUT_SUCCESS:
        return AbandonedScoringOutcome(
            execution_arn=arn, status=status, recorded=False, reason=f"the execution is {status}"
        )
    history = read_history(executions, arn)
    state = latest_scoring_state(execution_input(description), arn, history or [])
    target = target_of(state)
    key = status_key(target) if target else None
    kept = _why_status_stays(bucket, key, arn, description.get("startDate")) if key else None
    if kept:
        return AbandonedScoringOutcome(
            execution_arn=arn, status=status, recorded=False, reason=kept, scoring_id=state.scoring_id, status_key=key
        )
    failure = terminal_failure(status, description, history or [])
    handled = handle_scoring_failure(
        state.model_copy(update={"failure": failure}),
        sagemaker=sagemaker,
        bucket=bucket,
        notifier=notifier,
        recorded_by=RECORDED_BY_BACKSTOP,
        note=backstop_note(status),
    )
    return AbandonedScoringOutcome(
        execution_arn=arn,
        status=status,
        recorded=True,
        reason=f"the execution ended {status} without recording its failure",
        scoring_id=state.scoring_id,
        status_key=handled.status_key,
        error=handled.error,
        stopped=handled.stopped,
        deleted=handled.deleted,
        problems=handled.problems,
    )


def latest_scoring_state(first_input: dict, execution_arn: str, history: list[dict]) -> ScoringFailureInput:
    """The most complete scoring state the execution reached (:func:`sagedrop.backstop.latest_state`)."""
    state = latest_state(ScoringFailureInput, first_input, execution_arn, history)
    if state is None:
        raise InvalidEventError(
            f"execution {execution_arn}: no state document names a scoring (scoring_id, source, poll)"
        )
    return state


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
