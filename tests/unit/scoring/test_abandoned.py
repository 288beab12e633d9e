"""The scoring's backstop: a scoring execution that ended without its failure path still gets its status.json.

Executions run on moto's Step Functions interpreter, from the ASL's own first state (real
histories and ends: a Fail state naming a "States." error ends its execution FAILED with
States.Runtime, which no Catch sees; StopExecution ends it ABORTED; the definition's TimeoutSeconds
ends it TIMED_OUT); S3 and SNS are moto, SageMaker the table of jobs and models of the scoring tests.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.stepfunctions import Executions
from sagedrop.backstop import parse_status_change
from sagedrop.errors import InvalidEventError
from sagedrop.scoring.abandoned import record_abandoned_scoring
from sagedrop.scoring.finishing import handle_scoring_failure, status_document
from sagedrop.scoring.keys import ScoringTarget
from sagedrop.scoring.names import scoring_model_name, transform_job_name
from sagedrop.scoring.state import ScoringFailureInput, parse_state
from tests.constants import ACCOUNT, REGION
from tests.executions import await_wait_state
from tests.infra.conftest import ROOT
from tests.unit.pipeline.conftest import load_event

from .conftest import RUN_ID, SCORING_ID, World, make_scoring_state, validated_section
from .test_steps_on_moto import FakeSageMaker, notifier

ASL = json.loads((ROOT / "statemachine" / "scoring.asl.json").read_text())
START_NAME = ASL["StartAt"]
START = ASL["States"][START_NAME]  # "Start the scoring", as it is
STARTER_INPUT = {key: value for key, value in make_scoring_state().items() if key != "execution_arn"}
JOB, MODEL = transform_job_name(RUN_ID, SCORING_ID), scoring_model_name(RUN_ID, SCORING_ID)
STATUS_KEY = f"runs/{RUN_ID}/scoring/customers/status.json"


@pytest.fixture
def world():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield World()


class Machine:
    """A scoring state machine on moto: the ASL's first state, then ``states``; executions run for real."""

    def __init__(
        self,
        states: dict,
        first: str,
        *,
        timeout_seconds: int | None = None,
        name: str = "sagedrop-test-scoring",
        start: dict | None = START,
    ) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = {"StartAt": first, "States": states}
        if start is not None:
            definition = {"StartAt": START_NAME, "States": {START_NAME: {**start, "Next": first}, **states}}
        if timeout_seconds is not None:
            definition["TimeoutSeconds"] = timeout_seconds
        self.arn = self.sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]

    def start(self, document: dict = STARTER_INPUT) -> str:
        return self.sfn.start_execution(
            stateMachineArn=self.arn, name=document.get("scoring_id", "other"), input=json.dumps(document)
        )["executionArn"]

    def run(self, stop_waiting: bool = False, document: dict = STARTER_INPUT) -> str:
        arn = self.start(document)
        if stop_waiting:
            await_wait_state(self.sfn, arn)  # StopExecution once it waits
            self.sfn.stop_execution(executionArn=arn)
        for _ in range(200):
            if self.sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                return arn
            time.sleep(0.05)
        raise AssertionError("the execution did not end")

    def event(self, execution_arn: str) -> dict:
        """The status-change event EventBridge delivers (events/scoring_execution_timed_out.json, re-addressed)."""
        event = load_event("scoring_execution_timed_out.json")
        description = self.sfn.describe_execution(executionArn=execution_arn)
        event["resources"] = [execution_arn]
        event["detail"].update(
            executionArn=execution_arn,
            stateMachineArn=self.arn,
            name=description["name"],
            status=description["status"],
            input=description["input"],
            error=description.get("error"),
            cause=description.get("cause"),
        )
        return event


def reaching(sections: dict, ending: dict) -> dict:
    """States that put ``sections`` into the scoring state, then end with ``ending``."""
    return {
        "Reached": {"Type": "Pass", "Result": sections, "ResultPath": "$.reached", "Next": "Merge"},
        "Merge": {
            "Type": "Pass",
            "Parameters": {
                "scoring_id.$": "$.scoring_id",
                "source.$": "$.source",
                "poll.$": "$.poll",
                "execution_arn.$": "$.execution_arn",
                **{f"{name}.$": f"$.reached.{name}" for name in sections},
            },
            "Next": "End",
        },
        "End": ending,
    }


def transform_running() -> dict:
    """The scoring state while "Wait for the transform job" waits: validated, staged, the job in progress."""
    return {
        "validated": validated_section(),
        "staged": {"input_prefix": f"runs/{RUN_ID}/scoring/customers/input/", "rows": 3, "bytes": 120},
        "transform": {
            "model_name": MODEL,
            "job_name": JOB,
            "instance_type": "ml.m5.large",
            "status": "InProgress",
            "polls": 4,
            "wait_seconds": 60,
        },
    }


