"""The step map agrees with the ASL, the template and the handlers; docs/CONTRACTS.md is current."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys

import pytest

from sagedrop.pipeline.steps import STEPS, substitution_key
from tests.infra.conftest import ASL, ROOT, load_template


@pytest.fixture(scope="module")
def asl() -> dict:
    return json.loads(ASL.read_text())


def lambda_tasks(asl: dict) -> dict[str, dict]:
    return {
        name: state
        for name, state in asl["States"].items()
        if state["Type"] == "Task" and re.fullmatch(r"\$\{\w+\}", state["Resource"])
    }


def test_the_asl_tasks_the_substitutions_and_the_step_map_name_the_same_functions(asl):
    in_asl = {re.fullmatch(r"\$\{(\w+)\}", t["Resource"]).group(1) for t in lambda_tasks(asl).values()}
    machine = load_template()["Resources"]["PipelineStateMachine"]["Properties"]
    substituted = set(machine["DefinitionSubstitutions"])
    declared = {substitution_key(step.function) for step in STEPS}

    assert in_asl  # a structure test over nothing would pass vacuously
    assert in_asl == substituted == declared


def test_each_substitution_points_at_the_function_of_that_folder():
    template = load_template()
    substitutions = template["Resources"]["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    for step in STEPS:
        logical_id = substitutions[substitution_key(step.function)]["Fn::GetAtt"][0]
        code_uri = template["Resources"][logical_id]["Properties"]["CodeUri"]
        assert code_uri.rstrip("/") == f"functions/{step.function}"


def test_each_task_stores_its_result_where_the_step_map_says(asl):
    by_key = {substitution_key(step.function): step for step in STEPS}
    for name, task in lambda_tasks(asl).items():
        step = by_key[re.fullmatch(r"\$\{(\w+)\}", task["Resource"]).group(1)]
        assert task.get("ResultPath") == step.result_path, name


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.function)
def test_each_handler_parses_its_model_and_calls_its_domain_function(step):
    tree = ast.parse((ROOT / "functions" / step.function / "app.py").read_text())
    imported = {
        (node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    module, function = step.domain.split(":")
    assert (module, function) in imported
    assert ("sagedrop.pipeline.state", step.reads.__name__) in imported
    assert callable(getattr(importlib.import_module(module), function))


def test_contracts_document_is_generated_from_the_current_code():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_contracts.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
