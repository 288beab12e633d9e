"""The state machine definitions: the rules FACTS.md and the issues set, checked on the files themselves.

The rules every machine follows run on each of them (``definition``); the pipeline's and the
scoring's own loops are checked by name (``pipeline``, ``scoring``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ASL_PATH = ROOT / "statemachine" / "pipeline.asl.json"
SCORING_ASL_PATH = ROOT / "statemachine" / "scoring.asl.json"
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
FAILURE_HANDLER = "Record the failure"


@dataclass(frozen=True)
class Machine:
    path: Path
    failed: str  #: the Fail state every failure ends in
    sagemaker_tasks: tuple[str, ...]  #: the tasks that call SageMaker (they retry its throttling and limits)
    first_checks: dict[str, str]  #: a task that starts something -> the check that follows it at once
    wait_seconds: str  #: where the Wait states read their seconds


MACHINES = {
    "pipeline": Machine(
        ASL_PATH,
        "Run failed",
        (
            "Start tuning",
            "Check tuning",
            "Take the best trial",
            "Start training",
            "Check training",
            "Analyse the model",
            "Check the analysis",
            "Deploy the model",
            "Check the endpoint",
            "Start the evaluation transform",
            "Check the evaluation transform",
        ),
        {
            "Start tuning": "Check tuning",
            "Start training": "Check training",
            "Analyse the model": "Check the analysis",
            "Deploy the model": "Check the endpoint",
            "Start the evaluation transform": "Check the evaluation transform",
        },
        "$.poll.interval_seconds",
    ),
    # The transform job's wait is chosen by its check from the execution's poll interval (it grows with the polls).
    "scoring": Machine(
        SCORING_ASL_PATH,
        "Scoring failed",
        ("Start the transform job", "Check the transform job"),
        {"Start the transform job": "Check the transform job"},
        "$.transform.wait_seconds",
    ),
}


@pytest.fixture(scope="module", params=list(MACHINES))
def machine(request) -> Machine:
    return MACHINES[request.param]


@pytest.fixture(scope="module")
def definition(machine) -> dict:
    return json.loads(machine.path.read_text())


@pytest.fixture(scope="module")
def pipeline() -> dict:
    return json.loads(ASL_PATH.read_text())


@pytest.fixture(scope="module")
def scoring() -> dict:
    return json.loads(SCORING_ASL_PATH.read_text())


def _error_class(name: str):
    """The named error class a state machine matches or sets: sagedrop.errors, or scoring's own."""
    import sagedrop.errors as errors
    import sagedrop.scoring.errors as scoring_errors

    return getattr(errors, name, None) or getattr(scoring_errors, name, None)


def _states(definition: dict) -> dict:
    return definition["States"]


def _lambda_tasks(definition: dict) -> dict:
    return {
        name: state
        for name, state in _states(definition).items()
        if state["Type"] == "Task" and re.fullmatch(r"\$\{\w+FunctionArn\}", state["Resource"])
    }


def _next_states(state: dict) -> set[str]:
    targets = {state.get("Next"), state.get("Default")}
    targets |= {choice["Next"] for choice in state.get("Choices", [])}
    targets |= {catch["Next"] for catch in state.get("Catch", [])}
    return {t for t in targets if t}


def test_every_lambda_task_retries_the_lambda_service_errors(definition):
    for name, state in _lambda_tasks(definition).items():
        retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
        assert retried >= LAMBDA_SERVICE_ERRORS, f"{name} does not retry {LAMBDA_SERVICE_ERRORS - retried}"


def test_retriers_back_off_with_jitter_and_a_cap(definition):
    for name, state in _lambda_tasks(definition).items():
        for retrier in state["Retry"]:
            assert retrier.get("BackoffRate", 1) > 1, name
            assert retrier.get("JitterStrategy") == "FULL", name
            assert retrier.get("MaxDelaySeconds"), name


def test_every_task_catches_everything_into_the_failure_path(definition, machine):
    for name, state in _lambda_tasks(definition).items():
        catches = state.get("Catch", [])
        assert catches, f"{name} has no Catch"
        assert any("States.ALL" in c["ErrorEquals"] for c in catches), name
        expected = machine.failed if name == FAILURE_HANDLER else FAILURE_HANDLER
        assert {c["Next"] for c in catches} == {expected}, name
        assert all(c.get("ResultPath") for c in catches), f"{name}'s Catch would drop the run state"


def test_sagemaker_calls_retry_throttling_and_limits(definition, machine):
    for name in machine.sagemaker_tasks:
        retried = {e for r in _states(definition)[name]["Retry"] for e in r["ErrorEquals"]}
        assert {"SageMakerThrottled", "SageMakerLimitExceeded"} <= retried, name