# A Fail state may not name a "States." error: moto (and Step Functions) end the execution with
# States.Runtime instead, an error no Catch on States.ALL receives.
UNCATCHABLE = {"Type": "Fail", "Error": "States.Broken", "Cause": "never reaches a Catch"}
WAITING = {"Type": "Wait", "Seconds": 60, "End": True}


def ended(status: str, sections: dict) -> tuple[Machine, str]:
    """A scoring execution that reached ``sections`` and then ended ``status`` without its failure path."""
    if status == "FAILED":
        machine = Machine(reaching(sections, UNCATCHABLE), first="Reached")
        return machine, machine.run()
    if status == "ABORTED":  # StopExecution (the console, `sagedrop local score`'s Ctrl-C)
        machine = Machine(reaching(sections, WAITING), first="Reached")
        return machine, machine.run(stop_waiting=True)
    # the execution's own time limit (moto's interpreter finishes the Wait after the timeout, unseen)
    machine = Machine(reaching(sections, {**WAITING, "Seconds": 2}), first="Reached", timeout_seconds=1)
    return machine, machine.run()


def backstop(world: World, event: dict, sagemaker: FakeSageMaker | None = None):
    return record_abandoned_scoring(
        parse_status_change(event),
        sagemaker=sagemaker or FakeSageMaker(),
        bucket=world.bucket,
        notifier=notifier(),
        executions=Executions(boto3.client("stepfunctions", region_name=REGION)),
    )


def status_json(world: World) -> dict:
    return json.loads(world.read(STATUS_KEY))


# --- each way an execution ends without its failure path -------------------------------------------
#: The error status.json and the notification give for each end: Step Functions' own, or the name of
#: the history event that ended the execution when Step Functions gives none.
ERRORS = {
    "FAILED": ("States.Runtime", None),
    "ABORTED": ("ExecutionAborted", "the execution ended ABORTED"),
    "TIMED_OUT": ("ExecutionTimedOut", "the execution ended TIMED_OUT"),
}


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_a_scoring_that_ended_without_its_failure_path_is_recorded_failed_and_its_job_stopped(world, status):
    # Given a scoring whose transform job was running when its execution ended <status>
    machine, execution_arn = ended(status, transform_running())
    assert machine.sfn.describe_execution(executionArn=execution_arn)["status"] == status
    sagemaker = FakeSageMaker(jobs={JOB: "InProgress"}, models={MODEL})

    # When its status change reaches the backstop
    outcome = backstop(world, machine.event(execution_arn), sagemaker).as_dict()

    # Then the job is stopped, the model deleted, and status.json says the scoring failed, and why
    error, message = ERRORS[status]
    assert (outcome["recorded"], outcome["status"], outcome["scoring_id"]) == (True, status, SCORING_ID)
    assert (outcome["status_key"], outcome["stopped"], outcome["deleted"]) == (STATUS_KEY, [JOB], [MODEL])
    assert (sagemaker.stopped, sagemaker.models) == ([JOB], set())
    record = status_json(world)
    assert (record["status"], record["recorded_by"], record["execution_arn"]) == ("FAILED", "backstop", execution_arn)
    assert record["error"]["error"] == error and (message is None or record["error"]["message"] == message)
    assert (record["run_id"], record["name"], record["rows"]) == (RUN_ID, "customers", 3)
    assert record["resources"] == {
        "model": MODEL,
        "transform_job": JOB,
        "instance_type": "ml.m5.large",  # from the transform section the last state document held
        "stopped": [JOB],
        "deleted": [MODEL],
    }
    # and the failure is notified as the failure path notifies it, saying the backstop did
    [notification] = world.messages()
    assert notification["subject"] == f"sagedrop scoring of customers with run {RUN_ID} failed"
    assert notification["attributes"] == {"status": "FAILED", "workflow": "scoring", "run_id": RUN_ID}
    assert f"{error}: " in notification["message"] and f"ended {status}" in notification["message"]
    assert "the backstop did" in notification["message"]


def test_a_scoring_that_ended_before_its_check_is_recorded_from_its_input(world):
    # Given a scoring stopped right after it started: no section but the starter's
    machine = Machine({"Wait": WAITING}, first="Wait")
    execution_arn = machine.run(stop_waiting=True)

    outcome = backstop(world, machine.event(execution_arn), FakeSageMaker()).as_dict()

    # Then there was nothing of SageMaker to clean up, and status.json is where the key says
    assert outcome["recorded"] is True and outcome["stopped"] == [] and outcome["deleted"] == []
    assert status_json(world)["error"] == {"error": "ExecutionAborted", "message": "the execution ended ABORTED"}
    assert len(world.messages()) == 1


