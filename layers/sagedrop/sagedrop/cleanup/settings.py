"""Cleanup settings: read from the environment once, at cold start, into one typed object.

A missing or malformed variable raises InvalidConfigError naming the variable, so a broken
deployment fails on its first invocation instead of deleting the wrong things.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta

from sagedrop.environment import boolean, integer, required
from sagedrop.errors import InvalidConfigError

# The only values PutRetentionPolicy accepts (CloudWatch Logs API reference).
VALID_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# Hourly metric data is kept 455 days; beyond 90 days a "look-back" is no longer an idleness test.
MAX_LOOKBACK_HOURS = 90 * 24


def _opt_in_tag(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    key, separator, value = raw.partition("=")
    if not separator or not key.strip() or not value.strip():
        raise InvalidConfigError(f"environment variable {name} must look like key=value, got {raw!r}")
    return key.strip(), value.strip()


@dataclass(frozen=True)
class CleanupSettings:
    """Everything the nightly cleanup needs to know; see docs/cleanup.md for each setting."""

    data_bucket: str
    notification_topic_arn: str
    stack_name: str
    lookback_hours: int = 24
    grace_hours: int = 24
    max_deletions: int = 10
    include_serverless: bool = False
    opt_in_tag: tuple[str, str] | None = None
    log_group_max_idle_days: int = 30
    log_group_retention_days: int = 30

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> CleanupSettings:
        env = os.environ if environ is None else environ
        retention = integer(env, "LOG_GROUP_RETENTION_DAYS", 30, minimum=1)
        if retention not in VALID_RETENTION_DAYS:
            raise InvalidConfigError(
                f"environment variable LOG_GROUP_RETENTION_DAYS must be one of "
                f"{sorted(VALID_RETENTION_DAYS)}, got {retention}"
            )
        topic_arn = required(env, "NOTIFICATION_TOPIC_ARN")
        if not topic_arn.startswith("arn:"):
            raise InvalidConfigError(f"environment variable NOTIFICATION_TOPIC_ARN is not an ARN: {topic_arn!r}")
        return cls(
            data_bucket=required(env, "DATA_BUCKET"),
            notification_topic_arn=topic_arn,
            stack_name=required(env, "STACK_NAME"),
            lookback_hours=integer(env, "CLEANUP_LOOKBACK_HOURS", 24, minimum=1, maximum=MAX_LOOKBACK_HOURS),
            grace_hours=integer(env, "CLEANUP_GRACE_HOURS", 24, minimum=0),
            max_deletions=integer(env, "CLEANUP_MAX_DELETIONS", 10, minimum=0),
            include_serverless=boolean(env, "CLEANUP_INCLUDE_SERVERLESS", False),
            opt_in_tag=_opt_in_tag(env, "CLEANUP_OPT_IN_TAG"),
            log_group_max_idle_days=integer(env, "LOG_GROUP_MAX_IDLE_DAYS", 30, minimum=1),
            log_group_retention_days=retention,
        )

    @property
    def lookback(self) -> timedelta:
        return timedelta(hours=self.lookback_hours)

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.grace_hours)

    @property
    def log_group_max_idle(self) -> timedelta:
        return timedelta(days=self.log_group_max_idle_days)

    def as_dict(self) -> dict:
        """JSON-friendly copy for the report (the opt-in tag as key=value)."""
        values = asdict(self)
        values["opt_in_tag"] = "=".join(self.opt_in_tag) if self.opt_in_tag else None
        return values
