"""Ctrl-C during ``sagedrop local run`` or ``local score``: stop the execution and record it, as the cloud would.

In AWS, StopExecution ends an execution ABORTED and Step Functions sends a status change event, which
the template's rules route by state machine: ``<stack>-run-ended`` to RecordAbandonedRunFunction (it
stops the run's training job, deletes its endpoint unless kept, writes run.json with the error and
notifies), ``<stack>-scoring-ended`` to RecordAbandonedScoringFunction (it stops the transform job,
deletes the scoring model, writes status.json and notifies). moto sends no such event, so the
command puts it on the local event bus itself, where the same rules hand it to the same functions.

moto's interpreter notices a stop between states, and sleeps out a Retry's interval with
``time.sleep``: a run waiting for training capacity would stay RUNNING for minutes after the stop.
:func:`wakeable_retry_waits` gives it a sleep that the stop cuts short.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sagedrop_local.cloud_client import REGION, CloudClient
from sagedrop_local.stack import ACCOUNT_ID

INTERRUPTED_ERROR = "Interrupted"
INTERRUPTED_CAUSE = "sagedrop local {command} was interrupted (Ctrl-C)"


def status_change_event(description: dict[str, Any]) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event of an execution that has ended."""
    arn = description["executionArn"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": description["stateMachineArn"],
            "name": description.get("name"),
            "status": description["status"],
            "error": description.get("error"),
            "cause": description.get("cause"),
        },
    }


class _WakeableClock:
    """The ``time`` moto's retrier sees: its ``sleep`` ends early once ``wake`` is set."""

    _STEP_SECONDS = 0.25

    def __init__(self, wake: threading.Event, clock: Any) -> None:
        self._wake, self._clock = wake, clock

    def sleep(self, seconds: float) -> None:
        remaining = seconds
        while remaining > 0 and not self._wake.is_set():
            step = min(remaining, self._STEP_SECONDS)
            self._clock.sleep(step)  # the clock it replaced: time, or a test's compressed clock
            remaining -= step

    def __getattr__(self, name: str) -> Any:
        return getattr(self._clock, name)


@contextlib.contextmanager
def wakeable_retry_waits(enabled: bool = True) -> Iterator[threading.Event]:
    """While inside, setting the event yielded cuts every Retry interval of this process's moto short."""
    wake = threading.Event()
    if not enabled:
        yield wake
        return
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    previous = retrier_decl.time
    retrier_decl.time = _WakeableClock(wake, previous)
    try:
        yield wake
    finally:
        retrier_decl.time = previous


def stop_execution(
    cloud: CloudClient,
    execution_arn: str,
    wake: threading.Event | None = None,
    settle_seconds: float = 10.0,
    command: str = "run",
) -> tuple[dict, dict | None]:
    """Stop the execution (unless it ended meanwhile) and have its state machine's backstop record it.

    ``wake``: the event of :func:`wakeable_retry_waits`, set once the stop is asked for. Returns the
    execution's final description and the backstop's answer (None when the execution ended by
    itself, whose own success or failure path recorded it, or was still running after
    ``settle_seconds``, as a ``local up`` in a Retry's interval can be, or when no rule took it).
    """
    with contextlib.suppress(cloud.sfn.exceptions.ClientError):  # it ended between Ctrl-C and now
        cloud.sfn.stop_execution(
            executionArn=execution_arn, error=INTERRUPTED_ERROR, cause=INTERRUPTED_CAUSE.format(command=command)
        )
    if wake is not None:
        wake.set()
    deadline = time.monotonic() + settle_seconds
    description = cloud.sfn.describe_execution(executionArn=execution_arn)
    while description["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
        description = cloud.sfn.describe_execution(executionArn=execution_arn)
    if description["status"] != "ABORTED":
        return description, None
    answers = [response for _, response in cloud.publish(status_change_event(description))]
    return description, answers[0] if answers else None