# --- what is left alone ---------------------------------------------------------------------------
def write_status(world: World, execution_arn: str, status: str, finished_at: datetime | None = None) -> dict:
    """status.json as the scoring's own Finish or failure path writes it."""
    state = parse_state(
        make_scoring_state(execution_arn=execution_arn, failure={"Error": "TransformJobFailed", "Cause": "x"}),
        ScoringFailureInput,
    )
    document = status_document(state, ScoringTarget(RUN_ID, "customers"), status=status, deleted=[])
    if finished_at is not None:
        document["finished_at"] = finished_at.isoformat()
    world.bucket.write_json(STATUS_KEY, document)
    return document


def test_a_scoring_whose_failure_path_recorded_it_is_left_alone_on_every_delivery(world):
    # Given an execution whose own failure path wrote status.json (and then failed itself)
    machine, execution_arn = ended("FAILED", transform_running())
    state = parse_state(
        {**make_scoring_state(**transform_running()), "execution_arn": execution_arn, "failure": {"Error": "X"}},
        ScoringFailureInput,
    )
    handle_scoring_failure(state, sagemaker=FakeSageMaker(), bucket=world.bucket, notifier=notifier())
    world.messages()  # the failure path's own message
    before = status_json(world)

    # When the status change arrives (twice: delivery is at least once)
    sagemaker = FakeSageMaker(jobs={JOB: "InProgress"}, models={MODEL})
    outcomes = [backstop(world, machine.event(execution_arn), sagemaker).as_dict() for _ in range(2)]

    # Then nothing is stopped, deleted, rewritten or sent again
    assert [o["recorded"] for o in outcomes] == [False, False]
    assert outcomes[0]["reason"] == "status.json already records this execution's end (FAILED)"
    assert (sagemaker.stopped, sagemaker.models) == ([], {MODEL})
    assert status_json(world) == before
    assert world.messages() == []


def test_a_scoring_that_finished_before_its_execution_failed_keeps_its_success(world):
    # Given a scoring whose Finish wrote status.json SUCCEEDED, then failed (its notification, say)
    # and whose failure path died too
    machine, execution_arn = ended("FAILED", transform_running())
    before = write_status(world, execution_arn, "SUCCEEDED")

    outcome = backstop(world, machine.event(execution_arn)).as_dict()

    assert outcome["recorded"] is False and "(SUCCEEDED)" in outcome["reason"]
    assert status_json(world) == before and world.messages() == []


def test_a_second_delivery_after_the_backstop_recorded_the_scoring_does_nothing(world):
    machine, execution_arn = ended("ABORTED", transform_running())
    event = machine.event(execution_arn)

    first = backstop(world, event).as_dict()
    recorded = status_json(world)
    second = backstop(world, event).as_dict()

    assert (first["recorded"], second["recorded"]) == (True, False)
    assert status_json(world) == recorded
    assert len(world.messages()) == 1


@pytest.mark.parametrize(("hours", "replaced"), [(1, False), (-1, True)])
def test_another_scorings_status_is_replaced_only_when_it_finished_before_this_one_started(world, hours, replaced):
    # Given status.json of another scoring of the same file: a later drop (finished after this
    # execution started: a late or replayed event) or an earlier one
    machine, execution_arn = ended("ABORTED", transform_running())
    other = execution_arn.replace(SCORING_ID, "customers-0000000000000000")
    before = write_status(world, other, "SUCCEEDED", finished_at=datetime.now(UTC) + timedelta(hours=hours))

    outcome = backstop(world, machine.event(execution_arn)).as_dict()

    assert outcome["recorded"] is replaced
    if replaced:
        assert status_json(world)["execution_arn"] == execution_arn and len(world.messages()) == 1
    else:
        assert "a later scoring" in outcome["reason"] and other in outcome["reason"]
        assert status_json(world) == before and world.messages() == []


def test_a_redriven_scoring_is_left_alone(world):
    machine = Machine({"Wait": WAITING}, first="Wait")
    execution_arn = machine.start()
    event = machine.event(execution_arn)
    event["detail"]["status"] = "FAILED"  # a late event: the execution runs again (redrive)

    outcome = backstop(world, event).as_dict()

    assert outcome["recorded"] is False and outcome["reason"] == "the execution is RUNNING"
    assert world.messages() == []
    machine.sfn.stop_execution(executionArn=execution_arn)


def test_a_pipeline_execution_is_not_taken_for_a_scoring(world):
    # Given an execution whose documents are a run's (the rule routes no such event here)
    run_input = {"run_id": RUN_ID, "source": STARTER_INPUT["source"], "poll": STARTER_INPUT["poll"]}
    machine = Machine({"Wait": WAITING}, first="Wait", name="sagedrop-test-pipeline", start=None)
    execution_arn = machine.run(stop_waiting=True, document=run_input)

    with pytest.raises(InvalidEventError, match="no state document names a scoring"):
        backstop(world, machine.event(execution_arn))

    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket.bucket, Prefix="runs/")
    assert world.messages() == []
