"""run.json pieces: per-state timings from an execution history, one-sentence failure descriptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sagedrop.pipeline.run_record import build_run_record, describe_failure, state_timings
from sagedrop.pipeline.state import Failure, RunState, parse_state

from .conftest import RUN_ID, make_state

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entered(kind: str, name: str, at: float) -> dict:
    return {
        "type": f"{kind}StateEntered",
        "timestamp": T0 + timedelta(seconds=at),
        "stateEnteredEventDetails": {"name": name},
    }


def exited(kind: str, name: str, at: float) -> dict:
    return {
        "type": f"{kind}StateExited",
        "timestamp": T0 + timedelta(seconds=at),
        "stateExitedEventDetails": {"name": name},
    }


def other(kind: str, at: float) -> dict:
    return {"type": kind, "timestamp": T0 + timedelta(seconds=at)}


HISTORY = [
    other("ExecutionStarted", 0),
    entered("Pass", "Start the run", 0),
    exited("Pass", "Start the run", 0.5),
    entered("Task", "Check training", 1),
    other("LambdaFunctionScheduled", 1.1),
    other("LambdaFunctionSucceeded", 2),
    exited("Task", "Check training", 3),
    entered("Wait", "Wait for training", 3),
    exited("Wait", "Wait for training", 63),
    entered("Task", "Check training", 63),
    exited("Task", "Check training", 65.25),
    entered("Task", "Finish the run", 70),  # running now: no exit yet
]


def test_each_visit_of_a_state_is_timed_separately():
    steps = state_timings(HISTORY)

    assert [(s["state"], s["seconds"]) for s in steps] == [
        ("Start the run", 0.5),
        ("Check training", 2.0),
        ("Wait for training", 60.0),
        ("Check training", 2.25),
        ("Finish the run", None),
    ]


def test_times_are_iso_strings_and_an_open_visit_has_no_end():
    steps = state_timings(HISTORY)

    assert steps[1]["started_at"] == (T0 + timedelta(seconds=1)).isoformat()
    assert steps[1]["ended_at"] == (T0 + timedelta(seconds=3)).isoformat()
    assert steps[-1]["ended_at"] is None
    json.dumps(steps)  # run.json must be able to hold them


def test_an_exit_without_an_entry_is_ignored():
    steps = state_timings([exited("Task", "Orphan", 1), entered("Task", "A", 2), exited("Task", "A", 4)])

    assert [(s["state"], s["seconds"]) for s in steps] == [("A", 2.0)]


def test_an_empty_history_has_no_steps():
    assert state_timings([]) == []


def test_a_lambda_cause_is_reduced_to_its_error_message():
    cause = json.dumps(
        {
            "errorMessage": "incoming/a.csv: column 'y' not found; columns are a, b",
            "errorType": "LabelNotFoundError",
            "stackTrace": ['  File "/var/task/app.py", line 1'],
        }
    )

    described = describe_failure({"Error": "LabelNotFoundError", "Cause": cause})

    assert described == {
        "error": "LabelNotFoundError",
        "message": "incoming/a.csv: column 'y' not found; columns are a, b",
    }


def test_a_plain_text_cause_is_kept_as_it_is():
    described = describe_failure({"Error": "TrainingFailed", "Cause": "AlgorithmError: num_class must be > 1"})

    assert described == {"error": "TrainingFailed", "message": "AlgorithmError: num_class must be > 1"}


def test_json_that_is_not_a_lambda_error_document_is_kept_as_text():
    assert describe_failure({"Error": "X", "Cause": "[1, 2]"})["message"] == "[1, 2]"
    assert describe_failure({"Error": "X", "Cause": '"quoted"'})["message"] == '"quoted"'


def test_no_failure_means_no_error_and_a_missing_name_is_unknown():
    assert describe_failure(None) is None
    assert describe_failure({}) is None
    assert describe_failure({"Cause": "something"}) == {"error": "Unknown", "message": "something"}


def test_the_record_of_a_run_collects_its_resources_and_steps():
    state = make_state(
        training={
            "job_name": "job-1",
            "status": "Completed",
            "polls": 4,
            "metrics": {"validation:auc": 0.9},
            "hyperparameters": {"eta": "0.05", "objective": "binary:logistic"},
        },
        endpoint={
            "model_name": "m",
            "endpoint_config_name": "c",
            "endpoint_name": "e",
            "status": "InService",
            "polls": 2,
            "inference_artifact": "s3://b/runs/x/inference/deployed/model.tar.gz",
        },
        analysis={
            "job_name": "job-1-a",
            "status": "Completed",
            "polls": 3,
            "analysis_key": "runs/x/analysis/output/analysis.json",
            "threshold": 0.31,
            "rounds": 120,
        },
        evaluation={
            "evaluation_key": "runs/x/evaluation.json",
            "report_key": "runs/x/report.html",
            "headline": {"auc": 0.9},
        },
    )

    record = build_run_record(
        parse_state(state, RunState),
        status="SUCCEEDED",
        finished_at=T0 + timedelta(minutes=9),
        history=HISTORY,
        deleted=["e", "c", "m"],
    )

    assert record["run_id"] == RUN_ID
    assert record["status"] == "SUCCEEDED"
    assert record["started_at"] == T0.isoformat()
    assert record["resources"] == {
        "training_job": "job-1",
        "model_artifact": None,
        "model": "m",
        "endpoint_config": "c",
        "endpoint": "e",
        "inference_artifact": "s3://b/runs/x/inference/deployed/model.tar.gz",
        "preparation_job": None,  # the Lambda prepared the data
        "analysis_job": "job-1-a",
        "deleted": ["e", "c", "m"],
    }
    assert record["training"]["polls"] == 4
    assert record["training"]["hyperparameters"] == {"eta": "0.05", "objective": "binary:logistic"}
    assert record["analysis"] == {
        "status": "Completed",
        "analysis_key": "runs/x/analysis/output/analysis.json",
        "threshold": 0.31,
        "rounds": 120,
        "billable_seconds": None,
    }
    assert record["evaluation"]["headline"] == {"auc": 0.9}
    assert len(record["steps"]) == 5 and record["history_events"] == len(HISTORY)
    assert record["error"] is None


def test_a_record_without_history_still_has_every_field():
    record = build_run_record(
        parse_state(
            {
                "run_id": RUN_ID,
                "source": {"bucket": "b", "key": "incoming/x.csv"},
                "poll": {"interval_seconds": 1, "max_polls": 2},
            },
            RunState,
        ),
        status="FAILED",
        finished_at=T0,
        history=None,
        deleted=[],
        failure=Failure(Error="E", Cause="c"),
    )

    assert record["steps"] is None and record["started_at"] is None
    assert record["error"] == {"error": "E", "message": "c"}
    assert record["resources"]["endpoint"] is None
