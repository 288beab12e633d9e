"""XGBoost hyperparameter values the training container would refuse are refused at preparation, by key.

The value table (``XGBOOST_VALUE_RULES``) is the container's hyperparameter_validation.py; the local
SageMaker's emulation of that validation (``sagedrop_local.sagemaker.hyperparameters``) is checked
against it here, value by value, so the two cannot drift apart.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.errors import InvalidConfigError
from sagedrop.run_config import resolve_run_config
from sagedrop.run_config.hyperparameters import (
    REJECTED_HYPERPARAMETERS,
    XGBOOST_ALIASES,
    XGBOOST_HYPERPARAMETERS,
    XGBOOST_METRICS,
    XGBOOST_VALUE_RULES,
)
from sagedrop_local.sagemaker import hyperparameters as container

SOURCE = "incoming/bank/sagedrop.json"


def refused(override: dict) -> str:
    with pytest.raises(InvalidConfigError) as caught:
        resolve_run_config(None, override, SOURCE)
    return str(caught.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"eta": 1.5},
            "hyperparameters.eta: '1.5' is not valid; expects a number greater than or equal to 0 and less "
            "than or equal to 1",
        ),
        ({"learning_rate": -0.1}, "hyperparameters.learning_rate: '-0.1' is not valid"),
        (
            {"max_depth": "5.5"},
            "hyperparameters.max_depth: '5.5' is not valid; expects an integer greater than or equal",
        ),
        ({"subsample": 0}, "hyperparameters.subsample: '0' is not valid; expects a number greater than 0"),
        ({"tweedie_variance_power": 2}, "hyperparameters.tweedie_variance_power: '2' is not valid"),
        ({"seed": 2**31}, "hyperparameters.seed: '2147483648' is not valid"),
        (
            {"verbosity": 4},
            "hyperparameters.verbosity: '4' is not valid; expects an integer greater than or equal to 0",
        ),
        ({"booster": "gbtre"}, "hyperparameters.booster: 'gbtre' is not one of 'gbtree', 'gblinear', 'dart'"),
        (
            {"eval_metric": "acuracy"},
            "hyperparameters.eval_metric: 'acuracy' is not a metric the XGBoost container "
            "computes (did you mean 'accuracy'?)",
        ),
        ({"eval_metric": "rmse,mlogloss@2,bogus"}, "hyperparameters.eval_metric: 'bogus' is not a metric"),
        ({"gamma": "NaN"}, "hyperparameters.gamma: 'NaN' is not valid"),
        ({"gamma": "inf"}, "hyperparameters.gamma: 'inf' is not valid"),
    ],
)
def test_a_value_the_container_refuses_is_refused_naming_the_key(override, expected):
    assert expected in refused({"hyperparameters": {"num_round": 10, **override}})


def test_rules_that_need_the_problem_type_apply_when_it_is_given():
    regression = {"problem_type": "regression", "hyperparameters": {"num_round": 5, "eval_metric": "rmse,auc"}}
    assert "hyperparameters.eval_metric: 'auc' is for binary classification only" in refused(regression)
    multiclass = {
        "problem_type": "multiclass_classification",
        "hyperparameters": {"num_round": 5, "eval_metric": "auc"},
    }
    assert "refuses it for 'multiclass_classification'" in refused(multiclass)
    binary = {"problem_type": "binary_classification", "hyperparameters": {"num_round": 5, "base_score": 1}}
    assert "hyperparameters.base_score: '1' is not valid for binary classification" in refused(binary)
    accepted = {
        "problem_type": "binary_classification",
        "hyperparameters": {"num_round": 5, "eval_metric": "auc,error@0.7"},
    }
    assert resolve_run_config(None, accepted, SOURCE).hyperparameters["eval_metric"] == "auc,error@0.7"


def test_every_nameable_hyperparameter_has_a_value_rule():
    nameable = XGBOOST_HYPERPARAMETERS - set(REJECTED_HYPERPARAMETERS) - {"objective"}
    assert {XGBOOST_ALIASES.get(name, name) for name in nameable} <= set(XGBOOST_VALUE_RULES)


def test_the_table_is_the_containers_as_the_local_sagemaker_emulates_it():
    assert dict(XGBOOST_ALIASES) == container.ALIASES
    assert set(container._MAXIMIZE_METRICS) | set(container._MINIMIZE_METRICS) == XGBOOST_METRICS
    for name, rule in XGBOOST_VALUE_RULES.items():
        spec = container.SPECS[name]
        kind = {"categorical": "choice", "list": "metrics"}.get(spec.kind, spec.kind)
        assert rule.kind == kind, name
        if kind == "choice":
            assert list(rule.choices) == list(spec.range), name
        elif kind in ("int", "float"):
            interval = spec.range
            assert (rule.low, rule.low_open) == (
                (interval.min_open, True) if interval.min_open is not None else (interval.min_closed, False)
            ), name
            assert (rule.high, rule.high_open) == (
                (interval.max_open, True) if interval.max_open is not None else (interval.max_closed, False)
            ), name


VALUES = st.one_of(
    st.integers(-(2**33), 2**33).map(str),
    st.floats(-10, 10, allow_nan=False).map(repr),
    st.sampled_from(["0", "1", "0.5", "1e-3", "2", "3", "true", "false", "hist", "gbtree", "rmse", "x", "1.0", ""]),
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(set(XGBOOST_VALUE_RULES) - {"num_round"})), value=VALUES)
def test_preparation_accepts_exactly_what_the_container_accepts(name, value):
    ours = XGBOOST_VALUE_RULES[name].problem(value)
    try:
        container.validate({"num_round": "1", name: value})
        theirs = None
    except container.UserError as error:
        theirs = str(error)
    if name == "eval_metric" and "auc" in value.split(","):
        return  # the container's auc rule depends on the objective (checked above with the problem type)
    assert (ours is None) == (theirs is None), (name, value, ours, theirs)


def test_infinite_numbers_are_refused_even_where_the_container_has_no_upper_bound():
    # The container would pass gamma=inf on to XGBoost; no run needs it.
    container.validate({"num_round": "1", "gamma": "inf"})
    assert (
        XGBOOST_VALUE_RULES["gamma"].problem("inf") == "'inf' is not valid; expects a number greater than or equal to 0"
    )
