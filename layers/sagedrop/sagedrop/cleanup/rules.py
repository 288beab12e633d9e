"""The cleanup rules, as pure functions of facts, settings and the time of evaluation.

Nothing here calls AWS: ``service.py`` gathers the facts, asks these functions what to do,
then does it (or, in a dry run, only reports it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sagedrop.aws.cloudwatch import Traffic
from sagedrop.aws.logs import LogGroupFacts
from sagedrop.aws.sagemaker_inventory import EndpointConfigFacts, EndpointFacts, ModelFacts
from sagedrop.cleanup.model import ENDPOINT_LOG_GROUP_PREFIX, Action, Decision, Kind, Reason
from sagedrop.cleanup.settings import CleanupSettings
from sagedrop.names import KEEP_TAG, STACK_TAG

# Log stream timestamps are eventually consistent (up to about an hour): add twice that before
# calling a log group idle, so a group written to just before the cut-off is never deleted.
LOG_TIMESTAMP_MARGIN = timedelta(hours=2)

# Statuses where an endpoint is being created, changed or removed: deleting it then would race
# SageMaker (or is already happening). The next nightly run will see a settled status.
TRANSITIONAL_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


# --- endpoints -------------------------------------------------------------------------------
def is_candidate(tags: Mapping[str, str], settings: CleanupSettings) -> bool:
    """Endpoints this stack created, plus (only when opted in) those carrying the opt-in tag."""
    if tags.get(STACK_TAG) == settings.stack_name:
        return True
    if settings.opt_in_tag is not None:
        key, value = settings.opt_in_tag
        return tags.get(key) == value
    return False


def is_protected(tags: Mapping[str, str]) -> bool:
    return tags.get(KEEP_TAG, "").strip().lower() == "true"


def decide_without_traffic(endpoint: EndpointFacts, settings: CleanupSettings, now: datetime) -> Decision | None:
    """Every rule that does not need CloudWatch; None means "it depends on the traffic"."""

    def keep(reason: Reason, detail: str = "") -> Decision:
        return Decision(Kind.ENDPOINT, endpoint.name, Action.KEEP, reason, detail)

    age = now - endpoint.created_at
    if is_protected(endpoint.tags):
        return keep(Reason.PROTECTED_BY_TAG)
    if endpoint.status in TRANSITIONAL_STATUSES:
        return keep(Reason.IN_TRANSITION, f"status {endpoint.status}")
    if age < settings.grace:
        return keep(Reason.YOUNGER_THAN_GRACE, f"age {_hours(age)}")
    if endpoint.status == "Failed":
        # A Failed endpoint serves nothing, whatever the metrics say.
        return Decision(Kind.ENDPOINT, endpoint.name, Action.DELETE, Reason.FAILED_ENDPOINT, f"age {_hours(age)}")
    if endpoint.serverless and not settings.include_serverless:
        return keep(Reason.SERVERLESS)
    return None


def decide_with_traffic(
    endpoint: EndpointFacts, traffic: Traffic, settings: CleanupSettings, now: datetime
) -> Decision:
    """The idleness rule, for an endpoint that passed every other rule."""
    age = now - endpoint.created_at
    if traffic.error is not None:
        return Decision(Kind.ENDPOINT, endpoint.name, Action.KEEP, Reason.METRICS_UNAVAILABLE, traffic.error)
    if traffic.invocations is None:
        if age >= settings.lookback:
            return Decision(Kind.ENDPOINT, endpoint.name, Action.DELETE, Reason.IDLE_NO_DATA, f"age {_hours(age)}")
        return Decision(Kind.ENDPOINT, endpoint.name, Action.KEEP, Reason.NO_DATA_YOUNG, f"age {_hours(age)}")
    if traffic.invocations > 0:
        detail = f"{traffic.invocations:g} invocations in the last {settings.lookback_hours} h"
        return Decision(Kind.ENDPOINT, endpoint.name, Action.KEEP, Reason.IN_USE, detail)
    return Decision(
        Kind.ENDPOINT,
        endpoint.name,
        Action.DELETE,
        Reason.IDLE,
        f"0 invocations in {settings.lookback_hours} h",
    )


def limit_deletions(
    decisions: Iterable[Decision], endpoints: Mapping[str, EndpointFacts], max_deletions: int
) -> list[Decision]:
    """Blast radius: keep at most ``max_deletions`` deletions, oldest endpoints first.

    The others become KEEP decisions with Reason.BLAST_RADIUS, so the report lists them and the
    next run picks them up.
    """
    decisions = list(decisions)
    deletions = sorted(
        (d for d in decisions if d.action is Action.DELETE),
        key=lambda d: (endpoints[d.name].created_at, d.name),
    )
    deferred = {d.name for d in deletions[max_deletions:]}
    return [
        Decision(d.kind, d.name, Action.KEEP, Reason.BLAST_RADIUS, d.reason.value) if d.name in deferred else d
        for d in decisions
    ]


# --- endpoint configs and models ---------------------------------------------------------------
def decide_config(
    config: EndpointConfigFacts,
    *,
    configs_of_deleted_endpoints: frozenset[str],
    configs_in_use: frozenset[str],
    tagged_with_stack: bool,
    settings: CleanupSettings,
    now: datetime,
) -> Decision | None:
    """Delete a config no live endpoint uses if it was a deleted endpoint's, or is an old orphan of ours.

    None means "not ours to judge" (someone else's config): it is left alone and not reported.
    """
    if config.name in configs_in_use:
        if config.name in configs_of_deleted_endpoints:
            return Decision(Kind.ENDPOINT_CONFIG, config.name, Action.KEEP, Reason.USED_BY_ENDPOINT)
        return None
    if config.name in configs_of_deleted_endpoints:
        return Decision(Kind.ENDPOINT_CONFIG, config.name, Action.DELETE, Reason.OF_DELETED_ENDPOINT)
    if tagged_with_stack and now - config.created_at >= settings.grace:
        return Decision(Kind.ENDPOINT_CONFIG, config.name, Action.DELETE, Reason.ORPHAN_OF_STACK)
    return None


def decide_model(
    model: ModelFacts,
    *,
    models_of_deleted_configs: frozenset[str],
    referencing_configs: Mapping[str, list[str]],
    tagged_with_stack: bool,
    settings: CleanupSettings,
    now: datetime,
) -> Decision | None:
    """Delete a model no remaining endpoint config references, if it hung off a deleted endpoint
    or is an old orphan of ours. None means "not ours to judge"."""
    still_referenced_by = referencing_configs.get(model.name, [])
    ours_to_judge = model.name in models_of_deleted_configs or (
        tagged_with_stack and now - model.created_at >= settings.grace
    )
    if not ours_to_judge:
        return None
    if still_referenced_by:
        if model.name in models_of_deleted_configs:
            detail = ", ".join(sorted(still_referenced_by)[:5])
            return Decision(Kind.MODEL, model.name, Action.KEEP, Reason.REFERENCED_BY_CONFIG, detail)
        return None
    reason = Reason.OF_DELETED_ENDPOINT if model.name in models_of_deleted_configs else Reason.ORPHAN_OF_STACK
    return Decision(Kind.MODEL, model.name, Action.DELETE, reason)


def models_referenced_by(configs: Iterable[EndpointConfigFacts]) -> dict[str, list[str]]:
    """model name → names of the configs that reference it."""
    referencing: dict[str, list[str]] = {}
    for config in configs:
        for model_name in config.model_names:
            referencing.setdefault(model_name, []).append(config.name)
    return referencing


# --- log groups --------------------------------------------------------------------------------
def endpoint_log_group(endpoint_name: str) -> str:
    return f"{ENDPOINT_LOG_GROUP_PREFIX}{endpoint_name}"


def may_be_idle(group: LogGroupFacts, settings: CleanupSettings, now: datetime) -> bool:
    """Cheap pre-check: a group created recently cannot have been silent long enough.

    Lets the service skip DescribeLogStreams for most groups.
    """
    return now - group.created_at > settings.log_group_max_idle + LOG_TIMESTAMP_MARGIN


def decide_log_group(
    group: LogGroupFacts,
    *,
    deleted_endpoints: frozenset[str],
    live_endpoints: frozenset[str] | None,
    settings: CleanupSettings,
    now: datetime,
) -> list[Decision]:
    """Delete the groups of deleted endpoints and long-silent groups; give the rest a retention.

    ``live_endpoints`` None means the endpoints could not be listed: then every endpoint log group
    is treated as belonging to a live endpoint.
    """
    endpoint_name = (
        group.name.removeprefix(ENDPOINT_LOG_GROUP_PREFIX) if group.name.startswith(ENDPOINT_LOG_GROUP_PREFIX) else None
    )
    delete_reason: Reason | None = None
    detail = ""
    if endpoint_name is not None and endpoint_name in deleted_endpoints:
        delete_reason = Reason.LOG_GROUP_OF_DELETED_ENDPOINT
    elif endpoint_name is not None and (live_endpoints is None or endpoint_name in live_endpoints):
        delete_reason = None  # an endpoint that still exists keeps its logs, however quiet
    else:
        last_write = max(group.created_at, group.last_event_at or group.created_at)
        silent_for = now - last_write
        if silent_for > settings.log_group_max_idle + LOG_TIMESTAMP_MARGIN:
            delete_reason = Reason.LOG_GROUP_IDLE
            detail = f"last write {last_write.isoformat()}"

    if delete_reason is not None:
        if group.deletion_protected:
            return [Decision(Kind.LOG_GROUP, group.name, Action.KEEP, Reason.LOG_GROUP_PROTECTED, delete_reason.value)]
        return [Decision(Kind.LOG_GROUP, group.name, Action.DELETE, delete_reason, detail)]
    if group.retention_days is None:
        return [
            Decision(
                Kind.LOG_GROUP,
                group.name,
                Action.SET_RETENTION,
                Reason.NO_RETENTION,
                f"{settings.log_group_retention_days} days",
            )
        ]
    return []


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"
