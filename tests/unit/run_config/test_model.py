"""RunConfig as a pydantic model: round trips, the generated schema, immutability, blame, the environment."""

from __future__ import annotations

import copy
import json
import pickle

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from sagedrop.errors import InvalidConfigError
from sagedrop.problem_types import XGBOOST_OBJECTIVES, ProblemType
from sagedrop.run_config import (
    DEFAULTS_SOURCE,
    RunConfig,
    defaults_from_environment,
    json_schema,
    parse_override,
    resolve_run_config,
    stack_defaults,
)
from sagedrop.run_config.hyperparameters import (
    XGBOOST_ALIASES,
    XGBOOST_METRICS,
    XGBOOST_VALUE_RULES,
    allowed_names,
)
from sagedrop.run_config.model import INSTANCE_TYPE_PATTERN

from .test_run_config import config_like

SOURCE = "incoming/bank/sagedrop.json"
VALIDATOR = jsonschema.Draft202012Validator(json_schema())

hyperparameter_values = (
    st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.booleans()
    | st.text(min_size=1, max_size=8).filter(str.strip)
)


def valid_value(name: str) -> st.SearchStrategy:
    """A value the XGBoost container accepts for ``name``, as a user writes it (number, boolean or text)."""
    rule = XGBOOST_VALUE_RULES[XGBOOST_ALIASES.get(name, name)]
    if rule.kind == "choice":
        return st.sampled_from(rule.choices) | (
            st.booleans() if set(rule.choices) == {"true", "false"} else st.nothing()
        )
    if rule.kind == "metrics":  # auc only suits binary problems: left out, the problem type is random
        metrics = sorted(XGBOOST_METRICS - {"auc"})
        return st.lists(st.sampled_from(metrics), min_size=1, max_size=3, unique=True).map(",".join)
    if rule.kind == "free":
        return hyperparameter_values
    if name == "base_score":  # (0, 1) whatever the problem type
        return st.floats(0.01, 0.99)
    low, high = rule.low, rule.high
    if rule.kind == "int":
        low = None if low is None else int(low) + int(rule.low_open)
        high = None if high is None else int(high) - int(rule.high_open)
        return st.integers(low, high) | st.integers(low, high).map(str)
    return st.floats(
        low, high, exclude_min=rule.low_open, exclude_max=rule.high_open, allow_nan=False, allow_infinity=False
    )


