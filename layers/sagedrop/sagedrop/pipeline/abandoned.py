"""The backstop: record a run whose execution ended without its failure path.

An EventBridge rule on the pipeline's "Step Functions Execution Status Change" events (FAILED,
TIMED_OUT, ABORTED) hands each to RecordAbandonedRunFunction (why an execution can end so:
:mod:`sagedrop.backstop`). Unless run.json already records the failure of that execution (the
failure path ran), the run's latest state is rebuilt from the execution's history and recorded
exactly as the failure path does (:func:`sagedrop.pipeline.finishing.record_failure`): running
training stopped, hosting deleted unless kept, run.json with the error, the failure notification.
"""

from __future__ import annotations

import json
from typing import Any

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
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
from sagedrop.pipeline.finishing import record_failure
from sagedrop.pipeline.run_record import run_key
from sagedrop.pipeline.state import FailureInput, RunState, Section


class AbandonedRunOutcome(Section):
    """What the backstop did with one event (the handler's response; EventBridge discards it)."""

    execution_arn: str
    status: str
    recorded: bool
    reason: str
    run_id: str | None = None
    error: dict[str, Any] | None = None
    deleted: list[str] = []
    problems: list[str] = []


def record_abandoned_run(
    event: ExecutionStatusChange,
    *,
    sagemaker: SageMakerGateway,
    bucket: DataBucket,
    notifier: Notifier,
    executions: Executions,
) -> AbandonedRunOutcome:
    """Record the failure of the execution in ``event`` unless its failure path already did."""
    arn = event.detail.execution_arn
    description = executions.describe(arn)
    # The event is delivered best effort and may be late: the execution may have been redriven.
    status = description["status"]
    if status not in ENDED_WITHOUT_SUCCESS:
        return AbandonedRunOutcome(
            execution_arn=arn, status=status, recorded=False, reason=f"the execution is {status}"
        )
    history = read_history(executions, arn)
    state = latest_run_state(execution_input(description), arn, history or [])
    if _failure_recorded(bucket, state.run_id, arn):
        return AbandonedRunOutcome(
            execution_arn=arn,
            status=status,
            recorded=False,
            run_id=state.run_id,
            reason="run.json already records this execution's failure",
        )
    failure = terminal_failure(status, description, history or [])
    handled = record_failure(
        state,
        failure,
        sagemaker=sagemaker,
        bucket=bucket,
        notifier=notifier,
        history=history,
        recorded_by=RECORDED_BY_BACKSTOP,
        note=backstop_note(status),
    )
    return AbandonedRunOutcome(
        execution_arn=arn,
        status=status,
        recorded=True,
        run_id=state.run_id,
        reason=f"the execution ended {status} without recording its failure",
        error=handled.error,
        deleted=handled.deleted,
        problems=handled.problems,
    )


def latest_run_state(first_input: dict, execution_arn: str, history: list[dict]) -> RunState:
    """The most complete run state the execution reached (:func:`sagedrop.backstop.latest_state`)."""
    state = latest_state(FailureInput, first_input, execution_arn, history)
    if state is None:
        raise InvalidEventError(f"execution {execution_arn}: no state document names a run (run_id, source, poll)")
    return state


def _failure_recorded(bucket: DataBucket, run_id: str, execution_arn: str) -> bool:
    text = bucket.read_bytes_if_exists(run_key(run_id))
    if text is None:
        return False
    try:
        record = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(record, dict)
        and record.get("status") == "FAILED"
        and record.get("execution_arn") in (None, execution_arn)
    )
