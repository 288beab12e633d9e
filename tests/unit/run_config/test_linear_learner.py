"""algorithm: linear-learner — own defaults, documented hyperparameters, keys sagedrop sets, no serverless."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.algorithms import LINEAR_LEARNER_PROBLEMS, Algorithm
from sagedrop.errors import InvalidConfigError
from sagedrop.problem_types import ProblemType
from sagedrop.run_config import DEFAULTS_SOURCE, RunConfig, json_schema, parse_override, resolve_run_config
from sagedrop.run_config import linear_learner as ll
from sagedrop.run_config.hyperparameters import DEFAULT_XGBOOST_HYPERPARAMETERS
from sagedrop_local.sagemaker import linear_learner_hyperparameters as container

SOURCE = "incoming/iris/sagedrop.json"
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def resolve(override: dict, defaults: dict | None = None) -> RunConfig:
    return resolve_run_config(defaults or {}, parse_override(json.dumps(override), SOURCE), SOURCE)


def error_of(override: dict, defaults: dict | None = None) -> str:
    with pytest.raises(InvalidConfigError) as caught:
        resolve(override, defaults)
    return str(caught.value)


def test_a_linear_learner_run_takes_its_own_defaults_not_the_tutorials():
    config = resolve({"algorithm": "linear-learner"})

    assert config.algorithm is Algorithm.LINEAR_LEARNER
    assert dict(config.hyperparameters) == {"mini_batch_size": "100", "epochs": "30"}
    assert config.as_dict()["algorithm"] == "linear-learner"
    assert RunConfig.from_dict(config.as_dict()) == config


def test_the_default_is_xgboost_with_its_hyperparameters():
    config = resolve({})
    assert config.algorithm is Algorithm.XGBOOST
    assert dict(config.hyperparameters) == dict(DEFAULT_XGBOOST_HYPERPARAMETERS)


def test_the_stacks_xgboost_hyperparameters_do_not_reach_a_linear_learner_run():
    stack = {"hyperparameters": {"num_round": "80", "max_depth": "3"}}

    config = resolve({"algorithm": "linear-learner", "hyperparameters": {"epochs": 5}}, stack)

    assert dict(config.hyperparameters) == {"mini_batch_size": "100", "epochs": "5"}


def test_folder_hyperparameters_merge_over_the_linear_learner_defaults():
    config = resolve(
        {"algorithm": "linear-learner", "hyperparameters": {"mini_batch_size": None, "l1": 0.01, "use_bias": False}}
    )
    assert dict(config.hyperparameters) == {"epochs": "30", "l1": "0.01", "use_bias": "false"}


def test_a_model_built_directly_takes_the_algorithms_defaults():
    assert dict(RunConfig.model_validate({"algorithm": "linear-learner"}).hyperparameters) == dict(
        ll.DEFAULT_HYPERPARAMETERS
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("predictor_type", "set by sagedrop from the problem type"),
        ("feature_dim", "set by sagedrop from the number of feature columns"),
        ("num_classes", "set by sagedrop from the number of classes"),
    ],
)
def test_what_sagedrop_sets_from_the_data_is_refused_with_the_reason(name, words):
    message = error_of({"algorithm": "linear-learner", "hyperparameters": {name: "3"}})
    assert message.startswith(f"{SOURCE}: hyperparameters.{name}: ")
    assert words in message


def test_a_typo_gets_a_suggestion_and_an_xgboost_name_says_so():
    assert error_of({"algorithm": "linear-learner", "hyperparameters": {"epoch": 3}}) == (
        f"{SOURCE}: hyperparameters.epoch: unknown Linear Learner hyperparameter 'epoch' (did you mean 'epochs'?)"
    )
    assert "it is an XGBoost hyperparameter" in error_of(
        {"algorithm": "linear-learner", "hyperparameters": {"num_round": 3}}
    )
    # … and a Linear Learner name in an XGBoost run is unknown there
    assert "unknown XGBoost hyperparameter 'epochs'" in error_of({"hyperparameters": {"epochs": 3}})


@pytest.mark.parametrize(
    ("name", "value", "expects"),
    [
        ("epochs", 0, "an integer greater than or equal to 1"),
        ("epochs", 2.5, "an integer greater than or equal to 1"),
        ("optimizer", "adagrad", "one of 'auto', 'sgd', 'adam', 'rmsprop'"),
        ("learning_rate", "fast", "a number greater than 0, or 'auto'"),
        ("quantile", 1, "a number greater than 0 and less than 1"),
        ("use_bias", "yes", "one of 'true', 'false'"),
    ],
)
def test_values_are_checked_against_the_documented_table(name, value, expects):
    message = error_of({"algorithm": "linear-learner", "hyperparameters": {name: value}})
    assert message.startswith(f"{SOURCE}: hyperparameters.{name}: ")
    assert f"expects {expects}" in message


def test_loss_needs_a_problem_type_and_one_the_decoder_reads():
    assert "also set problem_type" in error_of({"algorithm": "linear-learner", "hyperparameters": {"loss": "logistic"}})
    assert "'hinge_loss' does not fit problem_type 'binary_classification' (allowed: auto, logistic)" in error_of(
        {
            "algorithm": "linear-learner",
            "problem_type": "binary_classification",
            "hyperparameters": {"loss": "hinge_loss"},
        }
    )
    config = resolve(
        {"algorithm": "linear-learner", "problem_type": "regression", "hyperparameters": {"loss": "huber_loss"}}
    )
    assert config.hyperparameters["loss"] == "huber_loss"
    assert (
        resolve({"algorithm": "linear-learner", "hyperparameters": {"loss": "auto"}}).hyperparameters["loss"] == "auto"
    )


def test_serverless_is_refused_for_linear_learner_naming_the_key():
    message = error_of({"algorithm": "linear-learner", "serverless": {"memory_size_mb": 2048}})
    assert message.startswith(f"{SOURCE}: serverless: not available with algorithm 'linear-learner'")
    assert "remove serverless" in message
    assert resolve({"serverless": {}}).serverless is not None  # XGBoost keeps its serverless form


def test_a_misspelt_algorithm_is_named_with_a_suggestion():
    assert error_of({"algorithm": "linear_learner"}) == (
        f"{SOURCE}: algorithm: 'linear_learner' is not one of 'xgboost', 'linear-learner' "
        "(did you mean 'linear-learner'?)"
    )


def test_the_stack_is_blamed_for_its_own_problems_even_when_the_folder_switches_algorithm():
    message = error_of({"algorithm": "linear-learner"}, {"hyperparameters": {"num_round": "0"}})
    assert message.startswith(f"{DEFAULTS_SOURCE}: hyperparameters.num_round (environment variable")


def test_the_schema_lets_an_editor_write_linear_learner_names():
    document = {"algorithm": "linear-learner", "hyperparameters": {"epochs": 10, "l1": "auto", "mini_batch_size": None}}
    assert not list(VALIDATOR.iter_errors(document))
    assert list(VALIDATOR.iter_errors({"algorithm": "linear-learner", "hyperparameters": {"epochz": 1}}))
    assert list(VALIDATOR.iter_errors({"algorithm": "knn"}))


def test_the_losses_sagedrop_allows_are_losses_the_container_trains_for_that_predictor():
    for problem in LINEAR_LEARNER_PROBLEMS.values():
        assert set(problem.losses) <= set(ll.LOSSES[problem.predictor_type])
    assert [problem.predictor_type for problem in LINEAR_LEARNER_PROBLEMS.values()] == list(ll.PREDICTOR_TYPES)


def _valid_value(spec: ll.HyperparameterSpec):
    """A value the documented table accepts for ``spec`` (in the form a sagedrop.json may write it)."""
    if spec.kind == "enum":
        return st.sampled_from(spec.words)
    if spec.kind == "free":
        return st.text(min_size=1, max_size=5).filter(str.strip)
    low = spec.low if spec.low is not None else -1e6
    high = spec.high if spec.high is not None else 1e6
    if spec.kind == "int":
        number = st.integers(int(low) + (1 if spec.low_open else 0), int(high) - (1 if spec.high_open else 0))
    else:
        number = st.floats(low, high, exclude_min=spec.low_open, exclude_max=spec.high_open, allow_nan=False)
    return number | st.sampled_from(spec.words) if spec.words else number


@st.composite
def linear_learner_documents(draw):
    problem_type = draw(st.sampled_from(list(ProblemType)))
    names = draw(st.sets(st.sampled_from([name for name in ll.allowed_names() if name != "loss"]), max_size=6))
    hyperparameters = {name: draw(_valid_value(ll.SPECS[name])) for name in names}
    if draw(st.booleans()):
        hyperparameters["loss"] = draw(st.sampled_from(["auto", *LINEAR_LEARNER_PROBLEMS[problem_type].losses]))
    return {"algorithm": "linear-learner", "problem_type": problem_type.value, "hyperparameters": hyperparameters}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linear_learner_documents())
def test_what_the_run_configuration_accepts_the_container_accepts(document):
    # One declaration: a config that passes here never fails the job's hyperparameter validation
    # once sagedrop adds predictor_type, feature_dim and num_classes.
    assert not list(VALIDATOR.iter_errors(document))
    config = resolve(document)
    problem_type = ProblemType(document["problem_type"])
    sent = {name: str(value) for name, value in config.hyperparameters.items()}
    sent["predictor_type"] = LINEAR_LEARNER_PROBLEMS[problem_type].predictor_type
    sent["feature_dim"] = "12"
    if problem_type is ProblemType.MULTICLASS:
        sent["num_classes"] = "3"

    values = container.validate(sent)

    assert values["loss"] in LINEAR_LEARNER_PROBLEMS[problem_type].losses
    carried = json.loads(json.dumps(config.as_dict()))
    assert RunConfig.from_dict(carried) == config


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(ll.allowed_names())), st.text(max_size=6))
def test_a_value_the_run_configuration_refuses_the_container_refuses(name, value):
    sent = {"predictor_type": "regressor", name: value}
    try:
        resolve({"algorithm": "linear-learner", "problem_type": "regression", "hyperparameters": {name: value}})
    except InvalidConfigError as error:
        if f"hyperparameters.{name}: " in str(error) and "is not valid" in str(error):
            with pytest.raises(container.ClientError):
                container.validate(sent)