@st.composite
def valid_documents(draw) -> dict:
    """A sagedrop.json the model accepts, in the form a user writes (numbers for hyperparameters, …)."""
    problem_type = draw(st.none() | st.sampled_from(list(ProblemType)))
    names = [name for name in allowed_names() if name not in ("objective", "num_round")]
    chosen = draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
    hyperparameters = {name: draw(valid_value(name)) for name in chosen}
    hyperparameters["num_round"] = draw(st.integers(1, 5000) | st.integers(1, 5000).map(str))
    if problem_type is not None and draw(st.booleans()):
        hyperparameters["objective"] = draw(st.sampled_from(XGBOOST_OBJECTIVES[problem_type].allowed))
    train = draw(st.floats(0.05, 0.9))
    validation = draw(st.floats(0.0, 0.95 - train))
    document = {
        "label": draw(st.none() | st.text(min_size=1, max_size=10)),
        "problem_type": None if problem_type is None else problem_type.value,
        "hyperparameters": hyperparameters,
        "training_instance_type": draw(st.from_regex(INSTANCE_TYPE_PATTERN, fullmatch=True)),
        "training_instance_count": draw(st.integers(1, 20)),
        "endpoint_instance_type": draw(st.from_regex(INSTANCE_TYPE_PATTERN, fullmatch=True)),
        "serverless": draw(
            st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "memory_size_mb": st.sampled_from([1024, 2048, 3072, 4096, 5120, 6144]),
                    "max_concurrency": st.integers(1, 200),
                },
            )
        ),
        "split": {"train": train, "validation": validation, "test": 1.0 - train - validation},
        "seed": draw(st.integers(0, 2**32 - 1)),
        "keep_endpoint": draw(st.booleans()),
        "use_spot": draw(st.booleans()),
        "max_runtime_seconds": draw(st.integers(60, 432000)),
        "tuning": draw(
            st.none()
            | st.integers(1, 500).flatmap(
                lambda jobs: st.fixed_dictionaries(
                    {"max_jobs": st.just(jobs), "max_parallel_jobs": st.integers(1, min(jobs, 10))}
                )
            )
        ),
        "delimiter": draw(st.sampled_from([None, ",", ";", "\t", "|"])),
        "data_checks": {
            "acknowledge": draw(st.lists(st.text(min_size=1, max_size=8), max_size=3)),
            "enabled": draw(st.booleans()),
        },
        "balance_classes": draw(st.booleans()),
        "decision_threshold": draw(
            st.sampled_from([{}, {"metric": "balanced_accuracy"}])
            | st.fixed_dictionaries({"value": st.floats(0, 1)})
            | st.fixed_dictionaries(
                {
                    "metric": st.just("cost"),
                    "cost": st.fixed_dictionaries(
                        {"false_positive": st.floats(0, 100), "false_negative": st.floats(0, 100)}
                    ),
                }
            )
        ),
    }
    keys = draw(st.sets(st.sampled_from(sorted(document))))
    if "split" in keys and validation == 0:
        keys.discard("tuning")  # tuning needs a validation split
    if "problem_type" not in keys:
        hyperparameters.pop("objective", None)
    return {key: value for key, value in document.items() if key in keys}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_documents())
def test_a_valid_config_round_trips_and_its_dict_fits_the_schema(document):
    # The generated schema accepts what a user may write …
    assert not list(VALIDATOR.iter_errors(document))
    config = resolve_run_config({}, parse_override(json.dumps(document), SOURCE), SOURCE)
    carried = json.loads(json.dumps(config.as_dict()))
    # … and the effective config as the state machine carries it, which reads back to the same config.
    assert not list(VALIDATOR.iter_errors(carried))
    assert RunConfig.from_dict(carried) == config
    assert RunConfig.model_validate(carried) == config
    assert RunConfig.from_dict(carried).as_dict() == carried
    for key, value in document.items():
        if key not in ("hyperparameters", "serverless", "split", "problem_type", "decision_threshold"):
            assert carried[key] == value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_like)
def test_what_the_schema_rejects_the_model_rejects(document):
    # An editor using the schema never passes a file the run would then refuse for a schema reason.
    if list(VALIDATOR.iter_errors(document)):
        with pytest.raises(InvalidConfigError):
            resolve_run_config({}, document, SOURCE)


def test_the_config_is_immutable_hashable_and_copyable():
    config = resolve_run_config({}, {"serverless": {}, "label": "y"}, SOURCE)
    with pytest.raises(ValidationError):
        config.label = "x"
    with pytest.raises(TypeError):
        config.hyperparameters["eta"] = "0.3"
    with pytest.raises(ValidationError):
        config.split.train = 0.5
    assert hash(config) == hash(RunConfig.from_dict(config.as_dict()))
    assert copy.deepcopy(config) == config
    assert pickle.loads(pickle.dumps(config)) == config
    assert config.hyperparameters == dict(config.hyperparameters)


def test_it_is_a_field_of_another_model():
    class Prepared(BaseModel):
        config: RunConfig

    config = resolve_run_config({}, {"problem_type": "regression", "seed": 3}, SOURCE)
    document = json.loads(Prepared(config=config).model_dump_json())
    assert document["config"] == config.as_dict()
    assert Prepared.model_validate(document).config == config
    with pytest.raises(ValidationError, match="hyperparameters.etaa: unknown XGBoost hyperparameter"):
        Prepared.model_validate({"config": {**config.as_dict(), "hyperparameters": {"etaa": "1", "num_round": "2"}}})


