"""`sagedrop local run` as an operator meets it: a corrupt state file, Ctrl-C, data that tries to steer the terminal.

Ctrl-C stops the execution, and the stack's backstop (RecordAbandonedRunFunction) records the run
ABORTED, stops its training job and removes what the job had unpacked; the command says so in one
line and exits 130. Ctrl-C during `sagedrop local score` goes the same way, by the template's
scoring-ended rule, to RecordAbandonedScoringFunction.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sagedrop_local import cli
from sagedrop_local.cli import INTERRUPTED_STATUS, main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_csv(tmp_path, bank_sample) -> Path:
    path = tmp_path / "bank.csv"
    path.write_bytes(b"\n".join(bank_sample.split(b"\n")[:600]) + b"\n")
    return path


def state_files(state: Path) -> list[str]:
    """What the state directory holds besides the state itself and the runs kept for scoring."""
    keep = {"sagemaker-state.json", "sagemaker-state.lock"}
    return sorted(
        str(path.relative_to(state))
        for path in state.rglob("*")
        if path.is_file() and path.name not in keep and path.relative_to(state).parts[0] not in ("logs", "runs")
    )


def test_a_corrupt_state_file_is_one_line(tmp_path, small_csv):
    state = tmp_path / "state"
    state.mkdir()
    (state / "sagemaker-state.json").write_text('{"training_jobs": [1, 2')
    with pytest.raises(SystemExit) as exited:
        main(["local", "run", str(small_csv), "--out", str(tmp_path / "out"), "--state-dir", str(state)])
    message = exited.value.code
    assert message.startswith(f"sagedrop: the local SageMaker state file {state / 'sagemaker-state.json'} is corrupt (")
    assert message.endswith("move it away to start afresh") and "\n" not in message


def test_ctrl_c_during_training_stops_the_job_records_the_run_and_exits_130(tmp_path, small_csv, monkeypatch, capsys):
    # Given a run whose training job is busy (its start takes 30 s) when Ctrl-C comes
    class SlowToStart(cli.LocalCloud):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs, startup_seconds=30)

    monkeypatch.setattr(cli, "LocalCloud", SlowToStart)

    class CtrlCOnceTrainingStarted(cli.ProgressPrinter):
        def __call__(self, event: dict) -> None:
            super().__call__(event)
            if (event.get("stateExitedEventDetails") or {}).get("name") == "Start training":
                raise KeyboardInterrupt

    monkeypatch.setattr(cli, "ProgressPrinter", CtrlCOnceTrainingStarted)
    out, state = tmp_path / "out", tmp_path / "state"

    # When the operator presses Ctrl-C
    status = main(["local", "run", str(small_csv), "--out", str(out), "--state-dir", str(state)])

    # Then one line says what happened, and the exit status is 130
    printed = capsys.readouterr()
    assert status == INTERRUPTED_STATUS
    last = printed.out.strip().splitlines()[-1]
    assert last.startswith("sagedrop: interrupted: run bank-") and "aborted, recorded in run.json" in last
    assert "Traceback" not in printed.out + printed.err
    # run.json (the command's and the pipeline's) says ABORTED, by the backstop
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "ABORTED"
    assert record["pipeline_record"]["status"] == "FAILED"
    assert record["pipeline_record"]["recorded_by"] == "backstop"
    assert record["pipeline_record"]["error"]["error"] == "ExecutionAborted"
    # the training job was stopped, not left in progress, and its scratch files are gone
    jobs = json.loads((state / "sagemaker-state.json").read_text())["training_jobs"]
    assert [job["TrainingJobStatus"] for job in jobs.values()] == ["Stopped"]
    assert state_files(state) == []


def test_ctrl_c_during_a_scoring_stops_it_and_the_scoring_backstop_records_it(tmp_path, small_csv, monkeypatch, capsys):
    # Given a scoring whose first check is busy for seconds (its Lambda in flight) when Ctrl-C comes
    class SlowCheck(cli.LocalCloud):
        def __enter__(self):
            cloud = super().__enter__()
            runtime, original = cloud.lambdas, cloud.lambdas.run

            def run(name_or_arn: str, event: dict):
                if runtime.function(name_or_arn).logical_id == "ValidateScoringFunction":
                    time.sleep(3)
                return original(name_or_arn, event)

            runtime.run = run
            return cloud

    monkeypatch.setattr(cli, "LocalCloud", SlowCheck)

    class CtrlCOnceStarted(cli.ProgressPrinter):
        def __call__(self, event: dict) -> None:
            super().__call__(event)
            if (event.get("stateExitedEventDetails") or {}).get("name") == "Start the scoring":
                raise KeyboardInterrupt

    monkeypatch.setattr(cli, "ProgressPrinter", CtrlCOnceStarted)
    out = tmp_path / "scored.csv"

    # When the operator presses Ctrl-C
    status = main(
        ["local", "score", "bank-0123456789abcdef", str(small_csv), "--out", str(out), "--state-dir", str(tmp_path)]
    )

    # Then the scoring-ended rule handed the stop to the scoring's backstop, which recorded it; one line, exit 130
    printed = capsys.readouterr()
    assert status == INTERRUPTED_STATUS
    last = printed.out.strip().splitlines()[-1]
    assert last.startswith("sagedrop: interrupted: scoring bank-") and "aborted, recorded in status.json" in last
    assert "Traceback" not in printed.out + printed.err
    assert not out.exists()


def test_sigint_to_the_process_ends_it_with_one_line_and_no_traceback(tmp_path, small_csv):
    # Given a run that waits for training capacity (SageMaker answers ResourceLimitExceeded)
    env = {
        **os.environ,
        "SAGEDROP_LOCAL_FAULTS": "CreateTrainingJob:ResourceLimitExceeded:30",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "sagedrop"), str(ROOT / "local"), str(ROOT)]),
    }
    out, state = tmp_path / "out", tmp_path / "state"
    command = [sys.executable, "-m", "sagedrop_local.cli", "local", "run", str(small_csv), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A command started in the background by a shell without job control inherits SIGINT ignored,
        # and Python then installs no KeyboardInterrupt for it: the command is a terminal's, as a user runs it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - no threads start before exec
    )
    try:
        # When SIGINT arrives while it waits
        deadline = time.monotonic() + 120
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Prepare the data" in line or not line:
                break
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    # Then it ends 130 with one line, no traceback, and the run recorded
    assert process.returncode == INTERRUPTED_STATUS, "".join(lines) + stdout + stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert "sagedrop: interrupted: run bank-" in stdout
    assert json.loads((out / "run.json").read_text())["status"] == "ABORTED"


def test_class_labels_that_try_to_steer_the_terminal_are_printed_escaped(tmp_path, capsys):
    # Given a label whose classes hold an ANSI escape and a bidirectional override (rare enough,
    # among long text, for the file to be text)
    red, blue = "\x1b[31mred", "blue\u202e"
    rows = ["x,note,y"] + [f"{i % 7},{'word ' * 60},{red if i % 2 else blue}" for i in range(300)]
    path = tmp_path / "colours.csv"
    path.write_text("\n".join(rows) + "\n")
    status = main(["local", "run", str(path), "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "s")])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "\x1b" not in printed and "\u202e" not in printed
    assert "\\x1b[31mred" in printed and "blue\\u202e" in printed
