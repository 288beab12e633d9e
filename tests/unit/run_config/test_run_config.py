"""The run configuration: schema, merge order, XGBoost hyperparameter rules, messages naming the key."""

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.errors import InvalidConfigError
from sagedrop.run_config import (
    RunConfig,
    config_key_for,
    defaults_from_environment,
    json_schema,
    parse_override,
    resolve_run_config,
)

SOURCE = "incoming/bank/sagedrop.json"

CONTRACT_SHAPE = {
    "label": None,
    "problem_type": None,
    "algorithm": "xgboost",
    "hyperparameters": {
        "max_depth": "5",
        "eta": "0.05",
        "subsample": "0.8",
        "colsample_bytree": "0.8",
        "num_round": "2000",
        "early_stopping_rounds": "50",
    },
    "training_instance_type": "ml.m5.xlarge",
    "training_instance_count": 1,
    "endpoint_instance_type": "ml.m5.large",
    "serverless": None,
    "split": {"train": 0.7, "validation": 0.15, "test": 0.15},
    "seed": 1729,
    "keep_endpoint": False,
    "use_spot": False,
    "max_runtime_seconds": 3600,
    "tuning": None,
    "delimiter": None,
    "balance_classes": False,
    "decision_threshold": {"metric": "f1", "cost": None, "value": None},
    "data_checks": {"acknowledge": [], "enabled": True},
}


def resolve(text: str, defaults: dict | None = None) -> RunConfig:
    return resolve_run_config(defaults or {}, parse_override(text, SOURCE), SOURCE)


def error_of(text: str, defaults: dict | None = None) -> str:
    with pytest.raises(InvalidConfigError) as caught:
        resolve(text, defaults)
    return str(caught.value)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert json_schema()["additionalProperties"] is False


def test_without_override_gives_the_contract_shape():
    config = resolve_run_config({}, None, SOURCE)
    assert config.as_dict() == CONTRACT_SHAPE
    assert json.loads(json.dumps(config.as_dict())) == CONTRACT_SHAPE
    assert list(config.as_dict()) == list(CONTRACT_SHAPE)


def test_as_dict_round_trips_through_from_dict():
    config = resolve('{"label": "y", "serverless": {"memory_size_mb": 3072}, "seed": 7}')
    assert RunConfig.from_dict(config.as_dict()) == config


def test_from_dict_rejects_incomplete_documents():
    with pytest.raises(InvalidConfigError, match="missing key"):
        RunConfig.from_dict({"label": "y"})


def test_override_replaces_values_and_merges_hyperparameters():
    config = resolve("""{"label": "target", "problem_type": "regression", "seed": 0, "keep_endpoint": true,
        "hyperparameters": {"eta": 0.1, "max_depth": 6.0, "subsample": null, "num_round": 100,
                            "objective": "reg:absoluteerror"},
        "split": {"train": 0.8, "validation": 0, "test": 0.2}, "delimiter": ";",
        "serverless": {"memory_size_mb": 4096, "max_concurrency": 20}}""")
    assert config.label == "target"
    assert config.keep_endpoint is True
    assert config.seed == 0
    assert dict(config.hyperparameters) == {
        "max_depth": "6",
        "eta": "0.1",
        "colsample_bytree": "0.8",
        "num_round": "100",
        "early_stopping_rounds": "50",
        "objective": "reg:absoluteerror",
    }
    assert config.split.as_dict() == {"train": 0.8, "validation": 0.0, "test": 0.2}
    assert config.serverless.as_dict() == {"memory_size_mb": 4096, "max_concurrency": 20}
    assert config.delimiter == ";"


def test_serverless_defaults_fill_missing_keys():
    assert resolve('{"serverless": {}}').serverless.as_dict() == {
        "memory_size_mb": 2048,
        "max_concurrency": 5,
    }


def test_booleans_become_lowercase_strings():
    assert (
        resolve('{"hyperparameters": {"save_model_on_termination": true}}').hyperparameters["save_model_on_termination"]
        == "true"
    )


