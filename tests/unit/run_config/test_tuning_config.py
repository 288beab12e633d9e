"""The ``tuning`` key: off by default, limits SageMaker accepts, parallel within total, a validation split."""

from __future__ import annotations

import pytest

from sagedrop.errors import InvalidConfigError
from sagedrop.run_config import RunConfig, json_schema, parse_override, resolve_run_config

SOURCE = "incoming/bank/sagedrop.json"


def resolve(text: str) -> RunConfig:
    return resolve_run_config({}, parse_override(text, SOURCE), SOURCE)


def error_of(text: str) -> str:
    with pytest.raises(InvalidConfigError) as caught:
        resolve(text)
    return str(caught.value)


def test_no_tuning_unless_asked():
    assert resolve("{}").tuning is None
    assert resolve('{"tuning": null}').tuning is None


def test_an_empty_object_takes_the_defaults_and_a_partial_one_fills_in():
    assert resolve('{"tuning": {}}').tuning.as_dict() == {"max_jobs": 20, "max_parallel_jobs": 2}
    assert resolve('{"tuning": {"max_jobs": 6}}').tuning.as_dict() == {"max_jobs": 6, "max_parallel_jobs": 2}


def test_the_carried_config_reads_back_with_its_tuning():
    config = resolve('{"tuning": {"max_jobs": 30, "max_parallel_jobs": 3}}')

    carried = config.as_dict()

    assert carried["tuning"] == {"max_jobs": 30, "max_parallel_jobs": 3}
    assert RunConfig.from_dict(carried) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"tuning": {"max_jobs": 0}}', "tuning.max_jobs: 0 is less than the minimum of 1"),
        ('{"tuning": {"max_jobs": 501}}', "tuning.max_jobs: 501 is greater than the maximum of 500"),
        (
            '{"tuning": {"max_jobs": 20, "max_parallel_jobs": 11}}',
            "tuning.max_parallel_jobs: 11 is greater than the maximum of 10",
        ),
        ('{"tuning": {"max_parallel_jobs": 0}}', "tuning.max_parallel_jobs: 0 is less than the minimum of 1"),
        ('{"tuning": {"max_jobs": "20"}}', "tuning.max_jobs: '20' is not of type 'integer'"),
        ('{"tuning": {"max_jobs": 2.5}}', "tuning.max_jobs: 2.5 is not of type 'integer'"),
        ('{"tuning": [20, 2]}', "tuning: [20, 2] is not of type 'object'"),
    ],
)
def test_out_of_range_values_name_the_key(text, message):
    assert message in error_of(text)


def test_a_key_that_is_not_a_tuning_key_is_named_with_a_suggestion():
    message = error_of('{"tuning": {"max_job": 5}}')
    assert "tuning: unknown key 'max_job' (did you mean 'max_jobs'?)" in message


def test_more_parallel_jobs_than_jobs_is_refused():
    message = error_of('{"tuning": {"max_jobs": 3, "max_parallel_jobs": 5}}')
    assert message.startswith(SOURCE)
    assert "max_parallel_jobs (5) may not exceed max_jobs (3)" in message


def test_parallel_equal_to_total_is_fine():
    assert resolve('{"tuning": {"max_jobs": 4, "max_parallel_jobs": 4}}').tuning.max_parallel_jobs == 4


def test_tuning_needs_a_validation_split():
    message = error_of('{"tuning": {}, "split": {"train": 0.8, "validation": 0, "test": 0.2}}')
    assert "tuning: needs a validation split" in message


def test_the_schema_documents_the_limits():
    tuning = json_schema()["$defs"]["TuningConfig"]["properties"]
    assert (tuning["max_jobs"]["minimum"], tuning["max_jobs"]["maximum"]) == (1, 500)
    assert (tuning["max_parallel_jobs"]["minimum"], tuning["max_parallel_jobs"]["maximum"]) == (1, 10)
    assert tuning["max_jobs"]["default"] == 20 and tuning["max_parallel_jobs"]["default"] == 2
