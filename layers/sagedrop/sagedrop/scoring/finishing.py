"""The end of a scoring, either way: delete the scoring model, write status.json, notify.

status.json (``runs/<run-id>/scoring/<name>/status.json``) says what happened, for people and
scripts; the notification goes to the run notification topic. On the failure path a transform job
that still runs is stopped first; every action there is best effort, so one that fails (SNS down)
never keeps the others (stopping the job that bills) from running. The upload is never touched.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.backstop import RECORDED_BY_STATE_MACHINE
from sagedrop.pipeline.run_record import describe_failure
from sagedrop.scoring.errors import InvalidScoringKeyError
from sagedrop.scoring.keys import ScoringTarget, scoring_target, status_key
from sagedrop.scoring.names import scoring_model_name, transform_job_name
from sagedrop.scoring.state import (
    FinishScoringInput,
    ScoringFailureHandled,
    ScoringFailureInput,
    ScoringFinished,
    ScoringState,
)

LOG = logging.getLogger(__name__)
#: The ``workflow`` attribute of scoring notifications (run notifications have none): subscribers filter on it.
NOTIFICATION_WORKFLOW = "scoring"


def target_of(state: ScoringState) -> ScoringTarget | None:
    """The run and name the scoring is for: the checked ones, else the key's; None for a key that names no run."""
    if state.validated is not None:
        return ScoringTarget(state.validated.run_id, state.validated.name)
    try:
        return scoring_target(state.source.key)
    except InvalidScoringKeyError:
        return None


def status_document(
    state: ScoringState,
    target: ScoringTarget | None,
    *,
    status: str,
    deleted: list[str],
    stopped: list[str] | None = None,
    problems: list[str] | None = None,
    recorded_by: str = RECORDED_BY_STATE_MACHINE,
) -> dict[str, Any]:
    document = state.as_dict()
    transform = document.get("transform") or {}
    return {
        "scoring_id": state.scoring_id,
        "run_id": target.run_id if target else None,
        "name": target.name if target else None,
        "status": status,
        "source": document["source"],
        "execution_arn": state.execution_arn,
        "finished_at": datetime.now(UTC).isoformat(),
        "error": describe_failure(state.failure),
        "rows": (document.get("staged") or {}).get("rows"),
        "scores_key": (document.get("scores") or {}).get("scores_key"),
        "resources": {
            "model": transform.get("model_name"),
            "transform_job": transform.get("job_name"),
            # the type the job ran on: the run's endpoint type, or the fallback Batch Transform offers
            "instance_type": transform.get("instance_type"),
            "stopped": stopped or [],
            "deleted": deleted,
        },
        "problems": problems or [],
        "recorded_by": recorded_by,
    }


def _subject(state: ScoringState, target: ScoringTarget | None, outcome: str) -> str:
    about = f"{target.name} with run {target.run_id}" if target else state.source.key
    return f"sagedrop scoring of {about} {outcome}"


def finish_scoring(
    state: FinishScoringInput, *, sagemaker: BatchTransformGateway, bucket: DataBucket, notifier: Notifier
) -> ScoringFinished:
    """Delete the scoring model (the job has ended: it needs it no more), record, publish the success."""
    target = ScoringTarget(state.validated.run_id, state.validated.name)
    model = state.transform.model_name
    deleted = [model] if sagemaker.delete_model(model) else []
    document = status_document(state, target, status="SUCCEEDED", deleted=deleted)
    bucket.write_json(status_key(target), document)
    notifier.publish(
        _subject(state, target, "succeeded"),
        "\n".join(
            [
                f"sagedrop scored {state.scores.rows:,} rows of {bucket.uri(state.source.key)} "
                f"with the model of run {target.run_id}.",
                "",
                f"Scores: {bucket.uri(state.scores.scores_key)}",
                f"Status: {bucket.uri(status_key(target))}",
            ]
        ),
        {"status": "SUCCEEDED", "workflow": NOTIFICATION_WORKFLOW, "run_id": target.run_id},
    )
    return ScoringFinished(status_key=status_key(target), deleted=deleted, status="SUCCEEDED")


def handle_scoring_failure(
    state: ScoringFailureInput,
    *,
    sagemaker: BatchTransformGateway,
    bucket: DataBucket,
    notifier: Notifier,
    recorded_by: str = RECORDED_BY_STATE_MACHINE,
    note: str | None = None,
) -> ScoringFailureHandled:
    """Stop the transform job if it runs, delete the scoring model, record the failure, notify.

    A step that died after CreateTransformJob (a Lambda timeout) never returned the names, so once the
    request was validated they are derived, as the start step derived them. Shared by the state
    machine's failure path and the backstop (``recorded_by``, and its ``note`` in the notification).
    """
    target = target_of(state)
    stopped: list[str] = []
    deleted: list[str] = []
    problems: list[str] = []

    def attempt(description: str, action) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - see the docstring
            LOG.exception("scoring failure handling: could not %s", description)
            problems.append(f"could not {description}: {error}")

    job = model = None
    if state.transform is not None:
        job, model = state.transform.job_name, state.transform.model_name
    elif state.validated is not None:
        job = transform_job_name(state.validated.run_id, state.scoring_id)
        model = scoring_model_name(state.validated.run_id, state.scoring_id)
    if job:
        attempt(
            f"stop transform job {job}",
            lambda: stopped.extend([job] if sagemaker.stop_transform_job_if_running(job) else []),
        )
    if model:
        attempt(f"delete model {model}", lambda: deleted.extend([model] if sagemaker.delete_model(model) else []))

    document = status_document(
        state, target, status="FAILED", deleted=deleted, stopped=stopped, problems=problems, recorded_by=recorded_by
    )
    key = status_key(target) if target else None
    if key:
        attempt("write status.json", lambda: bucket.write_json(key, document))
    error = document["error"] or {}
    lines = [
        f"sagedrop could not score {bucket.uri(state.source.key)}.",
        "",
        f"  {error.get('error')}: {error.get('message')}",
        *([note] if note else []),
        "",
        f"Input (left as it was): {bucket.uri(state.source.key)}",
        *([f"Status: {bucket.uri(key)}"] if key else []),
        "Cleaned up: " + (", ".join(stopped + deleted) or "nothing to clean up"),
    ]
    attributes = {
        "status": "FAILED",
        "workflow": NOTIFICATION_WORKFLOW,
        **({"run_id": target.run_id} if target else {}),
    }
    attempt(
        "publish the failure", lambda: notifier.publish(_subject(state, target, "failed"), "\n".join(lines), attributes)
    )
    return ScoringFailureHandled(
        status_key=key, stopped=stopped, deleted=deleted, error=describe_failure(state.failure), problems=problems
    )
