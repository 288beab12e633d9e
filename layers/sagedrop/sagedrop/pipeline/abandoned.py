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
    RECORDED_BY_BACKSTOP,
    BackstopOutcome,
    ExecutionStatusChange,
    backstop_note,
    latest_state,
    read_ended_execution,
)
from sagedrop.pipeline.finishing import record_failure
from sagedrop.pipeline.run_record import run_key
from sagedrop.pipeline.state import FailureInput, RunState

#: What the InvalidEventError of an execution none of whose documents reads as a run says it lacks.
_A_RUN = "a run (run_id, source, poll)"


class AbandonedRunOutcome(BackstopOutcome):
    """What the backstop did with one run's event (the handler's response; EventBridge discards it)."""

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
    ended = read_ended_execution(event, executions)
    if not ended.ended_without_success:  # redriven since
        return AbandonedRunOutcome(**ended.left_alone())
    state = ended.latest_state(FailureInput, _A_RUN)
    if _failure_recorded(bucket, state.run_id, ended.arn):
        reason = "run.json already records this execution's failure"
        return AbandonedRunOutcome(**ended.left_alone(reason), run_id=state.run_id)
    handled = record_failure(
        state,
        ended.failure(),
        sagemaker=sagemaker,
        bucket=bucket,
        notifier=notifier,
        history=ended.history,
        recorded_by=RECORDED_BY_BACKSTOP,
        note=backstop_note(ended.status),
    )
    return AbandonedRunOutcome(
        **ended.recorded(),
        run_id=state.run_id,
        error=handled.error,
        deleted=handled.deleted,
        problems=handled.problems,
    )


def latest_run_state(first_input: dict, execution_arn: str, history: list[dict]) -> RunState:
    """The most complete run state the execution reached (:func:`sagedrop.backstop.latest_state`)."""
    return latest_state(FailureInput, first_input, execution_arn, history, _A_RUN)


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