def test_attributes_read_as_before():
    config = resolve_run_config(
        {}, {"problem_type": "binary_classification", "serverless": {"max_concurrency": 9}}, "s"
    )
    assert config.problem_type == "binary_classification" and config.problem_type is ProblemType.BINARY
    assert (config.serverless.memory_size_mb, config.serverless.max_concurrency) == (2048, 9)
    assert (config.split.train, config.split.validation, config.split.test) == (0.7, 0.15, 0.15)
    assert all(isinstance(value, str) for value in config.hyperparameters.values())


def test_each_problem_is_blamed_on_the_layer_that_wrote_the_key():
    # The stack chose an objective for regressions; the folder asks for a binary classification and
    # misspells a hyperparameter: the objective is the stack's problem, the typo the folder's.
    defaults = {"problem_type": "regression", "hyperparameters": {"objective": "reg:gamma", "num_round": "5"}}
    with pytest.raises(InvalidConfigError) as caught:
        resolve_run_config(defaults, {"problem_type": "binary_classification", "hyperparameters": {"etaa": 1}}, SOURCE)
    assert str(caught.value) == (
        f"{SOURCE}: hyperparameters.etaa: unknown XGBoost hyperparameter 'etaa' (did you mean 'eta'?); "
        f"{DEFAULTS_SOURCE}: hyperparameters.objective (environment variable DEFAULT_HYPERPARAMETERS): "
        "'reg:gamma' does not fit problem_type 'binary_classification' (allowed: binary:logistic)"
    )


def test_removing_num_round_is_the_folders_problem():
    with pytest.raises(InvalidConfigError) as caught:
        resolve_run_config({"hyperparameters": {"num_round": "5"}}, {"hyperparameters": {"num_round": None}}, SOURCE)
    assert (
        str(caught.value)
        == f"{SOURCE}: hyperparameters.num_round: XGBoost requires num_round (the number of boosting rounds)"
    )


def test_stack_hyperparameters_replace_the_builtin_set_and_nulls_drop_out():
    config = resolve_run_config({"hyperparameters": {"num_round": 7, "eta": None}}, None, SOURCE)
    assert dict(config.hyperparameters) == {"num_round": "7"}


@pytest.mark.parametrize(("key", "variable"), [(key, stack.variable) for key, stack in stack_defaults().items()])
def test_each_stack_default_is_read_from_its_variable_and_named_when_bad(key, variable):
    default = RunConfig.model_fields[key].default
    text = json.dumps(dict(default)) if key == "hyperparameters" else str(RunConfig().as_dict()[key]).lower()
    assert defaults_from_environment({variable: text}) == {key: RunConfig().as_dict()[key]}
    with pytest.raises(InvalidConfigError) as caught:
        resolve_run_config(defaults_from_environment({variable: "not valid {"}), None, SOURCE)
    assert str(caught.value).startswith(f"{DEFAULTS_SOURCE}: ")
    assert variable in str(caught.value)


def test_only_set_variables_become_defaults():
    assert defaults_from_environment({}) == {}
    assert defaults_from_environment({"KEEP_ENDPOINT": "", "UNRELATED": "1"}) == {}


@pytest.mark.parametrize("depth", [17, 200, 100_000])
def test_deep_nesting_is_rejected_without_recursion(depth):
    text = '{"a": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(InvalidConfigError, match=f"{SOURCE}: nested more than 16 levels deep"):
        parse_override(text, SOURCE)


def test_nesting_up_to_the_limit_reaches_the_key_checks():
    text = '{"a": ' + "[" * 15 + "]" * 15 + "}"
    assert parse_override(text, SOURCE)["a"]
    with pytest.raises(InvalidConfigError, match="unknown key 'a'"):
        resolve_run_config({}, parse_override(text, SOURCE), SOURCE)
