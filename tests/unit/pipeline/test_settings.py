"""Settings: a broken deployment fails at cold start with the variable's name in the message."""

from __future__ import annotations

import pytest

from sagedrop.errors import InvalidConfigError
from sagedrop.settings import PipelineSettings, StarterSettings

PIPELINE_ENV = {
    "DATA_BUCKET": "sagedrop-test-data",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:runs",
    "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sm",
    "STACK_NAME": "sagedrop-test",
    "AWS_REGION": "eu-west-1",
    "XGBOOST_VERSION": "1.7-1",
    "TRAINING_INSTANCE_TYPE": "ml.m5.2xlarge",
    "DEFAULT_HYPERPARAMETERS": '{"max_depth": "3", "num_round": "10"}',
    "MAX_TRAINING_SECONDS": "1800",
    "USE_SPOT_TRAINING": "true",
    "KEEP_ENDPOINT": "false",
    "MAX_CONCURRENT_TRAINING_JOBS": "4",
}
STARTER_ENV = {
    "STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:p",
    "POLL_INTERVAL_SECONDS": "5",
    "MAX_POLLS": "7",
}


def test_pipeline_settings_read_every_variable():
    settings = PipelineSettings.from_environ(PIPELINE_ENV)

    assert settings.data_bucket == "sagedrop-test-data"
    assert settings.notification_topic_arn == PIPELINE_ENV["NOTIFICATION_TOPIC_ARN"]
    assert settings.sagemaker_role_arn == PIPELINE_ENV["SAGEMAKER_ROLE_ARN"]
    assert settings.stack_name == "sagedrop-test"
    assert settings.region == "eu-west-1"
    assert settings.xgboost_version == "1.7-1"
    assert settings.run_config_defaults["training_instance_type"] == "ml.m5.2xlarge"
    assert settings.run_config_defaults["max_runtime_seconds"] == 1800
    assert settings.run_config_defaults["use_spot"] is True
    assert settings.run_config_defaults["keep_endpoint"] is False
    assert settings.run_config_defaults["hyperparameters"] == {"max_depth": "3", "num_round": "10"}
    assert settings.max_concurrent_training_jobs == 4


def test_optional_pipeline_variables_have_defaults():
    required = {
        k: PIPELINE_ENV[k] for k in ("DATA_BUCKET", "NOTIFICATION_TOPIC_ARN", "SAGEMAKER_ROLE_ARN", "STACK_NAME")
    }

    settings = PipelineSettings.from_environ(required)

    assert settings.xgboost_version == "3.0-5"
    assert settings.region == "us-east-1"
    assert settings.run_config_defaults == {}
    assert settings.max_concurrent_training_jobs == 0  # no limit of ours: SageMaker's quota decides


@pytest.mark.parametrize("name", ["DATA_BUCKET", "NOTIFICATION_TOPIC_ARN", "SAGEMAKER_ROLE_ARN", "STACK_NAME"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_required_pipeline_variable_is_named(name, value):
    env = dict(PIPELINE_ENV)
    if value is None:
        del env[name]
    else:
        env[name] = value

    with pytest.raises(InvalidConfigError, match=name):
        PipelineSettings.from_environ(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_TRAINING_SECONDS", "an hour"),
        ("USE_SPOT_TRAINING", "yes"),
        ("KEEP_ENDPOINT", "1"),
        ("DEFAULT_HYPERPARAMETERS", "{not json"),
        ("DEFAULT_HYPERPARAMETERS", '{"silent": "1"}'),
        ("TRAINING_INSTANCE_TYPE", "m5.xlarge"),
        ("ENDPOINT_INSTANCE_TYPE", "large"),
    ],
)
def test_a_malformed_run_default_is_named(name, value):
    env = {**PIPELINE_ENV, name: value}

    with pytest.raises(InvalidConfigError, match=name):
        PipelineSettings.from_environ(env)


@pytest.mark.parametrize("value", ["two", "1.5", "-1"])
def test_a_malformed_training_job_limit_is_named(value):
    with pytest.raises(InvalidConfigError, match="MAX_CONCURRENT_TRAINING_JOBS"):
        PipelineSettings.from_environ({**PIPELINE_ENV, "MAX_CONCURRENT_TRAINING_JOBS": value})


@pytest.mark.parametrize(("name", "value"), [("XGBOOST_VERSION", "9.9-9"), ("AWS_REGION", "xx-nowhere-1")])
def test_an_unknown_image_version_or_region_fails_at_cold_start(name, value):
    env = {**PIPELINE_ENV, name: value}

    with pytest.raises(InvalidConfigError, match=name):
        PipelineSettings.from_environ(env)


def test_starter_settings_read_every_variable():
    settings = StarterSettings.from_environ(STARTER_ENV)

    assert settings.state_machine_arn == STARTER_ENV["STATE_MACHINE_ARN"]
    assert (settings.poll_interval_seconds, settings.max_polls) == (5, 7)
    assert settings.incoming_prefix == "incoming/"


def test_starter_poll_variables_have_defaults():
    settings = StarterSettings.from_environ({"STATE_MACHINE_ARN": STARTER_ENV["STATE_MACHINE_ARN"]})

    assert settings.poll_interval_seconds >= 1
    assert settings.max_polls >= 1


def test_a_missing_state_machine_arn_is_named():
    with pytest.raises(InvalidConfigError, match="STATE_MACHINE_ARN"):
        StarterSettings.from_environ({"POLL_INTERVAL_SECONDS": "5"})


@pytest.mark.parametrize(
    ("name", "value"),
    [(name, value) for name in ("POLL_INTERVAL_SECONDS", "MAX_POLLS") for value in ("soon", "1.5", "-3")]
    + [("MAX_POLLS", "0")],
)
def test_a_malformed_poll_variable_is_named(name, value):
    with pytest.raises(InvalidConfigError, match=name):
        StarterSettings.from_environ({**STARTER_ENV, name: value})


def test_a_zero_poll_interval_is_accepted_for_a_sagemaker_whose_describe_waits():
    # The local cloud's loops wait 0 s; its SageMaker's Describe waits for a status change instead.
    settings = StarterSettings.from_environ({**STARTER_ENV, "POLL_INTERVAL_SECONDS": "0"})

    assert settings.poll_interval_seconds == 0


def test_settings_read_os_environ_by_default(monkeypatch):
    for name, value in PIPELINE_ENV.items():
        monkeypatch.setenv(name, value)

    assert PipelineSettings.from_environ().data_bucket == PIPELINE_ENV["DATA_BUCKET"]
