"""`sagedrop local run --config FILE`: the file is read exactly as a folder's sagedrop.json."""

from __future__ import annotations

import pytest

from sagedrop.errors import InvalidConfigError
from sagedrop_local.cli import load_run_config, main


def write(tmp_path, text: str):
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        # Each of these was a TypeError, silently ignored, accepted or a RecursionError before.
        ("null", "y", "must be a JSON object ({…}), not null"),
        ("null", None, "must be a JSON object ({…}), not null"),
        ("[]", None, "must be a JSON object ({…}), not an array"),
        ('{"label": "a", "label": "b"}', None, "duplicate key 'label'"),
        ("[" * 100_000 + "]" * 100_000, None, "nested more than 16 levels deep"),
        ('{"hyperparameters": ' * 30 + "{}" + "}" * 30, None, "nested more than 16 levels deep"),
        ("", "y", "the file is empty"),
        ('{"seed": NaN}', None, "NaN is not valid JSON"),
    ],
)
def test_a_bad_config_file_is_a_named_rejection(tmp_path, text, label, expected):
    path = write(tmp_path, text)
    with pytest.raises(InvalidConfigError) as caught:
        load_run_config(path, label=label)
    message = str(caught.value)
    assert message.startswith(f"--config {path}: ")
    assert expected in message
    assert "\n" not in message


def test_an_unreadable_config_file_is_named(tmp_path):
    missing = str(tmp_path / "absent.json")
    with pytest.raises(InvalidConfigError, match=r"--config .*absent\.json: cannot read the file"):
        load_run_config(missing)


def test_label_and_keep_endpoint_go_over_the_file(tmp_path):
    path = write(tmp_path, '\ufeff{"label": "old", "seed": 3}')
    assert load_run_config(path, label="y", keep_endpoint=True) == {"label": "y", "seed": 3, "keep_endpoint": True}
    assert load_run_config(path) == {"label": "old", "seed": 3}


def test_no_file_and_no_options_uploads_nothing(tmp_path):
    assert load_run_config(None) is None
    assert load_run_config(write(tmp_path, "{}")) is None
    assert load_run_config(None, label="y") == {"label": "y"}


def test_the_command_stops_with_the_one_line_reason_before_starting_a_cloud(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    config = write(tmp_path, "null")
    argv = ["local", "run", str(csv), "--label", "y", "--config", config, "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--state-dir", str(tmp_path / "state")])
    assert exited.value.code == f"sagedrop: --config {config}: must be a JSON object ({{…}}), not null"
    assert not (tmp_path / "state").exists()
