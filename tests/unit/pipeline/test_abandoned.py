"""The backstop: an execution that ended without its failure path still gets run.json and a notification.

Executions run on moto's Step Functions interpreter (real histories: a Fail state whose error
starts with "States." ends its execution with States.Runtime, which no Catch sees, exactly the kind
of error the backstop exists for); S3, SNS and SageMaker hosting are moto.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.stepfunctions import Executions
from sagedrop.backstop import parse_status_change, terminal_failure
from sagedrop.errors import InvalidEventError
from sagedrop.pipeline.abandoned import latest_run_state, record_abandoned_run
from sagedrop.pipeline.finishing import handle_failure
from sagedrop.pipeline.state import FailureInput, parse_state
from tests.executions import await_wait_state

from .conftest import ACCOUNT, BUCKET, REGION, RUN_ID, load_event, make_config, make_dataset
from .test_finishing import NAMES, FakeSageMaker, World

RUN_INPUT = {
    "run_id": RUN_ID,
    "source": {"bucket": BUCKET, "key": "incoming/bank/bank-full.csv", "version_id": "v1"},
    "poll": {"interval_seconds": 1, "max_polls": 5},
}
START = {  # the ASL's first state, as it is
    "Type": "Pass",
    "Parameters": {
        "run_id.$": "$.run_id",
        "source.$": "$.source",
        "poll.$": "$.poll",
        "execution_arn.$": "$$.Execution.Id",
    },
}


def deployed(keep_endpoint: bool = False) -> dict:
    """What the state holds once the endpoint is up: prepared, training, endpoint."""
    return {
        "prepared": {"config": make_config(keep_endpoint=keep_endpoint), "dataset": make_dataset()},
        "training": {"job_name": "job-1", "status": "Completed", "polls": 2, "model_artifact": "s3://b/m.tar.gz"},
        "endpoint": {**NAMES, "status": "InService", "polls": 1},
    }


class Machine:
    """A state machine on moto: the ASL's start, then ``states``; executions run for real."""

    def __init__(self, states: dict, first: str) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = {"StartAt": "Start the run", "States": {"Start the run": {**START, "Next": first}, **states}}
        self.arn = self.sfn.create_state_machine(
            name="sagedrop-test-pipeline",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]

    def run(self, stop_waiting: bool = False) -> str:
        arn = self.sfn.start_execution(stateMachineArn=self.arn, name=RUN_ID, input=json.dumps(RUN_INPUT))[
            "executionArn"
        ]
        if stop_waiting:
            await_wait_state(self.sfn, arn)  # StopExecution once it waits
            self.sfn.stop_execution(executionArn=arn)
        for _ in range(100):
            if self.sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                return arn
            time.sleep(0.05)
        raise AssertionError("the execution did not end")

    def event(self, execution_arn: str) -> dict:
        """The status-change event EventBridge delivers (events/execution_failed.json, re-addressed)."""
        event = load_event("execution_failed.json")
        description = self.sfn.describe_execution(executionArn=execution_arn)
        event["resources"] = [execution_arn]
        event["detail"].update(
            executionArn=execution_arn,
            stateMachineArn=self.arn,
            status=description["status"],
            input=description["input"],
            error=description.get("error"),
            cause=description.get("cause"),
        )
        return event


def breaks_at_runtime(sections: dict) -> dict:
    # A Fail state may not name a "States." error: moto (and Step Functions) end the execution
    # with States.Runtime instead, an error no Catch on States.ALL receives.
    return {
        "Deployed": {"Type": "Pass", "Result": sections, "ResultPath": "$.deployed", "Next": "Merge"},
        "Merge": {
            "Type": "Pass",
            "Parameters": {
                "run_id.$": "$.run_id",
                "source.$": "$.source",
                "poll.$": "$.poll",
                "execution_arn.$": "$.execution_arn",
                **{f"{name}.$": f"$.deployed.{name}" for name in sections},
            },
            "Next": "Break",
        },
        "Break": {"Type": "Fail", "Error": "States.Broken", "Cause": "never reaches a Catch"},
    }


