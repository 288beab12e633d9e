"""Nightly cleanup: deletes idle endpoints this stack created, what hangs off them, and stale log groups.

Input (any of these; unknown keys are ignored):
- the EventBridge Scheduler input, ``{"dry_run": false}`` (events/cleanup_scheduled.json);
- on demand, ``{"dry_run": true}`` (events/cleanup_dry_run.json): nothing is deleted, the report
  says what would be;
- optional ``"now": "2025-01-31T02:00:00Z"`` (ISO-8601) to evaluate as of another time (used by
  ``sagedrop local cleanup --now``). Without an offset the time is taken as UTC.

Output: the report summary, e.g.
``{"dry_run": false, "evaluated_at": "...", "report": "s3://<bucket>/cleanup/<timestamp>.json",
"endpoints_deleted": ["..."], "endpoints_kept": 3, "endpoint_configs_deleted": 1, "models_deleted": 1,
"log_groups_deleted": 2, "failures": 0, "estimated_monthly_saving_usd": 83.95}``.
A failed deletion does not fail the invocation: it is counted in ``failures`` and detailed in the
report. A malformed event raises InvalidEventError; bad settings raise InvalidConfigError at cold start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagedrop.cleanup import CleanupClients, CleanupSettings, run_cleanup
from sagedrop.errors import InvalidEventError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
SETTINGS = CleanupSettings.from_environ()
CLIENTS = CleanupClients.create()


def parse_event(event: dict | None) -> tuple[bool, datetime | None]:
    """``(dry_run, now)`` from the event; ``now`` None means the current time."""
    event = event or {}
    if not isinstance(event, dict):
        raise InvalidEventError(f"expected a JSON object, got {type(event).__name__}")
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidEventError(f"dry_run must be true or false, got {dry_run!r}")
    raw_now = event.get("now")
    if raw_now is None:
        return dry_run, None
    try:
        now = datetime.fromisoformat(str(raw_now).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEventError(f"now must be an ISO-8601 time, got {raw_now!r}") from None
    return dry_run, now if now.tzinfo else now.replace(tzinfo=UTC)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    dry_run, now = parse_event(event)
    report = run_cleanup(CLIENTS, SETTINGS, now=now, dry_run=dry_run)
    summary = report.summary()
    if not dry_run:
        deleted, saving = len(summary["endpoints_deleted"]), summary["estimated_monthly_saving_usd"]
        metrics.add_metric(name="EndpointsDeleted", unit=MetricUnit.Count, value=deleted)
        metrics.add_metric(name="EstimatedMonthlySavingUSD", unit=MetricUnit.NoUnit, value=saving)
    metrics.add_metric(name="CleanupFailures", unit=MetricUnit.Count, value=summary["failures"])
    logger.info("cleanup finished", extra={"summary": summary})
    return summary
