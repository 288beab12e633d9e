"""template.yaml agrees with the run configuration model on every key the stack sets, and with the size limits.

For each RunConfig field that names a StackDefault: the parameter exists, its Default is the model's
default in the form the environment variable carries, its bounds are the field's, and every function
receives it through the variable the field names (so defaults_from_environment reads it).
"""

from __future__ import annotations

from typing import Any

import pytest

from sagedrop.limits import LAMBDA_PREPROCESS_MAX_BYTES, MAX_UPLOAD_BYTES
from sagedrop.run_config import RunConfig, defaults_from_environment, json_schema, resolve_run_config, stack_defaults
from sagedrop.settings import StarterSettings

STACK_DEFAULTS = stack_defaults()


def _functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def _as_environment_text(value: Any) -> str:
    """A template Default as CloudFormation hands it to the function: a string (3600 → "3600")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_the_model_names_stack_defaults():
    # Guards the parametrised tests below against passing on an empty list.
    assert {"hyperparameters", "training_instance_type", "max_runtime_seconds"} <= set(STACK_DEFAULTS)


@pytest.mark.parametrize(("key", "stack"), STACK_DEFAULTS.items(), ids=list(STACK_DEFAULTS))
def test_each_stack_parameter_exists_with_the_models_default(template, key, stack):
    parameters = template["Parameters"]
    assert stack.parameter in parameters, f"{key}: template.yaml has no parameter {stack.parameter}"
    text = _as_environment_text(parameters[stack.parameter]["Default"])
    read = defaults_from_environment({stack.variable: text})
    assert RunConfig.model_validate({key: read[key]}) == RunConfig(), (
        f"{stack.parameter}'s Default {text!r} is not RunConfig's default for {key}"
    )


@pytest.mark.parametrize(("key", "stack"), STACK_DEFAULTS.items(), ids=list(STACK_DEFAULTS))
def test_each_stack_parameter_allows_what_the_key_allows(template, key, stack):
    parameter = template["Parameters"][stack.parameter]
    field = json_schema()["properties"][key]
    for bound, keyword in (("MinValue", "minimum"), ("MaxValue", "maximum")):
        if bound in parameter or keyword in field:
            assert parameter.get(bound) == field.get(keyword), f"{stack.parameter}.{bound} vs {key}'s {keyword}"
    if field.get("type") == "boolean":
        assert sorted(parameter.get("AllowedValues", [])) == ["false", "true"]
    if "pattern" in field:
        assert parameter.get("AllowedPattern") == field["pattern"]


@pytest.mark.parametrize(("key", "stack"), STACK_DEFAULTS.items(), ids=list(STACK_DEFAULTS))
def test_every_function_receives_the_parameter_through_the_fields_variable(template, resources, key, stack):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables.get(stack.variable) == {"Ref": stack.parameter}, (
        f"Globals must pass {stack.parameter} as {stack.variable} (the variable {key} is read from)"
    )
    for name, function in _functions(resources).items():
        own = function["Properties"].get("Environment", {}).get("Variables", {})
        assert own.get(stack.variable, {"Ref": stack.parameter}) == {"Ref": stack.parameter}, (
            f"{name} overrides {stack.variable}"
        )


def test_the_template_defaults_resolve_to_the_built_in_configuration(template):
    environment = {
        stack.variable: _as_environment_text(template["Parameters"][stack.parameter]["Default"])
        for stack in STACK_DEFAULTS.values()
    }
    assert resolve_run_config(defaults_from_environment(environment), None, "template.yaml") == RunConfig()


def test_the_upload_size_parameters_default_to_the_declared_limits(template):
    parameters = template["Parameters"]
    assert parameters["MaxUploadBytes"]["Default"] == MAX_UPLOAD_BYTES
    assert parameters["LambdaPrepareMaxBytes"]["Default"] == LAMBDA_PREPROCESS_MAX_BYTES
    # the starter's fallback when the variable is unset is the same limit
    assert StarterSettings.from_environ({"STATE_MACHINE_ARN": "arn"}).lambda_prepare_max_bytes == (
        LAMBDA_PREPROCESS_MAX_BYTES
    )
    # by default both routes are reachable: some accepted uploads go to the Processing job
    assert LAMBDA_PREPROCESS_MAX_BYTES < MAX_UPLOAD_BYTES
