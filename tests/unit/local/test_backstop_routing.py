"""Which backstop an execution's end reaches: the template's rules, matched as EventBridge (and the local cloud) match.

Each state machine has its own "Execution Status Change" rule: a pipeline execution's unsuccessful
end goes to RecordAbandonedRunFunction only, a scoring execution's to RecordAbandonedScoringFunction
only, and a success to neither. The patterns are the template's, resolved as the local cloud creates
its rules, and matched with moto's EventPattern, which ``CloudClient.publish`` delivers by.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from moto.events.models import EventPattern

from sagedrop_local.cloud import function_events, name_state_machines
from sagedrop_local.interrupt import stop_execution
from sagedrop_local.stack import LocalStack
from tests.infra.conftest import BACKSTOPS as BACKSTOP_WIRING

ROOT = Path(__file__).resolve().parents[3]
#: state machine -> the function its status-change rule invokes
BACKSTOPS = {machine: function for machine, (function, _, _) in BACKSTOP_WIRING.items()}


@pytest.fixture(scope="module")
def stack() -> LocalStack:
    stack = LocalStack.from_template(ROOT, stack_name="demo")
    name_state_machines(stack)
    return stack


@pytest.fixture(scope="module")
def rules(stack) -> list[tuple[str, EventPattern]]:
    return [
        (logical_id, EventPattern.load(json.dumps(rule["Pattern"])))
        for logical_id, rule in function_events(stack, "EventBridgeRule")
    ]


def status_change(stack: LocalStack, machine: str, status: str) -> dict:
    """The event Step Functions sends (events/execution_failed.json, re-addressed to ``machine``)."""
    event = json.loads((ROOT / "events" / "execution_failed.json").read_text())
    machine_arn = stack.resource(machine)
    execution_arn = machine_arn.replace(":stateMachine:", ":execution:") + ":e-1"
    event["resources"] = [execution_arn]
    event["detail"].update(executionArn=execution_arn, stateMachineArn=machine_arn, status=status)
    return event


def reached(rules: list[tuple[str, EventPattern]], event: dict) -> list[str]:
    return [logical_id for logical_id, pattern in rules if pattern.matches_event(event)]


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
@pytest.mark.parametrize("machine", sorted(BACKSTOPS))
def test_an_unsuccessful_end_reaches_its_own_state_machines_backstop_only(stack, rules, machine, status):
    assert reached(rules, status_change(stack, machine, status)) == [BACKSTOPS[machine]]


@pytest.mark.parametrize("status", ["SUCCEEDED", "RUNNING", "PENDING_REDRIVE"])
@pytest.mark.parametrize("machine", sorted(BACKSTOPS))
def test_a_success_or_a_start_reaches_no_backstop(stack, rules, machine, status):
    assert reached(rules, status_change(stack, machine, status)) == []


def test_the_two_state_machines_have_different_arns(stack):
    # what the routing rests on (the local stack once gave every state machine the pipeline's name)
    assert stack.resource("PipelineStateMachine") != stack.resource("ScoringStateMachine")


# --- Ctrl-C: the stopped execution's end goes on the bus, not to a fixed function -------------------
class FakeSfn:
    exceptions = SimpleNamespace(ClientError=RuntimeError)

    def __init__(self, machine_arn: str) -> None:
        self.machine_arn, self.stopped = machine_arn, []

    def stop_execution(self, **request) -> None:
        self.stopped.append(request)

    def describe_execution(self, executionArn: str) -> dict:  # noqa: N803 - boto3's name
        return {
            "executionArn": executionArn,
            "stateMachineArn": self.machine_arn,
            "name": "e-1",
            "status": "ABORTED" if self.stopped else "RUNNING",
        }


class FakeCloud:
    """What stop_execution uses of a CloudClient: Step Functions, and the event bus with the template's rules."""

    def __init__(self, machine_arn: str, rules: list[tuple[str, EventPattern]]) -> None:
        self.sfn, self.rules, self.published = FakeSfn(machine_arn), rules, []

    def publish(self, event: dict) -> list[tuple[str, dict]]:
        self.published.append(event)
        return [(logical_id, {"function": logical_id, "recorded": True}) for logical_id in reached(self.rules, event)]


@pytest.mark.parametrize(("machine", "command"), [("PipelineStateMachine", "run"), ("ScoringStateMachine", "score")])
def test_ctrl_c_stops_the_execution_and_its_end_reaches_its_state_machines_backstop(stack, rules, machine, command):
    machine_arn = stack.resource(machine)
    cloud = FakeCloud(machine_arn, rules)
    execution_arn = machine_arn.replace(":stateMachine:", ":execution:") + ":e-1"
    wake = threading.Event()

    final, answer = stop_execution(cloud, execution_arn, wake, command=command)

    [stop] = cloud.sfn.stopped
    assert stop["executionArn"] == execution_arn and f"sagedrop local {command} was interrupted" in stop["cause"]
    assert wake.is_set() and final["status"] == "ABORTED"
    [event] = cloud.published
    assert (event["detail"]["stateMachineArn"], event["detail"]["status"]) == (machine_arn, "ABORTED")
    assert answer == {"function": BACKSTOPS[machine], "recorded": True}
