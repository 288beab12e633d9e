"""The local cloud's three changes to moto's Step Functions interpreter (``sfn_interpreter``)."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from sagedrop_local import sfn_interpreter

sfn_interpreter.install()

from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser  # noqa: E402
from moto.stepfunctions.parser.asl.eval import environment  # noqa: E402
from moto.stepfunctions.parser.asl.parse.asl_parser import (  # noqa: E402
    AmazonStateLanguageParser,
    ASLParserException,
)

ROLE = "arn:aws:iam::123456789012:role/sfn"


def _definition(marker: str) -> str:
    return json.dumps(
        {
            "StartAt": "Which",
            "States": {
                "Which": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                    "Default": "Small",
                },
                "Big": {"Type": "Pass", "Result": {"size": "big", "marker": marker}, "End": True},
                "Small": {"Type": "Pass", "Result": {"size": "small", "marker": marker}, "End": True},
            },
        }
    )


def _count_parses(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = ASLParser.state_machine

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(ASLParser, "state_machine", counted)
    return calls


def test_a_definition_is_parsed_once_and_each_parse_gets_its_own_components(monkeypatch):
    calls = _count_parses(monkeypatch)
    definition = _definition(f"once-{time.monotonic_ns()}")

    first_program, first_tree = AmazonStateLanguageParser.parse(definition)
    second_program, second_tree = AmazonStateLanguageParser.parse(definition)

    assert len(calls) == 1
    assert second_tree is first_tree
    assert second_program is not first_program  # per-execution state is never shared


def test_a_syntax_error_is_raised_every_time_and_not_kept(monkeypatch):
    calls = _count_parses(monkeypatch)
    broken = json.dumps({"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "Nxt": "A"}}})

    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse(broken)
    assert len(calls) == 2


def test_only_the_latest_definitions_are_kept(monkeypatch):
    calls = _count_parses(monkeypatch)
    definitions = [_definition(f"kept-{n}-{time.monotonic_ns()}") for n in range(sfn_interpreter.TREES_KEPT + 1)]
    for definition in definitions:
        AmazonStateLanguageParser.parse(definition)

    AmazonStateLanguageParser.parse(definitions[-1])  # still kept
    AmazonStateLanguageParser.parse(definitions[0])  # dropped: parsed again

    assert len(calls) == len(definitions) + 1


def _run(client, arn: str, document: dict) -> dict:
    execution = client.start_execution(stateMachineArn=arn, name=f"n{document['n']}", input=json.dumps(document))[
        "executionArn"
    ]
    deadline = time.monotonic() + 20
    while (described := client.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return described


def test_executions_of_a_kept_definition_each_take_their_own_path():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(name="choice", definition=_definition("run"), roleArn=ROLE)["stateMachineArn"]
        outputs = [json.loads(_run(client, arn, {"n": n})["output"])["size"] for n in (5, 0, 7)]

    assert outputs == ["big", "small", "big"]


def _environment_in(state) -> SimpleNamespace:
    return SimpleNamespace(
        _state_mutex=threading.RLock(), _program_state=state, _frames=[], program_state_event=threading.Event()
    )


def test_an_error_after_a_stop_leaves_the_execution_stopped():
    stopped = environment.ProgramStopped(stop_date=0, cause=None, error=None)
    env = _environment_in(stopped)

    environment.Environment.set_error(env, {"error": "States.TaskFailed", "cause": "in flight when stopped"})

    assert env._program_state is stopped


def test_an_error_of_a_running_execution_still_fails_it():
    env = _environment_in(environment.ProgramRunning())

    environment.Environment.set_error(env, {"error": "States.TaskFailed", "cause": "boom"})

    assert isinstance(env._program_state, environment.ProgramError)


def test_a_stop_right_after_the_start_aborts_the_execution(monkeypatch):
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    # Given an execution whose thread takes a while to make its environment
    slow_start = ExecutionWorker._get_evaluation_entrypoint

    def entrypoint(self):
        time.sleep(0.3)
        return slow_start(self)

    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)
    waiting = json.dumps({"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 30, "End": True}}})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(name="pause", definition=waiting, roleArn=ROLE)["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=arn, name="early")["executionArn"]
        # When it is stopped before that
        client.stop_execution(executionArn=execution)
        # Then the stop is not an error and the execution ends ABORTED, without waiting its 30 s
        deadline = time.monotonic() + 10
        while (status := client.describe_execution(executionArn=execution)["status"]) == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)

    assert status == "ABORTED"