def test_deploy_retries_an_endpoint_config_not_yet_visible(pipeline):
    deploy = {e for r in _states(pipeline)["Deploy the model"]["Retry"] for e in r["ErrorEquals"]}
    assert "EndpointConfigNotReady" in deploy


def test_retried_error_names_are_real_exception_classes(definition):
    """Retry matches the exception *class name*: a typo would silently never retry."""
    for state in _states(definition).values():
        for retrier in state.get("Retry", []):
            for error in retrier["ErrorEquals"]:
                if not error.startswith(("Lambda.", "States.")):
                    assert _error_class(error) is not None, error


def test_every_choice_has_a_default(definition):
    for name, state in _states(definition).items():
        if state["Type"] == "Choice":
            assert state.get("Default") in _states(definition), f"{name} has no Default"


def test_every_next_names_an_existing_state_and_every_state_is_reachable(definition):
    states = _states(definition)
    for name, state in states.items():
        for target in _next_states(state):
            assert target in states, f"{name} -> {target} does not exist"
    reachable, frontier = set(), [definition["StartAt"]]
    while frontier:
        current = frontier.pop()
        if current not in reachable:
            reachable.add(current)
            frontier.extend(_next_states(states[current]))
    assert reachable == set(states), f"unreachable: {set(states) - reachable}"


def test_wait_loops_are_bounded_by_max_polls(definition):
    """Every edge back into a Wait state is guarded by a polls < max_polls comparison."""
    states = _states(definition)
    waits = {name for name, state in states.items() if state["Type"] == "Wait"}
    for name, state in states.items():
        if state["Type"] != "Choice":
            continue
        for choice in state["Choices"]:
            if choice["Next"] in waits:
                text = json.dumps(choice)
                # the run's poll.max_polls, or a bound its start step derived from it (tuning: one per wave)
                bounded = "$.poll.max_polls" in text or "$.tuning.max_polls" in text
                assert "NumericLessThanPath" in text and bounded, f"{name} loops unbounded"
        assert state["Default"] not in waits, f"{name} loops by default"


def test_each_loop_checks_before_its_first_wait(definition, machine):
    """Work already done at its first check goes on at once: only a loop's own Choice enters its Wait."""
    states = _states(definition)
    waits = {name for name, state in states.items() if state["Type"] == "Wait"}
    assert waits  # the loops exist, so this cannot pass vacuously
    for name, state in states.items():
        if state["Type"] != "Choice":
            assert not _next_states(state) & waits, f"{name} waits before anything was checked"
    for start, check in machine.first_checks.items():
        assert states[start]["Next"] == check
    for wait in waits:
        assert states[states[wait]["Next"]]["Type"] == "Task", f"{wait} is not followed by a check"


def test_waits_take_their_seconds_from_the_execution_input(definition, machine):
    for name, state in _states(definition).items():
        if state["Type"] == "Wait":
            assert state.get("SecondsPath") == machine.wait_seconds, name


def test_training_loop_routes_failed_and_stopped_to_the_failure_path(pipeline):
    definition = pipeline
    choice = _states(definition)["Is training finished?"]
    routed = {}
    for rule in choice["Choices"]:
        for status in re.findall(r'"StringEquals": "(\w+)"', json.dumps(rule)):
            routed.setdefault(status, rule["Next"])
    assert routed["Completed"] == "Can the model be analysed?"
    for status in ("Failed", "Stopped"):
        failure_pass = _states(definition)[routed[status]]
        assert failure_pass["Parameters"]["Cause.$"] == "$.training.failure_reason"
        assert failure_pass["Next"] == FAILURE_HANDLER


def test_endpoint_loop_routes_failed_to_the_failure_path(pipeline):
    definition = pipeline
    choice = _states(definition)["Is the endpoint in service?"]
    failed = next(r for r in choice["Choices"] if r.get("StringEquals") == "Failed")
    assert _states(definition)[failed["Next"]]["Next"] == FAILURE_HANDLER


def test_transform_loop_routes_failed_and_stopped_to_the_failure_path(scoring):
    choice = _states(scoring)["Is the transform job finished?"]
    routed = {}
    for rule in choice["Choices"]:
        for status in re.findall(r'"StringEquals": "(\w+)"', json.dumps(rule)):
            routed.setdefault(status, rule["Next"])
    assert routed["Completed"] == "Assemble the scores"
    assert routed["InProgress"] == routed["Stopping"] == "Wait for the transform job"
    for status in ("Failed", "Stopped"):
        failure_pass = _states(scoring)[routed[status]]
        assert failure_pass["Parameters"] == {"Error": "TransformJobFailed", "Cause.$": "$.transform.failure_reason"}
        assert failure_pass["Next"] == FAILURE_HANDLER


