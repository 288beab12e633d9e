"""The values cleanup reasons about besides the facts: tags, reasons, decisions, what happened.

The facts themselves (endpoints, configs, models, log groups, traffic) are the plain frozen
dataclasses the ``sagedrop.aws`` adapters return; the rules in ``rules.py`` take facts and return
these decisions, so every rule can be tested with literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sagedrop.names import KEEP_TAG

ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
SAGEMAKER_LOG_GROUP_PREFIX = "/aws/sagemaker/"


class Kind(StrEnum):
    ENDPOINT = "endpoint"
    ENDPOINT_CONFIG = "endpoint_config"
    MODEL = "model"
    LOG_GROUP = "log_group"


class Reason(StrEnum):
    """Why a resource was (or would be) deleted or kept. The values appear in the report."""

    # endpoints: deleted
    IDLE = "idle: zero invocations over all variants in the look-back window"
    IDLE_NO_DATA = "idle: no Invocations data points and older than the look-back window"
    FAILED_ENDPOINT = "endpoint status Failed and older than the grace period"
    # endpoints: kept
    PROTECTED_BY_TAG = f"protected by tag {KEEP_TAG}=true"
    YOUNGER_THAN_GRACE = "younger than the grace period"
    SERVERLESS = "serverless endpoint (idle costs nothing; CLEANUP_INCLUDE_SERVERLESS is off)"
    IN_USE = "invoked in the look-back window"
    NO_DATA_YOUNG = "no Invocations data points yet, but younger than the look-back window"
    METRICS_UNAVAILABLE = "Invocations could not be read; kept to be safe"
    IN_TRANSITION = "endpoint status is changing; not touched until it settles"
    BLAST_RADIUS = "would be deleted, but CLEANUP_MAX_DELETIONS was reached this run"
    # endpoint configs and models
    OF_DELETED_ENDPOINT = "belonged to a deleted endpoint and nothing else uses it"
    ORPHAN_OF_STACK = "tagged with this stack, unused and older than the grace period"
    USED_BY_ENDPOINT = "still used by another endpoint"
    REFERENCED_BY_CONFIG = "still referenced by an endpoint config"
    # log groups
    LOG_GROUP_OF_DELETED_ENDPOINT = "log group of a deleted endpoint"
    LOG_GROUP_IDLE = "no log event for longer than LOG_GROUP_MAX_IDLE_DAYS (plus a safety margin)"
    LOG_GROUP_PROTECTED = "deletion protection is enabled on the log group"
    LOG_GROUP_OF_LIVE_ENDPOINT = "log group of an endpoint that still exists"
    NO_RETENTION = "had no retention policy; LOG_GROUP_RETENTION_DAYS applied"


class Outcome(StrEnum):
    DELETED = "deleted"
    WOULD_DELETE = "would_delete"
    KEPT = "kept"
    ALREADY_GONE = "already_gone"
    FAILED = "failed"
    RETENTION_SET = "retention_set"
    WOULD_SET_RETENTION = "would_set_retention"


class Action(StrEnum):
    DELETE = "delete"
    KEEP = "keep"
    SET_RETENTION = "set_retention"


@dataclass(frozen=True)
class Decision:
    kind: Kind
    name: str
    action: Action
    reason: Reason
    detail: str = ""


@dataclass(frozen=True)
class ActionRecord:
    """One line of the report: what was decided for a resource and what happened."""

    kind: Kind
    name: str
    outcome: Outcome
    reason: Reason | None
    detail: str = ""
    error: str | None = None
    monthly_saving_usd: float | None = None

    def as_dict(self) -> dict:
        record = {
            "kind": self.kind.value,
            "name": self.name,
            "outcome": self.outcome.value,
            "reason": self.reason.value if self.reason else None,
        }
        if self.detail:
            record["detail"] = self.detail
        if self.error:
            record["error"] = self.error
        if self.monthly_saving_usd is not None:
            record["estimated_monthly_saving_usd"] = self.monthly_saving_usd
        return record
