"""What the two backstops share: the event of an execution that ended, and what its history tells.

Some terminal errors reach no Catch on States.ALL: States.DataLimitExceeded (a state's input or
output over 256 KiB), States.Runtime, an execution timeout, StopExecution; and a failure path that
fails itself ends the execution too. Step Functions sends every execution's end to EventBridge as a
"Step Functions Execution Status Change" event; template.yaml has one rule per state machine
(``<stack>-run-ended``, ``<stack>-scoring-ended``) handing the ends without success to that state
machine's backstop (:mod:`sagedrop.pipeline.abandoned`, :mod:`sagedrop.scoring.abandoned`), which
rebuilds the latest state from the history and records it as the failure path would.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sagedrop.aws.stepfunctions import Executions
from sagedrop.errors import InvalidEventError, SagedropError
from sagedrop.pipeline.state import Failure, Section

LOG = logging.getLogger(__name__)

#: The statuses the rules forward: an execution that ended without succeeding.
ENDED_WITHOUT_SUCCESS = ("FAILED", "TIMED_OUT", "ABORTED")
#: ``recorded_by`` of run.json and of a scoring's status.json: who wrote the failure.
RECORDED_BY_STATE_MACHINE = "state machine"  #: the state machine's own failure path ("Record the failure")
RECORDED_BY_BACKSTOP = "backstop"
#: The history event that ends an execution of each status, and where it keeps error and cause.
_ENDING_EVENTS = {
    "FAILED": ("ExecutionFailed", "executionFailedEventDetails"),
    "TIMED_OUT": ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    "ABORTED": ("ExecutionAborted", "executionAbortedEventDetails"),
}

StateT = TypeVar("StateT", bound=BaseModel)


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


class BackstopOutcome(Section):
    """What a backstop did with one event (the handler's response; EventBridge discards it)."""

    execution_arn: str
    status: str
    recorded: bool
    reason: str


@dataclass(frozen=True)
class EndedExecution:
    """The execution of a status-change event, as DescribeExecution and its history tell it now."""

    arn: str
    status: str  #: DescribeExecution's, not the event's: the event is delivered best effort and may be late
    description: dict
    history: list[dict] | None  #: None when not read (the execution is not over) or unreadable

    @property
    def ended_without_success(self) -> bool:
        return self.status in ENDED_WITHOUT_SUCCESS

    def latest_state(self, model: type[StateT], names: str) -> StateT:
        """The most complete state it reached (:func:`latest_state`), from its history and its input."""
        return latest_state(model, execution_input(self.description), self.arn, self.history or [], names)

    def failure(self) -> Failure:
        return terminal_failure(self.status, self.description, self.history or [])

    def left_alone(self, reason: str | None = None) -> dict[str, Any]:
        """A BackstopOutcome's fields when nothing is recorded: by default, the execution is not over."""
        return {
            "execution_arn": self.arn,
            "status": self.status,
            "recorded": False,
            "reason": reason or f"the execution is {self.status}",
        }

    def recorded(self) -> dict[str, Any]:
        """A BackstopOutcome's fields when the backstop recorded the failure."""
        reason = f"the execution ended {self.status} without recording its failure"
        return {"execution_arn": self.arn, "status": self.status, "recorded": True, "reason": reason}


def read_ended_execution(event: ExecutionStatusChange, executions: Executions) -> EndedExecution:
    """Describe the event's execution; read its history when it ended without success (the redriven ran on)."""
    arn = event.detail.execution_arn
    description = executions.describe(arn)
    status = description["status"]
    history = read_history(executions, arn) if status in ENDED_WITHOUT_SUCCESS else None
    return EndedExecution(arn, status, description, history)


def parse_status_change(event: Any) -> ExecutionStatusChange:
    try:
        return ExecutionStatusChange.model_validate(event)
    except ValidationError as error:
        paths = ", ".join(".".join(str(part) for part in problem["loc"]) or "(event)" for problem in error.errors())
        raise InvalidEventError(f"not a Step Functions Execution Status Change event: check {paths}") from None


def backstop_note(status: str) -> str:
    """The line the failure notification carries when the backstop, not the failure path, sent it."""
    return f"(The execution ended {status} before its failure path could record it; the backstop did.)"


def read_history(executions: Executions, execution_arn: str) -> list[dict] | None:
    try:
        return executions.history(execution_arn)
    except Exception:  # noqa: BLE001 - the input alone still lets the failure be recorded
        LOG.warning("could not read the execution history of %s", execution_arn, exc_info=True)
        return None


def execution_input(description: dict) -> dict:
    """DescribeExecution's ``input``, the document the starter wrote; {} when it does not read."""
    try:
        document = json.loads(description.get("input") or "{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def state_documents(history: list[dict]) -> list[Any]:
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


def latest_state(model: type[StateT], first_input: dict, execution_arn: str, history: list[dict], names: str) -> StateT:
    """The most complete state the execution reached, as ``model``: its latest state document that reads.

    A document that does not read as ``model`` (cut off at the size limit, a foreign shape) is
    passed over for the one before it; the execution input, which the starter wrote, is the last
    resort; when nothing reads, InvalidEventError says no document names ``names`` ("a run (run_id,
    source, poll)"). Keys ``model`` does not name (a Catch's ``cleanup_error``) are left out, and
    ``execution_arn`` is the execution's where a document has none.
    """
    for document in [*state_documents(history), {**first_input, "execution_arn": execution_arn}]:
        if not isinstance(document, dict):
            continue
        known = {key: value for key, value in document.items() if key in model.model_fields}
        known.setdefault("execution_arn", execution_arn)
        try:
            return model.model_validate(known)
        except (ValidationError, ValueError, SagedropError):  # the config validator raises InvalidConfigError
            continue
    raise InvalidEventError(f"execution {execution_arn}: no state document names {names}")


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