@pytest.fixture
def world():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield World()


def backstop(world: World, event: dict, sagemaker=None):
    return record_abandoned_run(
        parse_status_change(event),
        sagemaker=sagemaker or world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=Executions(boto3.client("stepfunctions", region_name=REGION)),
    )


def test_a_run_ended_by_an_uncatchable_error_is_recorded_and_its_endpoint_deleted(world):
    # Given an execution that deployed an endpoint and then ended with States.Runtime
    world.host()
    machine = Machine(breaks_at_runtime(deployed()), first="Deployed")
    execution_arn = machine.run()

    # When its status-change event reaches the backstop
    outcome = backstop(world, machine.event(execution_arn)).as_dict()

    # Then the endpoint, its config and model are gone, run.json has the error, a notification went out
    assert world.hosting() == set()
    assert outcome["recorded"] is True and outcome["status"] == "FAILED" and outcome["run_id"] == RUN_ID
    assert outcome["error"]["error"] == "States.Runtime"
    record = world.run_json()
    assert record["status"] == "FAILED" and record["recorded_by"] == "backstop"
    assert record["error"]["error"] == "States.Runtime"
    assert record["execution_arn"] == execution_arn
    assert record["resources"]["training_job"] == "job-1"  # the state was rebuilt from the history
    assert set(record["resources"]["deleted"]) == set(NAMES.values())
    assert record["steps"] and record["steps"][0]["state"] == "Start the run"
    (message,) = world.notifications()
    assert "failed" in message["Subject"] and "States.Runtime" in message["Message"]
    assert "backstop" in message["Message"] and "ended FAILED" in message["Message"]


def test_nothing_is_done_twice_when_the_failure_path_already_recorded_the_run(world):
    # Given an execution whose failure path wrote run.json (the state machine's own records)
    world.host()
    machine = Machine(breaks_at_runtime(deployed(keep_endpoint=True)), first="Deployed")
    execution_arn = machine.run()
    state = {**RUN_INPUT, "execution_arn": execution_arn, "failure": {"Error": "TrainingFailed", "Cause": "x"}}
    handle_failure(
        parse_state(state, FailureInput),
        sagemaker=FakeSageMaker(),
        bucket=world.bucket,
        notifier=world.notifier,
        executions=Executions(machine.sfn),
    )
    world.notifications()  # the failure path's own message
    before = world.run_json()

    # When the status-change event arrives (once, or twice: delivery is at least once)
    sagemaker = FakeSageMaker()
    outcomes = [backstop(world, machine.event(execution_arn), sagemaker).as_dict() for _ in range(2)]

    # Then nothing is stopped, deleted, rewritten or sent again
    assert [o["recorded"] for o in outcomes] == [False, False]
    assert "already records" in outcomes[0]["reason"]
    assert sagemaker.calls == []
    assert world.run_json() == before
    assert world.notifications() == []


def test_a_second_delivery_after_the_backstop_recorded_the_run_does_nothing(world):
    machine = Machine(breaks_at_runtime(deployed()), first="Deployed")
    event = machine.event(machine.run())

    first = backstop(world, event).as_dict()
    second = backstop(world, event).as_dict()

    assert (first["recorded"], second["recorded"]) == (True, False)
    assert len(world.notifications()) == 1


def test_an_aborted_run_stops_its_training_job_and_says_it_was_aborted(world):
    # Given an execution stopped (StopExecution) while its training job ran
    sections = {key: value for key, value in deployed().items() if key != "endpoint"}
    sections["training"] = {"job_name": "job-1", "status": "InProgress", "polls": 3}
    states = breaks_at_runtime(sections)
    states["Break"] = {"Type": "Wait", "Seconds": 60, "End": True}
    machine = Machine(states, first="Deployed")
    execution_arn = machine.run(stop_waiting=True)
    sagemaker = FakeSageMaker()

    outcome = backstop(world, machine.event(execution_arn), sagemaker).as_dict()

    assert outcome["status"] == "ABORTED" and outcome["recorded"] is True
    assert ("stop", "job-1") in sagemaker.calls
    # StopExecution without an error: the record names the ending event, the cause says what happened
    assert world.run_json()["error"] == {"error": "ExecutionAborted", "message": "the execution ended ABORTED"}


