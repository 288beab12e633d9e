"""The backstop: record a run whose execution ended without its failure path.

Some terminal errors reach no Catch on States.ALL: States.DataLimitExceeded (a state's input or
output over 256 KiB), States.Runtime, an execution timeout, StopExecution; and a failure path that
fails itself ends the execution too. An EventBridge rule on the state machine's "Step Functions
Execution Status Change" events (FAILED, TIMED_OUT, ABORTED) hands each to RecordAbandonedRunFunction.
Unless run.json already records the failure of that execution (the failure path ran), the run's
latest state is rebuilt from the execution's history and recorded exactly as the failure path does
(:func:`sagedrop.pipeline.finishing.record_failure`): running training stopped, hosting deleted
unless kept, run.json with the error, the failure notification.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
from sagedrop.errors import InvalidEventError, SagedropError
from sagedrop.pipeline.finishing import record_failure
from sagedrop.pipeline.run_record import run_key
from sagedrop.pipeline.state import Failure, FailureInput, RunState, Section

LOG = logging.getLogger(__name__)

#: The statuses the rule forwards: an execution that ended without succeeding.
ENDED_WITHOUT_SUCCESS = ("FAILED", "TIMED_OUT", "ABORTED")
#: run.json's ``recorded_by`` when the backstop wrote it.
RECORDED_BY_BACKSTOP = "backstop"
#: The history event that ends an execution of each status, and where it keeps error and cause.
_ENDING_EVENTS = {
    "FAILED": ("ExecutionFailed", "executionFailedEventDetails"),
    "TIMED_OUT": ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    "ABORTED": ("ExecutionAborted", "executionAbortedEventDetails"),
}


class ExecutionDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    execution_arn: str = Field(alias="executionArn", min_length=1)
    state_machine_arn: str = Field(alias="stateMachineArn", min_length=1)
    status: str


class ExecutionStatusChange(BaseModel):
    """The EventBridge event Step Functions sends when an execution changes status."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionDetail


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


def parse_status_change(event: Any) -> ExecutionStatusChange:
    try:
        return ExecutionStatusChange.model_validate(event)
    except ValidationError as error:
        paths = ", ".join(".".join(str(part) for part in problem["loc"]) or "(event)" for problem in error.errors())
        raise InvalidEventError(f"not a Step Functions Execution Status Change event: check {paths}") from None


def record_abandoned_run(
    event: Any,
    *,
    sagemaker: SageMakerGateway,
    bucket: DataBucket,
    notifier: Notifier,
    executions: Executions,
) -> AbandonedRunOutcome:
    """Record the failure of the execution in ``event`` unless its failure path already did."""
    detail = parse_status_change(event).detail
    arn = detail.execution_arn
    description = executions.describe(arn)
    # The event is delivered best effort and may be late: the execution may have been redriven.
    status = description["status"]
    if status not in ENDED_WITHOUT_SUCCESS:
        return AbandonedRunOutcome(
            execution_arn=arn, status=status, recorded=False, reason=f"the execution is {status}"
        )
    history = _history(executions, arn)
    state = latest_run_state(_execution_input(description), arn, history or [])
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
        note=f"(The execution ended {status} before its failure path could record it; the backstop did.)",
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


def _history(executions: Executions, execution_arn: str) -> list[dict] | None:
    try:
        return executions.history(execution_arn)
    except Exception:  # noqa: BLE001 - the input alone still lets the run be recorded
        LOG.warning("could not read the execution history of %s", execution_arn, exc_info=True)
        return None


def _execution_input(description: dict) -> dict:
    try:
        document = json.loads(description.get("input") or "{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _documents(history: list[dict]) -> list[Any]:
    """Every state document in the history, latest first (inputs and outputs of states)."""
    found = []
    for event in reversed(history):
        details = event.get("stateExitedEventDetails") or {}
        text = details.get("output")
        if text is None:
            text = (event.get("stateEnteredEventDetails") or {}).get("input")
        if text is None:
            continue
        try:
            found.append(json.loads(text))
        except ValueError:  # truncated: the oversized document that ended the execution
            continue
    return found


def latest_run_state(execution_input: dict, execution_arn: str, history: list[dict]) -> RunState:
    """The most complete run state the execution reached: its latest state document that reads.

    A document that does not read as a run state (cut off at the size limit, a foreign shape) is
    passed over for the one before it; the execution input, which the starter wrote, is the last
    resort. Keys the run state does not name (a Catch's ``cleanup_error``) are left out.
    """
    for document in [*_documents(history), {**execution_input, "execution_arn": execution_arn}]:
        if not isinstance(document, dict):
            continue
        known = {key: value for key, value in document.items() if key in RunState.model_fields}
        known.setdefault("execution_arn", execution_arn)
        try:
            return FailureInput.model_validate(known)
        except (ValidationError, ValueError, SagedropError):  # the config validator raises InvalidConfigError
            continue
    raise InvalidEventError(f"execution {execution_arn}: no state document names a run (run_id, source, poll)")


def terminal_failure(status: str, description: dict, history: list[dict]) -> Failure:
    """The error that ended the execution: DescribeExecution's, else the ending history event's.

    DescribeExecution leaves error and cause out for a timed-out execution (and for an aborted one
    stopped without them); the history's ending event may still have them. Failing both, the error
    is the name of that event, the cause says what happened.
    """
    event_type, details_key = _ENDING_EVENTS[status]
    error, cause = description.get("error"), description.get("cause")
    if not error:
        for event in reversed(history):
            if event.get("type") == event_type:
                details = event.get(details_key) or {}
                error, cause = details.get("error"), cause or details.get("cause")
                break
    return Failure(Error=error or event_type, Cause=cause or f"the execution ended {status}")


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