def test_scoring_checks_stages_scores_assembles_and_finishes_in_that_order(scoring):
    order, state = [], scoring["StartAt"]
    while state in _states(scoring) and _states(scoring)[state]["Type"] != "Succeed":
        order.append(state)
        current = _states(scoring)[state]
        state = "Assemble the scores" if current["Type"] == "Choice" else current.get("Next")
    assert [name for name in order if _states(scoring)[name]["Type"] == "Task"] == [
        "Check the run and the file",
        "Stage the rows",
        "Start the transform job",
        "Check the transform job",
        "Assemble the scores",
        "Finish the scoring",
    ]


def test_the_run_ends_in_fail_with_the_original_error(definition, machine):
    fail = _states(definition)[machine.failed]
    assert fail["Type"] == "Fail"
    assert fail["ErrorPath"] == "$.failure.Error" and fail["CausePath"] == "$.failure.Cause"


def test_jsonpath_only(definition):
    """The local cloud's executor (moto) does not evaluate JSONata."""
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    for state in _states(definition).values():
        assert state.get("QueryLanguage", "JSONPath") == "JSONPath"


# statelint is installed with the dev extras, next to the interpreter running the tests.
STATELINT = shutil.which("statelint", path=str(Path(sys.executable).parent)) or shutil.which("statelint")


@pytest.mark.skipif(not STATELINT, reason="statelint is not installed (pip install -e '.[dev]')")
def test_statelint_accepts_the_definition_with_substitutions_filled(tmp_path, machine):
    text = re.sub(
        r"\$\{(\w+)\}",
        lambda m: f"arn:aws:lambda:us-east-1:123456789012:function:{m.group(1)}",
        machine.path.read_text(),
    )
    resolved = tmp_path / "pipeline.json"
    resolved.write_text(text)
    result = subprocess.run([STATELINT, str(resolved)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_error_the_state_machine_sets_is_a_declared_error_class(definition):
    import sagedrop.errors as errors

    set_by_pass_states = {
        state["Parameters"]["Error"]
        for state in _states(definition).values()
        if state["Type"] == "Pass" and "Error" in (state.get("Parameters") or {})
    }
    retried_or_caught = {
        name
        for state in _states(definition).values()
        for clause in state.get("Retry", []) + state.get("Catch", [])
        for name in clause["ErrorEquals"]
        if not name.startswith(("States.", "Lambda."))
    }

    assert set_by_pass_states  # the loops' failure states exist, so this cannot pass vacuously
    for name in set_by_pass_states | retried_or_caught:
        assert issubclass(_error_class(name) or type(None), errors.SagedropError), name


@pytest.mark.parametrize(
    ("choice", "section", "completed"),
    [
        ("Is tuning finished?", "tuning", "Take the best trial"),
        ("Is the analysis finished?", "analysis", "Deploy the model"),
        ("Is the evaluation transform finished?", "evaluation_transform", "Evaluate the model"),
    ],
)
def test_the_tuning_and_analysis_loops_route_like_the_training_loop(pipeline, choice, section, completed):
    routed = {}
    for rule in _states(pipeline)[choice]["Choices"]:
        for status in re.findall(r'"StringEquals": "(\w+)"', json.dumps(rule)):
            routed.setdefault(status, rule["Next"])
    assert routed["Completed"] == completed
    for status in ("Failed", "Stopped"):
        failure_pass = _states(pipeline)[routed[status]]
        assert failure_pass["Parameters"]["Cause.$"] == f"$.{section}.failure_reason"
        assert failure_pass["Next"] == FAILURE_HANDLER


def test_only_xgboost_models_are_analysed_and_only_tuning_configs_tune(pipeline):
    states = _states(pipeline)
    analysed = states["Can the model be analysed?"]
    assert analysed["Choices"] == [
        {"Variable": "$.prepared.config.algorithm", "StringEquals": "xgboost", "Next": "Analyse the model"}
    ]
    assert analysed["Default"] == "Deploy the model"
    assert states["Tune or train?"]["Default"] == "Start training"
    assert "$.prepared.config.tuning" in json.dumps(states["Tune or train?"]["Choices"])


def test_a_test_split_over_the_stacks_size_is_evaluated_by_batch_transform(pipeline):
    states = _states(pipeline)
    assert (
        states["Is the endpoint in service?"]["Choices"][0]["Next"] == "Is the test split too large for the endpoint?"
    )
    choice = states["Is the test split too large for the endpoint?"]
    assert choice["Default"] == "Evaluate the model"  # no limit in the input (an older execution): the endpoint
    [rule] = choice["Choices"]
    assert rule["Next"] == "Start the evaluation transform"
    assert {
        "Variable": "$.prepared.dataset.raw_test_bytes",
        "NumericGreaterThanPath": "$.limits.evaluation_transform_bytes",
    } in rule["And"]
    assert states["Start the evaluation transform"]["ResultPath"] == "$.evaluation_transform"
    timed_out = states["Evaluation transform took too long"]["Parameters"]
    assert timed_out["Error"] == "EvaluationTransformTimedOut"