def test_a_redriven_execution_is_left_alone(world):
    machine = Machine({"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}, first="Wait")
    arn = machine.sfn.start_execution(stateMachineArn=machine.arn, name=RUN_ID, input=json.dumps(RUN_INPUT))[
        "executionArn"
    ]
    event = machine.event(arn)
    event["detail"]["status"] = "FAILED"  # a late event: the execution runs again (redrive)

    outcome = backstop(world, event, FakeSageMaker()).as_dict()

    assert outcome["recorded"] is False and outcome["reason"] == "the execution is RUNNING"
    assert world.notifications() == []
    machine.sfn.stop_execution(executionArn=arn)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
        {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": {}},
    ],
)
def test_anything_but_an_execution_status_change_is_rejected_by_name(world, event):
    with pytest.raises(InvalidEventError, match="Step Functions Execution Status Change"):
        backstop(world, event, FakeSageMaker())


# --- rebuilding the state and the error from a history -------------------------------------------
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sagedrop-test-pipeline:{RUN_ID}"


def exited(name: str, document: dict | str, truncated: bool = False) -> dict:
    output = document if isinstance(document, str) else json.dumps(document)
    return {
        "type": "TaskStateExited",
        "stateExitedEventDetails": {"name": name, "output": output, "outputDetails": {"truncated": truncated}},
    }


def test_the_latest_document_that_reads_as_a_run_state_is_taken():
    state = {**RUN_INPUT, "execution_arn": EXECUTION_ARN, **deployed()}
    history = [
        {"type": "ExecutionStarted", "executionStartedEventDetails": {"input": json.dumps(RUN_INPUT)}},
        exited("Check the endpoint", state),
        # The output that ended it with States.DataLimitExceeded, cut off:
        exited("Evaluate the model", json.dumps(state)[:1000], truncated=True),
    ]

    rebuilt = latest_run_state(RUN_INPUT, EXECUTION_ARN, history)

    assert rebuilt.endpoint.endpoint_name == NAMES["endpoint_name"]
    assert rebuilt.training.job_name == "job-1"


def test_keys_no_run_state_names_are_left_out_and_the_input_is_the_last_resort():
    after_catch = {**RUN_INPUT, "execution_arn": EXECUTION_ARN, "cleanup_error": {"Error": "Sandbox.Timedout"}}
    assert latest_run_state(RUN_INPUT, EXECUTION_ARN, [exited("Record the failure", after_catch)]).run_id == RUN_ID

    unreadable = [exited("Prepare the data", {"prepared": "not a section"}), exited("X", "[1, 2]")]
    rebuilt = latest_run_state(RUN_INPUT, EXECUTION_ARN, unreadable)
    assert (rebuilt.run_id, rebuilt.execution_arn, rebuilt.prepared) == (RUN_ID, EXECUTION_ARN, None)


def test_without_any_run_in_input_or_history_the_event_is_rejected():
    with pytest.raises(InvalidEventError, match="no state document names a run"):
        latest_run_state({}, EXECUTION_ARN, [exited("X", {"unrelated": 1})])


def test_the_error_comes_from_describe_else_from_the_ending_event():
    assert terminal_failure("FAILED", {"error": "States.DataLimitExceeded", "cause": "too big"}, []).as_dict() == {
        "Error": "States.DataLimitExceeded",
        "Cause": "too big",
    }
    # DescribeExecution of a timed-out execution has neither error nor cause; the history does.
    timed_out = [{"type": "ExecutionTimedOut", "executionTimedOutEventDetails": {"error": "States.Timeout"}}]
    assert terminal_failure("TIMED_OUT", {}, timed_out).as_dict() == {
        "Error": "States.Timeout",
        "Cause": "the execution ended TIMED_OUT",
    }
