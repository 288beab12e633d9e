"""Operator mistakes end a `sagedrop` command with one line and an exit status, never a traceback."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sagedrop_local.cli import INTERRUPTED_STATUS, main

CSV = "a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(40))


def stopped(argv: list[str]) -> str:
    """The one line a command ended with (SystemExit's message, printed on stderr with status 1)."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    message = exited.value.code
    assert isinstance(message, str) and message.startswith("sagedrop: "), message
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture
def upload(tmp_path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


def run(path, tmp_path, *extra: str) -> list[str]:
    return ["local", "run", str(path), "--state-dir", str(tmp_path / "state"), *extra]


def test_a_directory_given_as_the_csv(tmp_path):
    assert stopped(run(tmp_path, tmp_path)) == f"sagedrop: {tmp_path}: is a directory; give the CSV file"


def test_a_file_that_is_not_there(tmp_path):
    assert stopped(run(tmp_path / "nope.csv", tmp_path)) == f"sagedrop: {tmp_path / 'nope.csv'}: no such file"


@pytest.mark.parametrize(
    "content",
    [b"not gzip at all", gzip.compress(CSV.encode())[:-12], gzip.compress(CSV.encode())[:30] + b"\x00" * 40],
    ids=["not-gzip", "truncated", "corrupt"],
)
def test_a_bad_gz(tmp_path, content):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(content)
    message = stopped(run(path, tmp_path))
    assert message.startswith(f"sagedrop: {path}: not a whole gzip file (")
    assert message.endswith("give the .csv, or a .csv.gz that gunzip reads")


def test_out_that_is_a_file(tmp_path, upload):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    message = stopped(run(upload, tmp_path, "--out", str(taken)))
    assert (
        message
        == f"sagedrop: --out {taken}: is a file; --out names a folder (for run.json, evaluation.json and report.html)"
    )
    assert taken.read_text() == "mine"


def test_out_below_a_file(tmp_path, upload):
    (tmp_path / "file").write_text("")
    message = stopped(run(upload, tmp_path, "--out", str(tmp_path / "file" / "out")))
    assert message == f"sagedrop: --out {tmp_path / 'file' / 'out'}: cannot create the folder (Not a directory)"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where nobody may write")
def test_out_that_cannot_be_written(tmp_path, upload):
    # /proc/self is a folder nobody, root included, can create a file in (a read-only mount alike).
    message = stopped(run(upload, tmp_path, "--out", "/proc/self"))
    assert message.startswith("sagedrop: --out /proc/self: cannot write in /proc/self (")


def test_a_state_dir_that_is_a_file(tmp_path, upload):
    (tmp_path / "state").write_text("")
    message = stopped(
        ["local", "run", str(upload), "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "state")]
    )
    assert message.startswith(f"sagedrop: --state-dir {tmp_path / 'state'}: is a file")


def test_predict_and_score_name_their_out_mistakes(tmp_path, upload):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert stopped(["local", "score", "run-1", str(upload), "--out", str(folder), "--state-dir", str(tmp_path)]) == (
        f"sagedrop: --out {folder}: is a directory; name the CSV to write"
    )
    missing = tmp_path / "missing" / "p.csv"
    assert stopped(["predict", "endpoint", str(upload), "--out", str(missing)]) == (
        f"sagedrop: --out {missing}: folder {missing.parent} does not exist"
    )
    bad = tmp_path / "in.csv.gz"
    bad.write_bytes(b"nope")
    assert "not a whole gzip file" in stopped(
        ["local", "score", "run-1", str(bad), "--out", str(tmp_path / "o.csv"), "--state-dir", str(tmp_path)]
    )


def test_ctrl_c_before_a_run_starts_is_one_line_and_130(tmp_path, upload, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sagedrop_local.cli._cloud", interrupted)
    assert main(run(upload, tmp_path, "--out", str(tmp_path / "out"))) == INTERRUPTED_STATUS
    assert capsys.readouterr().err == "\nsagedrop: interrupted\n"


def test_predict_names_an_unreadable_input_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sagedrop.aws.clients.client", lambda *args, **kwargs: object())
    source = tmp_path / "in.csv"
    source.write_text('age,note\n1,"never closed\n' + "x" * 200_000 + "\n")
    status = main(["predict", "endpoint-x", str(source), "--out", str(tmp_path / "o.csv")])
    printed = capsys.readouterr().out
    assert status == 1 and printed.count("\n") == 1
    assert printed.startswith(f"sagedrop: {source}: not readable as CSV (field larger than field limit")
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["local", "cleanup", "--dry-run"],
        ["local", "score", "run-1", "{upload}", "--out", "{tmp}/scored.csv"],
        ["local", "predict", "endpoint-x", "{upload}", "--out", "{tmp}/predicted.csv"],
    ],
    ids=["cleanup", "score", "predict"],
)
def test_every_local_command_names_a_state_dir_that_is_a_file(tmp_path, upload, command):
    (tmp_path / "state").write_text("")
    argv = [part.format(upload=upload, tmp=tmp_path) for part in command]
    message = stopped([*argv, "--state-dir", str(tmp_path / "state")])
    assert message.startswith(f"sagedrop: --state-dir {tmp_path / 'state'}: is a file; --state-dir names a folder")


def test_cleanup_names_an_out_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("")
    message = stopped(["local", "cleanup", "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "s")])
    assert message == f"sagedrop: --out {tmp_path / 'out'}: is a file; --out names a folder (for cleanup-report.json)"


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("LambdaPrepareMaxBytes", "sagedrop: --parameter 'LambdaPrepareMaxBytes': expected NAME=VALUE"),
        ("LambdaPrepareMaxByte=0", "sagedrop: --parameter 'LambdaPrepareMaxByte=0': template.yaml has no parameter"),
        ("LambdaPrepareMaxBytes=abc", "sagedrop: --parameter: LambdaPrepareMaxBytes='abc' is not a number"),
        ("LambdaPrepareMaxBytes=-1", "sagedrop: --parameter: LambdaPrepareMaxBytes=-1 is below its MinValue 0"),
        ("KeepEndpoint=maybe", "sagedrop: --parameter: KeepEndpoint='maybe' is not one of its AllowedValues: true"),
    ],
    ids=["no-equals", "unknown", "not-a-number", "below-min", "not-allowed"],
)
def test_a_bad_stack_parameter(tmp_path, upload, assignment, expected):
    message = stopped(run(upload, tmp_path, "--parameter", assignment))
    assert message.startswith(expected), message
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())  # nothing started


def test_a_stack_parameter_with_a_running_local_up(tmp_path, upload, monkeypatch):
    from sagedrop_local.server import discovery

    monkeypatch.setattr(discovery, "find_running", lambda state_dir: {"url": "http://127.0.0.1:4566"})
    message = stopped(run(upload, tmp_path, "--parameter", "LambdaPrepareMaxBytes=0"))
    assert message.startswith("sagedrop: --parameter sets the stack of a local cloud this command starts")
    assert "http://127.0.0.1:4566" in message
