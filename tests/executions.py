"""Waiting on a state machine execution that moto's interpreter runs in its own thread."""

from __future__ import annotations

import time


def await_wait_state(sfn, execution_arn: str, *, seconds: float = 20.0) -> None:
    """Return once the execution's history shows it entered a Wait state (before stopping it, say).

    A fixed sleep is not enough: on a loaded machine the interpreter may not have run the states
    before the Wait yet.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        if any(event["type"] == "WaitStateEntered" for event in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_arn} never reached a Wait state")
