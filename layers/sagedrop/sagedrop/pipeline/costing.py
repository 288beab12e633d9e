"""What a finished run cost, estimated from its record: billable seconds x the dated price tables.

Training: DescribeTrainingJob's BillableTimeInSeconds (a tuned run: every trial's training time).
The model analysis, and a large upload's preparation job: each Processing job's run time. The
endpoint: from the moment "Deploy the model" started until the run finished (it is deleted then; a
kept endpoint goes on costing, which the estimate cannot know); a serverless one for the
evaluation's seconds, an upper bound of the time it served. Step Functions: one transition per
state visit. Lambda: each task state's visits at its function's memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sagedrop.errors import InvalidConfigError
from sagedrop.limits import PREPARATION_INSTANCE_TYPE
from sagedrop.pricing import Prices, estimate_run_cost, lambda_uses
from sagedrop.run_config import RunConfig

#: The finish function's environment variable holding each Lambda task state's memory in MB (JSON).
LAMBDA_MEMORY_VARIABLE = "LAMBDA_MEMORY_MB_BY_STATE"
DEPLOY_STATE = "Deploy the model"
EVALUATE_STATE = "Evaluate the model"


def lambda_memory_from_environ(environ: Mapping[str, str]) -> dict[str, int]:
    """The memory map from the environment; InvalidConfigError (at cold start) when it is malformed."""
    text = environ.get(LAMBDA_MEMORY_VARIABLE, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
        if not isinstance(value, dict) or not all(isinstance(v, int) and v > 0 for v in value.values()):
            raise ValueError("not an object of positive whole numbers")
    except ValueError as error:
        raise InvalidConfigError(f"environment variable {LAMBDA_MEMORY_VARIABLE}: {error}") from None
    return {str(state): int(mb) for state, mb in value.items()}


def endpoint_seconds(steps: list[Mapping[str, Any]], finished_at: datetime) -> float | None:
    """Seconds from the first visit of the deploy state to ``finished_at``; None if it never ran."""
    for step in steps:
        if step.get("state") == DEPLOY_STATE and step.get("started_at"):
            started = datetime.fromisoformat(str(step["started_at"]))
            return max(0.0, (finished_at - started).total_seconds())
    return None


def run_cost(
    record: Mapping[str, Any],
    config: RunConfig,
    *,
    finished_at: datetime,
    lambda_memory_mb: Mapping[str, int],
    trial_seconds: float | None = None,
    prices: Prices | None = None,
) -> dict:
    """``estimate_run_cost`` for the run that ``record`` (run.json) describes.

    ``trial_seconds``: a tuned run's training time over all its trials (each is billed), instead of
    the deployed training job's billable seconds.
    """
    steps = list(record.get("steps") or [])
    if config.serverless:  # billed for the time it serves: at most the evaluation's
        serving = sum(float(s.get("seconds") or 0) for s in steps if s.get("state") == EVALUATE_STATE) or None
    else:
        serving = endpoint_seconds(steps, finished_at)
    training = record.get("training") or {}
    analysis = record.get("analysis") or {}
    preparation = record.get("preparation") or {}
    return estimate_run_cost(
        training_instance_type=config.training_instance_type,
        training_billable_seconds=trial_seconds if trial_seconds is not None else training.get("billable_seconds"),
        processing_instance_type=config.training_instance_type,
        processing_seconds=analysis.get("billable_seconds"),
        preparation_instance_type=PREPARATION_INSTANCE_TYPE,
        preparation_seconds=preparation.get("billable_seconds"),
        endpoint_instance_type=config.endpoint_instance_type,
        endpoint_seconds=serving,
        serverless_memory_mb=config.serverless.memory_size_mb if config.serverless else None,
        state_transitions=len(steps),
        lambda_invocations=lambda_uses(steps, lambda_memory_mb),
        prices=prices,
    )
