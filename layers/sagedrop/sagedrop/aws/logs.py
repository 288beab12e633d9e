"""CloudWatch Logs: log groups under a prefix, their last write, deletion, retention."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sagedrop.aws.errors import error_code, error_message, is_not_found


@dataclass(frozen=True)
class LogGroupFacts:
    name: str
    created_at: datetime
    retention_days: int | None
    deletion_protected: bool
    last_event_at: datetime | None = None


class LogGroupDeletion(StrEnum):
    DELETED = "deleted"
    ALREADY_GONE = "already_gone"
    PROTECTED = "protected"


def _from_millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


def is_deletion_protection_error(error: BaseException) -> bool:
    # The API answers ValidationException "Cannot delete log group with deletion protection enabled.
    # Disable deletion protection first." (CloudWatch Logs user guide, "Protecting log groups").
    return error_code(error) in {"ValidationException", "InvalidOperationException"} and (
        "deletion protection" in error_message(error).lower()
    )


class LogGroups:
    def __init__(self, client: Any) -> None:
        self.client = client

    def list(self, prefix: str) -> Iterator[LogGroupFacts]:
        for page in self.client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
            for group in page.get("logGroups", []):
                yield LogGroupFacts(
                    name=group["logGroupName"],
                    created_at=_from_millis(group.get("creationTime", 0)),
                    retention_days=group.get("retentionInDays"),
                    deletion_protected=bool(group.get("deletionProtectionEnabled", False)),
                )

    def last_event_at(self, name: str) -> datetime | None:
        """Latest event or ingestion time over the group's streams (None if it has no stream).

        Ordered by LastEventTime, so one stream is enough; these timestamps are eventually
        consistent, which is why the cleanup adds a margin before calling a group idle.
        """
        response = self.client.describe_log_streams(
            logGroupName=name, orderBy="LastEventTime", descending=True, limit=1
        )
        streams = response.get("logStreams", [])
        if not streams:
            return None
        stream = streams[0]
        candidates = [
            _from_millis(stream.get(key))
            for key in ("lastEventTimestamp", "lastIngestionTime", "creationTime")
            if stream.get(key) is not None
        ]
        return max(candidates) if candidates else None

    def delete(self, name: str) -> LogGroupDeletion:
        try:
            self.client.delete_log_group(logGroupName=name)
        except Exception as error:
            if is_not_found(error):
                return LogGroupDeletion.ALREADY_GONE
            if is_deletion_protection_error(error):
                return LogGroupDeletion.PROTECTED
            raise
        return LogGroupDeletion.DELETED

    def put_retention(self, name: str, days: int) -> None:
        self.client.put_retention_policy(logGroupName=name, retentionInDays=days)
