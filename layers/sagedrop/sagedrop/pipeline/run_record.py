"""run.json: what happened in a run, for people and scripts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sagedrop.names import run_prefix
from sagedrop.pipeline.state import Failure, RunState


def run_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}run.json"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def state_timings(events: list[dict]) -> list[dict]:
    """Each state visit of an execution history with its start, end and seconds, in order.

    A state entered more than once (a wait loop) appears once per visit; a visit without an
    exit event (the state running now) has no end.
    """
    visits: list[dict] = []
    open_visits: dict[str, dict] = {}
    for event in events:
        kind = event.get("type", "")
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            visit = {"state": name, "started_at": event["timestamp"], "ended_at": None, "seconds": None}
            open_visits[name] = visit
            visits.append(visit)
        elif kind.endswith("StateExited"):
            visit = open_visits.pop(event["stateExitedEventDetails"]["name"], None)
            if visit is not None:
                visit["ended_at"] = event["timestamp"]
    for visit in visits:
        if isinstance(visit["started_at"], datetime) and isinstance(visit["ended_at"], datetime):
            visit["seconds"] = round((visit["ended_at"] - visit["started_at"]).total_seconds(), 3)
        visit["started_at"], visit["ended_at"] = _iso(visit["started_at"]), _iso(visit["ended_at"])
    return visits


def describe_failure(failure: Failure | dict | None) -> dict | None:
    """``{"error", "message"}`` from a Catch's ``{"Error", "Cause"}``.

    A Lambda's Cause is the JSON error document (errorMessage, errorType, stackTrace); a Pass
    state's Cause is plain text. Either way the person reading run.json gets one sentence.
    """
    if not failure:
        return None
    if isinstance(failure, Failure):
        failure = failure.as_dict()
    cause = failure.get("Cause") or ""
    message = cause
    try:
        document = json.loads(cause)
        if isinstance(document, dict):
            message = document.get("errorMessage") or document.get("Cause") or cause
    except (TypeError, ValueError):
        pass
    return {"error": failure.get("Error") or "Unknown", "message": message}


def build_run_record(
    state: RunState,
    *,
    status: str,
    finished_at: datetime,
    history: list[dict] | None,
    deleted: list[str],
    failure: Failure | None = None,
) -> dict:
    """The run.json document for a run that ended with ``status``."""
    document = state.as_dict()
    prepared = document.get("prepared", {})
    training = document.get("training", {})
    endpoint = document.get("endpoint", {})
    analysis = document.get("analysis", {})
    preparation = document.get("preparation", {})
    evaluation = document.get("evaluation", {})
    return {
        "run_id": state.run_id,
        "status": status,
        "source": document["source"],
        "execution_arn": state.execution_arn,
        "started_at": _iso(history[0]["timestamp"]) if history else None,
        "finished_at": finished_at.isoformat(),
        "error": describe_failure(failure),
        "config": prepared.get("config"),
        "dataset": prepared.get("dataset"),
        "resources": {
            "training_job": training.get("job_name"),
            "model_artifact": training.get("model_artifact"),
            "model": endpoint.get("model_name"),
            "endpoint_config": endpoint.get("endpoint_config_name"),
            "endpoint": endpoint.get("endpoint_name"),
            # What the deployed model serves with (the decision threshold packed in): scoring uses the same.
            "inference_artifact": endpoint.get("inference_artifact"),
            "analysis_job": analysis.get("job_name"),
            "preparation_job": preparation.get("job_name"),
            "deleted": deleted,
        },
        "training": {
            "status": training.get("status"),
            "polls": training.get("polls"),
            "metrics": training.get("metrics"),
            "billable_seconds": training.get("billable_seconds"),
            "hyperparameters": training.get("hyperparameters"),
        },
        "analysis": {
            "status": analysis.get("status"),
            "analysis_key": analysis.get("analysis_key"),
            "threshold": analysis.get("threshold"),
            "rounds": analysis.get("rounds"),
            "billable_seconds": analysis.get("billable_seconds"),
        }
        if analysis
        else None,
        # A large upload's preparation job (absent when the Lambda prepared the data).
        "preparation": {
            "job_name": preparation.get("job_name"),
            "status": preparation.get("status"),
            "billable_seconds": preparation.get("billable_seconds"),
            "failure_reason": preparation.get("failure_reason"),
        }
        if preparation
        else None,
        "evaluation": {
            "evaluation_key": evaluation.get("evaluation_key"),
            "report_key": evaluation.get("report_key"),
            "headline": evaluation.get("headline"),
        },
        "steps": state_timings(history) if history is not None else None,
        "history_events": len(history) if history is not None else None,
    }
