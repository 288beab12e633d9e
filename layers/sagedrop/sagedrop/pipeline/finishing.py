"""The end of a run, either way: tear down what costs money, write run.json, notify."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.backstop import RECORDED_BY_STATE_MACHINE
from sagedrop.names import RUN_ID_TAG
from sagedrop.pipeline.costing import run_cost
from sagedrop.pipeline.deployment import hosting_names
from sagedrop.pipeline.reporting import render_final_report
from sagedrop.pipeline.run_record import build_run_record, describe_failure, run_key
from sagedrop.pipeline.state import Failure, FailureHandled, FailureInput, Finished, FinishInput, RunState
from sagedrop.pipeline.tuning import trials_key

LOG = logging.getLogger(__name__)


def _keep_endpoint(state: RunState) -> bool:
    return state.prepared is not None and state.prepared.config.keep_endpoint


def _history(executions: Executions, state: RunState) -> list[dict] | None:
    """The execution's history for per-state timings; a run is not failed for want of it."""
    execution_arn = state.execution_arn
    if not execution_arn:
        return None
    try:
        return executions.history(execution_arn)
    except Exception:  # noqa: BLE001 - timings are a nicety, the record must still be written
        LOG.warning("could not read the execution history of %s", execution_arn, exc_info=True)
        return None


def success_message(record: dict, bucket: DataBucket) -> str:
    headline = record["evaluation"].get("headline") or {}
    lines = [f"sagedrop run {record['run_id']} succeeded.", ""]
    lines += [f"  {name}: {value}" for name, value in headline.items()]
    lines += [
        "",
        f"Evaluation: {bucket.uri(record['evaluation']['evaluation_key'] or '')}",
        f"Report:     {bucket.uri(record['evaluation']['report_key'] or '')}",
        f"Run record: {bucket.uri(run_key(record['run_id']))}",
    ]
    endpoint = record["resources"]["endpoint"]
    if endpoint and endpoint not in record["resources"]["deleted"]:
        lines.append(f"Endpoint {endpoint} is still up (keep_endpoint); the nightly cleanup removes it once idle.")
    return "\n".join(lines)


def failure_message(record: dict, bucket: DataBucket, note: str | None = None) -> str:
    error = record["error"] or {}
    return "\n".join(
        [
            f"sagedrop run {record['run_id']} failed.",
            "",
            f"  {error.get('error')}: {error.get('message')}",
            *([note] if note else []),
            "",
            f"Input (left as it was): {bucket.uri((record.get('source') or {}).get('key') or '')}",
            f"Run record: {bucket.uri(run_key(record['run_id']))}",
            "Cleaned up: " + (", ".join(record["resources"]["deleted"]) or "nothing to clean up"),
        ]
    )


def finish_run(
    state: FinishInput,
    *,
    sagemaker: SageMakerGateway,
    bucket: DataBucket,
    notifier: Notifier,
    executions: Executions,
    lambda_memory_mb: Mapping[str, int] | None = None,
) -> Finished:
    """Delete the endpoint unless the run keeps it, record the run with its estimated cost, render the
    report again with the step timings and the cost, publish the success.

    ``lambda_memory_mb``: each Lambda task state's memory, for the Lambda part of the cost.
    """
    run_id = state.run_id
    deleted = [] if _keep_endpoint(state) else sagemaker.delete_hosting(**_hosting_args(run_id))
    finished_at = datetime.now(UTC)
    record = build_run_record(
        state, status="SUCCEEDED", finished_at=finished_at, history=_history(executions, state), deleted=deleted
    )
    record["estimated_cost_usd"] = run_cost(
        record,
        state.prepared.config,
        finished_at=finished_at,
        lambda_memory_mb=lambda_memory_mb or {},
        trial_seconds=_trial_seconds(bucket, state),
    )
    try:
        render_final_report(bucket, record, record["estimated_cost_usd"])
    except Exception as error:  # noqa: BLE001 - the evaluation's report stays; the run succeeded
        LOG.exception("could not render the final report")
        record["report_problem"] = f"the report was not rendered again with timings and cost: {error}"
    bucket.write_json(run_key(run_id), record)
    headline = record["evaluation"].get("headline") or {}
    notifier.publish(
        f"sagedrop run {run_id} succeeded",
        success_message(record, bucket),
        {"status": "SUCCEEDED", **{k: str(v) for k, v in list(headline.items())[:5]}},
    )
    return Finished(run_key=run_key(run_id), deleted=deleted, status="SUCCEEDED")


