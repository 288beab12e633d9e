"""`sagedrop local run` prints each wait loop's poll with the status of the job that loop waits for."""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sagedrop_local.cli import ProgressPrinter

MACHINES = Path(__file__).resolve().parents[3] / "statemachine"
STATES = {
    name: state
    for machine in ("pipeline", "scoring")
    for name, state in json.loads((MACHINES / f"{machine}.asl.json").read_text())["States"].items()
}
CHECKS = sorted(name for name, state in STATES.items() if name.startswith("Check") and state["Type"] == "Task")
T0 = datetime(2026, 12, 2, tzinfo=UTC)


def printed(name: str, output: dict) -> str:
    stream = io.StringIO()
    progress = ProgressPrinter(stream)
    progress({"type": "TaskStateEntered", "timestamp": T0, "stateEnteredEventDetails": {"name": name}})
    progress(
        {
            "type": "TaskStateExited",
            "timestamp": T0 + timedelta(seconds=1.5),
            "stateExitedEventDetails": {"name": name, "output": json.dumps(output)},
        }
    )
    return stream.getvalue()


def test_every_wait_loop_has_a_check_state():
    loops = {
        "Check training",
        "Check the endpoint",
        "Check the evaluation transform",
        "Check the analysis",
        "Check the transform job",  # a scoring's
    }
    assert loops <= set(CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_a_check_shows_the_status_of_its_own_job_not_another_one(name):
    section = STATES[name]["ResultPath"].removeprefix("$.")
    # Given a run state in which an earlier section (the endpoint) is in service
    state = {"endpoint": {"status": "InService", "polls": 1}, section: {"status": "InProgress", "polls": 7}}
    # When the check exits, the line shows its own section's status and poll
    line = printed(name, state)
    assert line.startswith(f"  ✓ {name}") and "1.5 s" in line
    assert line.rstrip().endswith("InProgress (poll 7)"), line


def test_a_state_that_is_no_check_has_no_note():
    line = printed("Deploy the model", {"endpoint": {"status": "Creating", "polls": 0}})
    assert line.rstrip().endswith("s") and "poll" not in line
