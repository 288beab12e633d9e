"""What a local tuning job's trials say: their summaries, the counters, the best trial, the list by objective."""

from __future__ import annotations

import copy

from .listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_token, encode_token

RUNNING = ("InProgress", "Stopping")


def objective_of(trial: dict, metric: str) -> float | None:
    values = [m["Value"] for m in trial.get("FinalMetricDataList") or [] if m["MetricName"] == metric]
    return values[0] if values else None


def trial_summary(trial: dict, job: dict) -> dict:
    """HyperParameterTrainingJobSummary of one trial."""
    objective = job["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    summary = {
        key: copy.deepcopy(trial[key])
        for key in ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingStartTime", "TrainingEndTime")
        if key in trial
    }
    summary.update(
        TuningJobName=job["HyperParameterTuningJobName"],
        TrainingJobStatus=trial["TrainingJobStatus"],
        TunedHyperParameters=dict(trial["_tuned"]),
    )
    if trial.get("FailureReason"):
        summary["FailureReason"] = trial["FailureReason"]
    value = objective_of(trial, objective["MetricName"])
    if trial["TrainingJobStatus"] in RUNNING:
        summary["ObjectiveStatus"] = "Pending"
    elif value is None:
        summary["ObjectiveStatus"] = "Failed"
    else:
        summary["ObjectiveStatus"] = "Succeeded"
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {**objective, "Value": value}
    return summary


def counted(summaries: list[dict]) -> dict:
    statuses = [s["TrainingJobStatus"] for s in summaries]
    objectives = [s["ObjectiveStatus"] for s in summaries]
    return {
        "TrainingJobStatusCounters": {
            "Completed": statuses.count("Completed"),
            "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
            "RetryableError": 0,
            "NonRetryableError": statuses.count("Failed"),
            "Stopped": statuses.count("Stopped"),
        },
        "ObjectiveStatusCounters": {state: objectives.count(state) for state in ("Succeeded", "Pending", "Failed")},
    }


def best_of(summaries: list[dict], maximize: bool) -> dict | None:
    scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if not scored:
        return None
    # Of equal values the first wins: the earliest trial.
    return (max if maximize else min)(scored, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def by_objective(items: list[dict], params: dict) -> dict:
    """ListTrainingJobsForHyperParameterTuningJob sorted by FinalObjectiveMetricValue: a trial that
    reported no objective is not listed (as SageMaker documents)."""
    if params.get("StatusEquals"):
        items = [item for item in items if item["TrainingJobStatus"] == params["StatusEquals"]]
    items = [item for item in items if "FinalHyperParameterTuningJobObjectiveMetric" in item]
    items.sort(
        key=lambda item: (item["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], item["TrainingJobName"]),
        reverse=(params.get("SortOrder") or "Descending") == "Descending",
    )
    start = decode_token(params.get("NextToken"))
    size = min(params.get("MaxResults") or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    token = {"NextToken": encode_token(start + size)} if start + size < len(items) else {}
    return {"TrainingJobSummaries": items[start : start + size], **token}