def _trial_seconds(bucket: DataBucket, state: RunState) -> float | None:
    """A tuned run's training seconds over all its trials (tuning/trials.json); None for a single job."""
    if state.tuning is None:
        return None
    data = bucket.read_bytes_if_exists(trials_key(state.run_id))
    trials = json.loads(data).get("trials", []) if data is not None else []
    return sum(float(trial.get("seconds") or 0) for trial in trials) or None


def _hosting_args(run_id: str) -> dict:
    names = hosting_names(run_id)
    return {
        "endpoint": names["endpoint_name"],
        "endpoint_config": names["endpoint_config_name"],
        "model": names["model_name"],
    }


def handle_failure(
    state: FailureInput,
    *,
    sagemaker: SageMakerGateway,
    bucket: DataBucket,
    notifier: Notifier,
    executions: Executions,
) -> FailureHandled:
    """The state "Record the failure": the state machine caught an error and hands over the run state.

    The state machine ends in Fail with the original error afterwards.
    """
    return record_failure(
        state,
        state.failure,
        sagemaker=sagemaker,
        bucket=bucket,
        notifier=notifier,
        history=_history(executions, state),
        recorded_by=RECORDED_BY_STATE_MACHINE,
    )


def record_failure(
    state: RunState,
    failure: Failure | None,
    *,
    sagemaker: SageMakerGateway,
    bucket: DataBucket,
    notifier: Notifier,
    history: list[dict] | None,
    recorded_by: str,
    note: str | None = None,
) -> FailureHandled:
    """Stop what still runs, delete what costs money, record the failure, notify.

    Shared by the failure path of the state machine and the backstop that records runs whose
    execution ended without it. Every action is best effort: one that fails is logged and
    recorded, and the others still run, so a failing run never leaves an endpoint up because, say,
    SNS was down. Besides the job the state names, any job still running with the run's tag is
    stopped: a step that died after CreateTrainingJob (a Lambda timeout) never returned its name.
    """
    run_id = state.run_id
    deleted: list[str] = []
    problems: list[str] = []

    def attempt(description: str, action) -> bool:
        try:
            action()
            return True
        except Exception as error:  # noqa: BLE001 - see the docstring
            LOG.exception("failure handling: could not %s", description)
            problems.append(f"could not {description}: {error}")
            return False

    jobs = [state.training.job_name] if state.training else []

    def add_running_jobs() -> None:
        for name in sagemaker.training_jobs_in_progress({RUN_ID_TAG: run_id}):
            if name not in jobs:
                jobs.append(name)

    attempt("list the run's training jobs", add_running_jobs)
    for job_name in jobs:
        attempt(
            f"stop training job {job_name}", lambda job_name=job_name: sagemaker.stop_training_job_if_running(job_name)
        )
    if state.tuning is not None:
        tuning_job = state.tuning.job_name
        attempt(f"stop tuning job {tuning_job}", lambda: sagemaker.stop_tuning_job_if_running(tuning_job))
    if state.preparation is not None:
        preparation_job = state.preparation.job_name
        attempt(
            f"stop preparation job {preparation_job}",
            lambda: sagemaker.stop_processing_job_if_running(preparation_job),
        )
    if state.analysis is not None:
        name = state.analysis.job_name
        attempt(f"stop analysis job {name}", lambda: sagemaker.stop_processing_job_if_running(name))
    if state.evaluation_transform is not None:
        transform_job = state.evaluation_transform.job_name
        # the same client, seen as the transform calls' gateway
        attempt(
            f"stop evaluation transform job {transform_job}",
            lambda: BatchTransformGateway(sagemaker.client).stop_transform_job_if_running(transform_job),
        )
    if not _keep_endpoint(state):
        attempt("delete the endpoint", lambda: deleted.extend(sagemaker.delete_hosting(**_hosting_args(run_id))))

    record = build_run_record(
        state, status="FAILED", finished_at=datetime.now(UTC), history=history, deleted=deleted, failure=failure
    )
    record["recorded_by"] = recorded_by
    record["cleanup_problems"] = problems
    written = attempt("write run.json", lambda: bucket.write_json(run_key(run_id), record))
    published = attempt(
        "publish the failure",
        lambda: notifier.publish(
            f"sagedrop run {run_id} failed", failure_message(record, bucket, note), {"status": "FAILED"}
        ),
    )
    if written and not published:
        # run.json is where people look when no notification came: it says why.
        attempt("write run.json again", lambda: bucket.write_json(run_key(run_id), record))
    return FailureHandled(run_key=run_key(run_id), deleted=deleted, error=describe_failure(failure), problems=problems)
