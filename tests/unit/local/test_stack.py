"""The local cloud reads template.yaml as CloudFormation would resolve it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagedrop_local.stack import LocalStack, load_template

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def stack() -> LocalStack:
    return LocalStack.from_template(ROOT, stack_name="demo", parameter_overrides={"PollIntervalSeconds": "1"})


def test_every_function_of_the_template_is_found_with_its_code_folder(stack):
    template = load_template(ROOT / "template.yaml")
    declared = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    functions = stack.functions()
    assert set(functions) == declared
    for function in functions.values():
        assert (ROOT / "functions" / function.folder / "app.py").exists(), function.logical_id


def test_environment_merges_globals_with_the_functions_own_and_resolves_intrinsics(stack):
    starter = stack.functions()["StartPipelineFunction"]
    assert starter.environment["DATA_BUCKET"] == stack.resource("DataBucket")
    assert starter.environment["STACK_NAME"] == "demo"
    assert starter.environment["STATE_MACHINE_ARN"].endswith(":stateMachine:demo-pipeline")
    assert starter.environment["POLL_INTERVAL_SECONDS"] == "1"  # the override, not the template default
    preprocess = stack.functions()["PreprocessFunction"]
    assert "STATE_MACHINE_ARN" not in preprocess.environment
    assert json.loads(preprocess.environment["DEFAULT_HYPERPARAMETERS"])["num_round"]


def test_the_definition_gets_every_substitution(stack):
    definition = json.loads(stack.state_machine_definition())
    arns = {state["Resource"] for state in definition["States"].values() if state["Type"] == "Task"}
    function_arns = {f.arn for f in stack.functions().values()}
    assert arns <= function_arns
    assert "${" not in stack.state_machine_definition()


def test_sub_getatt_join_and_pseudo_parameters(stack):
    assert stack.resolve({"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}) == "demo-us-east-1"
    assert (
        stack.resolve({"Fn::Sub": "${DataBucket.Arn}/incoming/*"})
        == f"arn:aws:s3:::{stack.resource('DataBucket')}/incoming/*"
    )
    assert stack.resolve({"Fn::Sub": ["${X}-y", {"X": {"Ref": "AWS::AccountId"}}]}) == "123456789012-y"
    assert stack.resolve({"Fn::Join": ["/", ["a", {"Ref": "AWS::Partition"}]]}) == "a/aws"


def test_an_intrinsic_it_cannot_resolve_is_an_error_not_a_wrong_value(stack):
    with pytest.raises(ValueError, match="Fn::ImportValue"):
        stack.resolve({"Fn::ImportValue": "shared-bucket"})


def test_unknown_parameter_overrides_are_rejected():
    with pytest.raises(ValueError, match="NoSuchParameter"):
        LocalStack.from_template(ROOT, parameter_overrides={"NoSuchParameter": "1"})


def test_a_placeholder_without_substitution_is_reported(tmp_path):
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "m.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Missing}", "End": true}}}'
    )
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  PipelineStateMachine:\n    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n      DefinitionUri: statemachine/m.asl.json\n      DefinitionSubstitutions: {}\n"
    )
    with pytest.raises(ValueError, match="Missing"):
        LocalStack.from_template(tmp_path).state_machine_definition()