def test_stack_defaults_sit_between_builtin_and_override():
    defaults = {
        "hyperparameters": {"num_round": "10", "eta": "0.3"},
        "training_instance_type": "ml.c5.2xlarge",
    }
    config = resolve('{"hyperparameters": {"max_depth": 3}}', defaults)
    # The stack's hyperparameters replace the built-in set; the folder's merge over them.
    assert dict(config.hyperparameters) == {"num_round": "10", "eta": "0.3", "max_depth": "3"}
    assert config.training_instance_type == "ml.c5.2xlarge"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"split": {"train": 1.4, "validation": 0, "test": 0.1}}',
            f"{SOURCE}: split.train: 1.4 is greater than the maximum of 1",
        ),
        ('{"lable": "y"}', "unknown key 'lable' (did you mean 'label'?)"),
        (
            '{"split": {"trian": 0.7, "train": 0.7, "validation": 0.15, "test": 0.15}}',
            "split: unknown key 'trian' (did you mean 'train'?)",
        ),
        ('{"split": {"train": 0.5, "validation": 0.1, "test": 0.1}}', "must add up to 1"),
        (
            '{"split": {"train": 0.0, "validation": 0.5, "test": 0.5}}',
            "split.train: 0.0 is less than or equal",
        ),
        ('{"split": {"train": 1, "validation": 0, "test": 0}}', "split.test: 0 is less than or equal"),
        ('{"split": {"train": 0.8}}', "split: 'validation' is a required property"),
        ('{"problem_type": "binary"}', "problem_type: 'binary' is not one of"),
        ('{"training_instance_type": "m5.large"}', "training_instance_type: 'm5.large' is not a SageMaker"),
        ('{"endpoint_instance_type": "ml.m5"}', "endpoint_instance_type: 'ml.m5' is not a SageMaker"),
        (
            '{"serverless": {"memory_size_mb": 1500}}',
            "serverless.memory_size_mb: 1500 is not a multiple of 1024",
        ),
        ('{"serverless": {"memory_size_mb": 8192}}', "serverless.memory_size_mb: 8192 is greater than"),
        ('{"serverless": {"max_concurrency": 0}}', "serverless.max_concurrency: 0 is less than"),
        ('{"serverless": {"max_concurrency": 201}}', "serverless.max_concurrency: 201 is greater than"),
        ('{"seed": -1}', "seed: -1 is less than the minimum of 0"),
        ('{"seed": 1.5}', "seed: 1.5 is not of type 'integer'"),
        ('{"max_runtime_seconds": 59}', "max_runtime_seconds: 59 is less than the minimum of 60"),
        ('{"max_runtime_seconds": 432001}', "max_runtime_seconds: 432001 is greater than"),
        ('{"keep_endpoint": "yes"}', "keep_endpoint: 'yes' is not of type 'boolean'"),
        ('{"delimiter": ":"}', "delimiter: ':' is not one of"),
        ('{"label": ""}', "label: '' should be non-empty"),
        ('{"hyperparameters": {"silent": 1}}', "hyperparameters.silent: 'silent' was removed"),
        ('{"hyperparameters": {"silent": 1}}', "use 'verbosity'"),
        (
            '{"hyperparameters": {"max_dept": 3}}',
            "unknown XGBoost hyperparameter 'max_dept' (did you mean 'max_depth'?)",
        ),
        (
            '{"hyperparameters": {"num_class": 3}}',
            "hyperparameters.num_class: 'num_class' is set by sagedrop",
        ),
        ('{"hyperparameters": {"objective": "binary:logistic"}}', "also set problem_type"),
        (
            '{"problem_type": "regression", "hyperparameters": {"objective": "binary:logistic"}}',
            "'binary:logistic' does not fit problem_type 'regression'",
        ),
        ('{"hyperparameters": {"csv_weights": 1}}', "no instance-weight column"),
        ('{"hyperparameters": {"num_round": null}}', "hyperparameters.num_round: XGBoost requires num_round"),
        ('{"hyperparameters": {"num_round": "ten"}}', "'ten' is not a whole number"),
        ('{"hyperparameters": {"eta": ""}}', "hyperparameters.eta: the value is empty"),
        ('{"hyperparameters": {"eta": [0.1]}}', "hyperparameters.eta: [0.1] is not of type"),
        ('{"hyperparameters": 5}', "hyperparameters: 5 is not of type 'object'"),
    ],
)
def test_each_bad_value_names_the_file_and_the_key(text, expected):
    message = error_of(text)
    assert message.startswith(SOURCE + ": ")
    assert expected in message


