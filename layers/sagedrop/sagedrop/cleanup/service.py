"""The cleanup run: read the account, ask the rules, act (unless dry run), report.

Order matters: endpoints first; then the configs and models that hung off deleted endpoints (and
old orphans of this stack), judged against what is still alive; then the log groups. Every
deletion is attempted on its own: one failure is recorded in the report and the run goes on.
Running twice is harmless: what is already gone is reported as such, never as a failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sagedrop.aws.cloudwatch import InvocationMetrics
from sagedrop.aws.errors import describe
from sagedrop.aws.logs import LogGroupDeletion, LogGroups
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.sagemaker_inventory import EndpointConfigFacts, EndpointFacts, SageMakerInventory
from sagedrop.cleanup.clients import CleanupClients
from sagedrop.cleanup.model import (
    SAGEMAKER_LOG_GROUP_PREFIX,
    Action,
    ActionRecord,
    Decision,
    Kind,
    Outcome,
    Reason,
)
from sagedrop.cleanup.prices import PriceTable, bundled_price_table
from sagedrop.cleanup.report import CleanupReport, publish_report
from sagedrop.cleanup.rules import (
    decide_config,
    decide_log_group,
    decide_model,
    decide_with_traffic,
    decide_without_traffic,
    is_candidate,
    limit_deletions,
    may_be_idle,
    models_referenced_by,
)
from sagedrop.cleanup.settings import CleanupSettings
from sagedrop.names import STACK_TAG

LOG = logging.getLogger(__name__)


@dataclass
class _Inventory:
    """What the run read from SageMaker. ``complete`` is False when some resource could not be
    described: then nobody can say what is still in use, and no config or model is deleted."""

    endpoints: dict[str, EndpointFacts] = field(default_factory=dict)
    configs: dict[str, EndpointConfigFacts] = field(default_factory=dict)
    endpoints_listed: bool = False
    complete: bool = True


def run_cleanup(
    clients: CleanupClients,
    settings: CleanupSettings,
    now: datetime | None = None,
    dry_run: bool = False,
    *,
    prices: PriceTable | None = None,
    publish: bool = True,
) -> CleanupReport:
    """Run the nightly cleanup as of ``now`` (default: the current time) and return its report.

    With ``dry_run`` nothing is deleted or changed; the report says what would have been.
    With ``publish`` the report is written to ``cleanup/<timestamp>.json`` and summarised on SNS.
    """
    now = _aware(now or datetime.now(UTC))
    prices = prices or bundled_price_table()
    report = CleanupReport(evaluated_at=now, dry_run=dry_run, settings=settings.as_dict(), price_table=prices.as_dict())
    # Reading is the cleanup's own; deleting goes through the gateway the pipeline uses.
    reader, gateway = SageMakerInventory(clients.sagemaker), SageMakerGateway(clients.sagemaker)

    inventory = _read_inventory(reader, report)
    gone_endpoints: frozenset[str] = frozenset()
    if inventory.endpoints_listed:
        plan = _plan_endpoints(inventory, InvocationMetrics(clients.cloudwatch), settings, now)
        gone_endpoints = _apply_endpoint_plan(plan, inventory, gateway, prices, report, dry_run)
        if inventory.complete:
            _clean_configs_and_models(inventory, gone_endpoints, reader, gateway, settings, now, report, dry_run)
        else:
            report.fail("endpoint_config", "*", "plan", "skipped: the inventory is incomplete (see other failures)")

    live = (
        frozenset(inventory.endpoints) - gone_endpoints if inventory.endpoints_listed and inventory.complete else None
    )
    _clean_log_groups(LogGroups(clients.logs), gone_endpoints, live, settings, now, report, dry_run)

    if publish:
        publish_report(
            report,
            bucket=DataBucket(clients.s3, settings.data_bucket),
            notifier=Notifier(clients.sns, settings.notification_topic_arn),
        )
    return report


# --- reading -----------------------------------------------------------------------------------------
def _read_inventory(reader: SageMakerInventory, report: CleanupReport) -> _Inventory:
    inventory = _Inventory()
    try:
        summaries = list(reader.list_endpoints())
        config_summaries = list(reader.list_endpoint_configs())
    except Exception as error:  # noqa: BLE001 - without a listing nothing SageMaker can be judged
        report.fail("endpoint", "*", "ListEndpoints/ListEndpointConfigs", describe(error))
        inventory.complete = False
        return inventory
    inventory.endpoints_listed = True
    report.endpoints_seen = len(summaries)

    for summary in summaries:
        try:
            facts = reader.describe_endpoint(summary, reader.tags(summary.arn))
        except Exception as error:  # noqa: BLE001
            report.fail("endpoint", summary.name, "ListTags/DescribeEndpoint", describe(error))
            inventory.complete = False
            continue
        if facts is not None:  # None: deleted since it was listed
            inventory.endpoints[facts.name] = facts

    for summary in config_summaries:
        try:
            config = reader.describe_endpoint_config(summary)
        except Exception as error:  # noqa: BLE001
            report.fail("endpoint_config", summary.name, "DescribeEndpointConfig", describe(error))
            inventory.complete = False
            continue
        if config is not None:
            inventory.configs[config.name] = config
    return inventory


# --- endpoints ---------------------------------------------------------------------------------------
def _plan_endpoints(
    inventory: _Inventory, metrics: InvocationMetrics, settings: CleanupSettings, now: datetime
) -> list[Decision]:
    candidates = [e for e in inventory.endpoints.values() if is_candidate(e.tags, settings)]
    decisions: dict[str, Decision] = {}
    to_measure: list[EndpointFacts] = []
    for endpoint in candidates:
        decision = decide_without_traffic(endpoint, settings, now)
        if decision is None:
            to_measure.append(endpoint)
        else:
            decisions[endpoint.name] = decision
    # Only endpoints whose fate depends on traffic are measured: one query per variant, 500 per call.
    traffic = metrics.invocations(to_measure, now - settings.lookback, now) if to_measure else {}
    for endpoint in to_measure:
        decisions[endpoint.name] = decide_with_traffic(endpoint, traffic[endpoint.name], settings, now)
    ordered = [decisions[e.name] for e in candidates]
    return limit_deletions(ordered, inventory.endpoints, settings.max_deletions)


def _apply_endpoint_plan(
    plan: list[Decision],
    inventory: _Inventory,
    gateway: SageMakerGateway,
    prices: PriceTable,
    report: CleanupReport,
    dry_run: bool,
) -> frozenset[str]:
    """Delete what the plan says; return the endpoints that are (or, in a dry run, would be) gone."""
    gone: set[str] = set()
    for decision in plan:
        if decision.action is Action.KEEP:
            report.add(ActionRecord(Kind.ENDPOINT, decision.name, Outcome.KEPT, decision.reason, decision.detail))
            continue
        endpoint = inventory.endpoints[decision.name]
        saving = prices.monthly_cost(endpoint, inventory.configs.get(endpoint.config_name or ""))
        record = ActionRecord(Kind.ENDPOINT, endpoint.name, Outcome.WOULD_DELETE, decision.reason, decision.detail)
        if not dry_run:
            try:
                deleted = gateway.delete_endpoint(endpoint.name)
            except Exception as error:  # noqa: BLE001
                report.add(replace(record, outcome=Outcome.FAILED, error=describe(error)))
                continue
            record = replace(record, outcome=Outcome.DELETED if deleted else Outcome.ALREADY_GONE)
            if not deleted:
                saving = None  # someone else deleted it: not our saving
        report.add(replace(record, monthly_saving_usd=saving))
        gone.add(endpoint.name)
    return frozenset(gone)


# --- endpoint configs and models ------------------------------------------------------------------------
def _clean_configs_and_models(
    inventory: _Inventory,
    gone_endpoints: frozenset[str],
    reader: SageMakerInventory,
    gateway: SageMakerGateway,
    settings: CleanupSettings,
    now: datetime,
    report: CleanupReport,
    dry_run: bool,
) -> None:
    live = [e for name, e in inventory.endpoints.items() if name not in gone_endpoints]
    configs_in_use = frozenset(e.config_name for e in live if e.config_name)
    configs_of_deleted = frozenset(
        inventory.endpoints[name].config_name for name in gone_endpoints if inventory.endpoints[name].config_name
    )

    removed_configs: set[str] = set()
    for config in inventory.configs.values():
        unused_old = (
            config.name not in configs_in_use
            and config.name not in configs_of_deleted
            and now - config.created_at >= settings.grace
        )
        # Tags are read only for unused, old configs: the only ones whose tag can change the answer.
        tagged = unused_old and _has_stack_tag(reader, config.arn, settings, report, Kind.ENDPOINT_CONFIG, config.name)
        decision = decide_config(
            config,
            configs_of_deleted_endpoints=configs_of_deleted,
            configs_in_use=configs_in_use,
            tagged_with_stack=tagged,
            settings=settings,
            now=now,
        )
        if decision is not None and _apply(decision, gateway.delete_endpoint_config, report, dry_run):
            removed_configs.add(config.name)

    remaining = [c for name, c in inventory.configs.items() if name not in removed_configs]
    referencing = models_referenced_by(remaining)
    models_of_removed = frozenset().union(*(inventory.configs[name].model_names for name in removed_configs))
    try:
        models = list(reader.list_models())
    except Exception as error:  # noqa: BLE001
        report.fail("model", "*", "ListModels", describe(error))
        return
    for model in models:
        unreferenced_old_stranger = (
            model.name not in models_of_removed
            and model.name not in referencing
            and now - model.created_at >= settings.grace
        )
        tagged = unreferenced_old_stranger and _has_stack_tag(
            reader, model.arn, settings, report, Kind.MODEL, model.name
        )
        decision = decide_model(
            model,
            models_of_deleted_configs=models_of_removed,
            referencing_configs=referencing,
            tagged_with_stack=tagged,
            settings=settings,
            now=now,
        )
        if decision is not None:
            _apply(decision, gateway.delete_model, report, dry_run)


def _has_stack_tag(
    reader: SageMakerInventory,
    arn: str,
    settings: CleanupSettings,
    report: CleanupReport,
    kind: Kind,
    name: str,
) -> bool:
    try:
        return reader.tags(arn).get(STACK_TAG) == settings.stack_name
    except Exception as error:  # noqa: BLE001 - unknown tags: not ours, left alone
        report.fail(kind.value, name, "ListTags", describe(error))
        return False


def _apply(decision: Decision, delete, report: CleanupReport, dry_run: bool) -> bool:
    """Record a config or model decision, deleting if asked; True when it is (or would be) gone."""
    record = ActionRecord(decision.kind, decision.name, Outcome.KEPT, decision.reason, decision.detail)
    if decision.action is Action.KEEP:
        report.add(record)
        return False
    if dry_run:
        report.add(replace(record, outcome=Outcome.WOULD_DELETE))
        return True
    try:
        deleted = delete(decision.name)
    except Exception as error:  # noqa: BLE001
        report.add(replace(record, outcome=Outcome.FAILED, error=describe(error)))
        return False
    report.add(replace(record, outcome=Outcome.DELETED if deleted else Outcome.ALREADY_GONE))
    return True


# --- log groups -----------------------------------------------------------------------------------------
def _clean_log_groups(
    logs: LogGroups,
    gone_endpoints: frozenset[str],
    live_endpoints: frozenset[str] | None,
    settings: CleanupSettings,
    now: datetime,
    report: CleanupReport,
    dry_run: bool,
) -> None:
    try:
        groups = list(logs.list(SAGEMAKER_LOG_GROUP_PREFIX))
    except Exception as error:  # noqa: BLE001
        report.fail("log_group", f"{SAGEMAKER_LOG_GROUP_PREFIX}*", "DescribeLogGroups", describe(error))
        return
    report.log_groups_seen = len(groups)
    for group in groups:
        if may_be_idle(group, settings, now):
            # Only old groups can be idle long enough: their streams are read, the others' are not.
            try:
                group = replace(group, last_event_at=logs.last_event_at(group.name))
            except Exception as error:  # noqa: BLE001 - unknown last write: not idle, left alone
                report.fail("log_group", group.name, "DescribeLogStreams", describe(error))
                group = replace(group, last_event_at=now)
        for decision in decide_log_group(
            group, deleted_endpoints=gone_endpoints, live_endpoints=live_endpoints, settings=settings, now=now
        ):
            _apply_log_group_decision(decision, logs, settings, report, dry_run)


def _apply_log_group_decision(
    decision: Decision,
    logs: LogGroups,
    settings: CleanupSettings,
    report: CleanupReport,
    dry_run: bool,
) -> None:
    record = ActionRecord(Kind.LOG_GROUP, decision.name, Outcome.KEPT, decision.reason, decision.detail)
    if decision.action is Action.KEEP:
        report.add(record)
        return
    try:
        if decision.action is Action.SET_RETENTION:
            if dry_run:
                report.add(replace(record, outcome=Outcome.WOULD_SET_RETENTION))
            else:
                logs.put_retention(decision.name, settings.log_group_retention_days)
                report.add(replace(record, outcome=Outcome.RETENTION_SET))
            return
        if dry_run:
            report.add(replace(record, outcome=Outcome.WOULD_DELETE))
            return
        result = logs.delete(decision.name)
    except Exception as error:  # noqa: BLE001
        report.add(replace(record, outcome=Outcome.FAILED, error=describe(error)))
        return
    if result is LogGroupDeletion.PROTECTED:
        # Protection switched on after we listed it (or not reported by DescribeLogGroups): respected.
        report.add(replace(record, reason=Reason.LOG_GROUP_PROTECTED, detail=decision.reason.value))
    else:
        outcome = Outcome.DELETED if result is LogGroupDeletion.DELETED else Outcome.ALREADY_GONE
        report.add(replace(record, outcome=outcome))


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so comparisons with AWS timestamps never raise."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
