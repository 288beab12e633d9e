"""Stack parameters checked as CloudFormation checks them (``stack.parameter_problem``) against template.yaml."""

from __future__ import annotations

import pytest

from sagedrop_local.cloud import REPO_ROOT
from sagedrop_local.stack import load_template, parameter_problem

DECLARED = load_template(REPO_ROOT / "template.yaml")["Parameters"]


def test_every_default_in_the_template_passes_its_own_constraints():
    for name, spec in DECLARED.items():
        assert parameter_problem(name, str(spec.get("Default", "")), spec) is None, name


@pytest.mark.parametrize(
    ("spec", "value", "problem"),
    [
        ({"Type": "Number"}, "1e3", None),
        ({"Type": "Number"}, "ten", "X='ten' is not a number (the parameter's Type is Number)"),
        ({"Type": "Number", "MinValue": 5}, "4", "X=4 is below its MinValue 5"),
        ({"Type": "Number", "MinValue": 5}, "5", None),
        ({"Type": "Number", "MaxValue": 10}, "10.5", "X=10.5 is above its MaxValue 10"),
        ({"Type": "String", "AllowedValues": ["true", "false"]}, "True", "X='True' is not one of its AllowedValues"),
        ({"Type": "String", "AllowedPattern": "[a-z]+"}, "abc1", "X='abc1' does not match its AllowedPattern [a-z]+"),
        ({"Type": "String", "AllowedPattern": "[a-z]+"}, "abc", None),
        ({"Type": "String", "MinLength": 2}, "a", "X='a' is shorter than its MinLength 2"),
        ({"Type": "String", "MaxLength": 2}, "abc", "X='abc' is longer than its MaxLength 2"),
    ],
)
def test_a_constraint(spec, value, problem):
    found = parameter_problem("X", value, spec)
    assert found == problem if problem is None else found.startswith(problem), found


def test_the_local_stacks_own_poll_interval_is_below_the_templates_minimum():
    # why LocalCloud's own overrides are not put through this check: a local wait loop polls with 0 s
    from sagedrop_local.cloud import LOCAL_PARAMETERS

    spec = DECLARED["PollIntervalSeconds"]
    assert parameter_problem("PollIntervalSeconds", LOCAL_PARAMETERS["PollIntervalSeconds"], spec) is not None
