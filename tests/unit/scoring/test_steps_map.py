"""The scoring step map agrees with statemachine/scoring.asl.json, template.yaml and the handlers."""

from __future__ import annotations

import ast
import importlib
import json
import re

import pytest

from sagedrop.pipeline.steps import substitution_key
from sagedrop.scoring.steps import STATES, STEPS
from tests.infra.conftest import ROOT, load_template

ASL = ROOT / "statemachine" / "scoring.asl.json"


@pytest.fixture(scope="module")
def asl() -> dict:
    return json.loads(ASL.read_text())


def lambda_tasks(asl: dict) -> dict[str, dict]:
    return {
        name: state
        for name, state in asl["States"].items()
        if state["Type"] == "Task" and re.fullmatch(r"\$\{\w+\}", state["Resource"])
    }


def test_each_task_state_runs_the_function_and_stores_the_result_the_map_says(asl):
    tasks = lambda_tasks(asl)

    assert set(tasks) == set(STATES)
    for name, task in tasks.items():
        assert task["Resource"] == "${" + substitution_key(STATES[name].function) + "}", name
        assert task["ResultPath"] == STATES[name].result_path, name


def test_the_template_substitutes_each_function_of_its_folder():
    resources = load_template()["Resources"]
    substitutions = resources["ScoringStateMachine"]["Properties"]["DefinitionSubstitutions"]

    assert set(substitutions) == {substitution_key(step.function) for step in STEPS}
    for step in STEPS:
        logical_id = substitutions[substitution_key(step.function)]["Fn::GetAtt"][0]
        assert resources[logical_id]["Properties"]["CodeUri"] == f"functions/{step.function}/"
    invoked = {
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in resources["ScoringStateMachine"]["Properties"]["Policies"]
        if "LambdaInvokePolicy" in policy
    }
    assert invoked == {value["Fn::GetAtt"][0] for value in substitutions.values()}


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.function)
def test_each_handler_parses_its_model_and_calls_its_domain_function(step):
    source = (ROOT / "functions" / step.function / "app.py").read_text()
    tree = ast.parse(source)
    imported = {
        (node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    module, function = step.domain.split(":")
    assert (module, function) in imported
    assert ("sagedrop.scoring.state", step.reads.__name__) in imported
    assert callable(getattr(importlib.import_module(module), function))
    assert (ROOT / "functions" / step.function / "__init__.py").is_file()
    assert (ROOT / "functions" / step.function / "requirements.txt").is_file()


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.function)
def test_handlers_retry_little_exactly_where_their_state_retries_sagemaker_throttling(asl, step):
    """STATE_MACHINE where the ASL retries SageMakerThrottled, SELF elsewhere (as for the pipeline)."""
    [task] = [t for t in lambda_tasks(asl).values() if t["Resource"] == "${" + substitution_key(step.function) + "}"]
    retried = any("SageMakerThrottled" in retrier["ErrorEquals"] for retrier in task.get("Retry", []))
    policies = set(
        re.findall(r"RetryPolicy\.(STATE_MACHINE|SELF)", (ROOT / "functions" / step.function / "app.py").read_text())
    )

    assert ("STATE_MACHINE" in policies) is retried, step.function
