"""The data_checks key: the data gate's acknowledgements and switch, with messages that name the key."""

from __future__ import annotations

import pytest

from sagedrop.errors import InvalidConfigError
from sagedrop.run_config import RunConfig, resolve_run_config

SOURCE = "incoming/bank/sagedrop.json"


def resolve(override: dict) -> RunConfig:
    return resolve_run_config({}, override, SOURCE)


def test_by_default_the_gate_is_on_and_acknowledges_nothing():
    checks = resolve({}).data_checks
    assert checks.enabled is True and checks.acknowledge == ()


def test_missing_keys_take_their_defaults_and_the_dict_round_trips():
    config = resolve({"data_checks": {"acknowledge": ["duration", "pdays"]}})
    assert config.data_checks.acknowledge == ("duration", "pdays") and config.data_checks.enabled is True
    carried = config.as_dict()
    assert carried["data_checks"] == {"acknowledge": ["duration", "pdays"], "enabled": True}
    assert RunConfig.from_dict(carried) == config
    assert hash(RunConfig.from_dict(carried)) == hash(config)


@pytest.mark.parametrize(
    ("data_checks", "expected"),
    [
        ({"acknowledge": "duration"}, "data_checks.acknowledge: 'duration' is not of type 'array'"),
        ({"acknowledge": [""]}, "data_checks.acknowledge.0: '' should be non-empty"),
        ({"acknowledge": [7]}, "data_checks.acknowledge.0: 7 is not of type 'string'"),
        ({"enabled": "no"}, "data_checks.enabled: 'no' is not of type 'boolean'"),
        ({"acknowledged": ["x"]}, "data_checks: unknown key 'acknowledged' (did you mean 'acknowledge'?)"),
        ([], "data_checks: [] is not of type 'object'"),
    ],
)
def test_a_bad_value_is_named_with_its_key(data_checks, expected):
    with pytest.raises(InvalidConfigError) as caught:
        resolve({"data_checks": data_checks})
    assert str(caught.value) == f"{SOURCE}: {expected}"
