"""CleanupSettings: defaults, and a named InvalidConfigError for every bad value."""

from __future__ import annotations

import pytest

from sagedrop.cleanup import CleanupSettings
from sagedrop.errors import InvalidConfigError

REQUIRED = {
    "DATA_BUCKET": "bucket",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:topic",
    "STACK_NAME": "sagedrop",
}


def test_defaults():
    settings = CleanupSettings.from_environ(REQUIRED)
    assert (settings.lookback_hours, settings.grace_hours, settings.max_deletions) == (24, 24, 10)
    assert settings.include_serverless is False
    assert settings.opt_in_tag is None
    assert (settings.log_group_max_idle_days, settings.log_group_retention_days) == (30, 30)


def test_every_variable_is_read():
    env = {
        **REQUIRED,
        "CLEANUP_LOOKBACK_HOURS": "48",
        "CLEANUP_GRACE_HOURS": "6",
        "CLEANUP_MAX_DELETIONS": "0",
        "CLEANUP_INCLUDE_SERVERLESS": "true",
        "CLEANUP_OPT_IN_TAG": " team = ml ",
        "LOG_GROUP_MAX_IDLE_DAYS": "90",
        "LOG_GROUP_RETENTION_DAYS": "14",
    }
    settings = CleanupSettings.from_environ(env)
    assert settings.as_dict() == {
        "data_bucket": "bucket",
        "notification_topic_arn": REQUIRED["NOTIFICATION_TOPIC_ARN"],
        "stack_name": "sagedrop",
        "lookback_hours": 48,
        "grace_hours": 6,
        "max_deletions": 0,
        "include_serverless": True,
        "opt_in_tag": "team=ml",
        "log_group_max_idle_days": 90,
        "log_group_retention_days": 14,
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATA_BUCKET", ""),
        ("STACK_NAME", " "),
        ("NOTIFICATION_TOPIC_ARN", ""),
        ("NOTIFICATION_TOPIC_ARN", "my-topic"),
        ("CLEANUP_LOOKBACK_HOURS", "a day"),
        ("CLEANUP_LOOKBACK_HOURS", "0"),
        ("CLEANUP_LOOKBACK_HOURS", "100000"),
        ("CLEANUP_GRACE_HOURS", "-1"),
        ("CLEANUP_MAX_DELETIONS", "ten"),
        ("CLEANUP_INCLUDE_SERVERLESS", "maybe"),
        ("CLEANUP_OPT_IN_TAG", "team"),
        ("CLEANUP_OPT_IN_TAG", "=ml"),
        ("LOG_GROUP_MAX_IDLE_DAYS", "0"),
        ("LOG_GROUP_RETENTION_DAYS", "31"),
    ],
)
def test_bad_value_names_the_variable(variable, value):
    with pytest.raises(InvalidConfigError, match=variable):
        CleanupSettings.from_environ({**REQUIRED, variable: value})