def test_several_problems_are_reported_together():
    message = error_of('{"seed": -1, "lable": "y"}')
    assert "seed: -1" in message and "unknown key 'lable'" in message
    assert message.count(SOURCE) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"label": "y",', "invalid JSON at line 1 column 15"),
        ('{\n  "label": "y"\n  "seed": 1\n}', "invalid JSON at line 3 column 3"),
        ("", "the file is empty"),
        ("[1, 2]", "must be a JSON object"),
        ('"label"', "must be a JSON object"),
        ('{"seed": NaN}', "NaN is not valid JSON"),
        ('{"label": "a", "label": "b"}', "duplicate key 'label'"),
    ],
)
def test_parse_override_rejects_bad_json_with_position(text, expected):
    with pytest.raises(InvalidConfigError) as caught:
        parse_override(text, SOURCE)
    assert str(caught.value).startswith(SOURCE + ": ")
    assert expected in str(caught.value)


def test_parse_override_accepts_bytes_with_bom_and_rejects_non_utf8():
    assert parse_override('\ufeff{"seed": 3}'.encode(), SOURCE) == {"seed": 3}
    with pytest.raises(InvalidConfigError, match="not UTF-8"):
        parse_override(b'{"label": "\xff"}', SOURCE)


def test_bad_stack_defaults_name_the_environment_variable():
    defaults = defaults_from_environment(
        {"MAX_TRAINING_SECONDS": "30", "DEFAULT_HYPERPARAMETERS": '{"num_round": "5"}'}
    )
    with pytest.raises(InvalidConfigError) as caught:
        resolve_run_config(defaults, None, SOURCE)
    assert str(caught.value) == (
        "stack defaults: max_runtime_seconds (environment variable MAX_TRAINING_SECONDS): "
        "30 is less than the minimum of 60"
    )
    with pytest.raises(InvalidConfigError, match="environment variable DEFAULT_HYPERPARAMETERS.*silent"):
        resolve_run_config({"hyperparameters": {"silent": "0", "num_round": "5"}}, None, SOURCE)


def test_defaults_from_environment():
    assert defaults_from_environment(
        {
            "TRAINING_INSTANCE_TYPE": "ml.c5.xlarge",
            "USE_SPOT_TRAINING": "True",
            "KEEP_ENDPOINT": "false",
            "DEFAULT_HYPERPARAMETERS": '{"num_round": "9"}',
            "MAX_TRAINING_SECONDS": "600",
            "ENDPOINT_INSTANCE_TYPE": "",
        }
    ) == {
        "training_instance_type": "ml.c5.xlarge",
        "use_spot": True,
        "keep_endpoint": False,
        "hyperparameters": {"num_round": "9"},
        "max_runtime_seconds": 600,
    }
    with pytest.raises(InvalidConfigError, match="USE_SPOT_TRAINING: 'maybe'"):
        defaults_from_environment({"USE_SPOT_TRAINING": "maybe"})
    with pytest.raises(InvalidConfigError, match="DEFAULT_HYPERPARAMETERS: invalid JSON"):
        defaults_from_environment({"DEFAULT_HYPERPARAMETERS": "{num_round: 5}"})


def test_config_key_is_in_the_folder_of_the_csv():
    assert config_key_for("incoming/bank/bank-full.csv") == "incoming/bank/sagedrop.json"
    assert config_key_for("incoming/x.csv") == "incoming/sagedrop.json"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
config_like = st.fixed_dictionaries(
    {},
    optional={
        "label": st.none() | st.text(max_size=5),
        "problem_type": st.sampled_from(["binary_classification", "regression", "multiclass_classification", "x"]),
        "hyperparameters": st.dictionaries(
            st.sampled_from(["eta", "num_round", "objective", "silent", "max_depth", "num_class", "etaa"]),
            json_values,
            max_size=4,
        ),
        "split": st.fixed_dictionaries({"train": json_values, "validation": json_values, "test": json_values}),
        "serverless": st.none() | st.dictionaries(st.sampled_from(["memory_size_mb", "max_concurrency"]), json_values),
        "seed": json_values,
        "max_runtime_seconds": json_values,
        "tuning": st.none()
        | json_values
        | st.dictionaries(st.sampled_from(["max_jobs", "max_parallel_jobs", "x"]), json_values, max_size=3),
        "delimiter": json_values,
        "data_checks": json_values
        | st.dictionaries(st.sampled_from(["acknowledge", "enabled", "x"]), json_values, max_size=3),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, config_like))
def test_validator_never_crashes_on_arbitrary_json(document):
    # Either a valid configuration or an InvalidConfigError naming the source — nothing else.
    text = json.dumps(document)
    try:
        config = resolve_run_config({}, parse_override(text, SOURCE), SOURCE)
    except InvalidConfigError as error:
        assert str(error).startswith(SOURCE)
    else:
        assert json.loads(json.dumps(config.as_dict())) == config.as_dict()
