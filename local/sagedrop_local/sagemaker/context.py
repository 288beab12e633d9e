"""What every part of the local SageMaker shares: the store, the clients, the clock, names and ARNs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import observability
from .errors import validation_exception
from .store import Store

if TYPE_CHECKING:
    from .warm import WarmInterpreters

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
LOG_EVENTS_KEPT = 500  # per stream: enough to republish, not a log archive
_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def utc_now() -> datetime:
    return datetime.now(UTC)


def validate_name(value: str, field_name: str) -> None:
    """SageMaker's resource-name pattern, with its error message."""
    if not _NAME_PATTERN.match(value or ""):
        raise validation_exception(
            f"1 validation error detected: Value '{value}' at '{field_name}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )


@dataclass
class Local:
    """The shared parts. ``clock`` returns "now" (naive values are taken as UTC)."""

    store: Store
    s3: Any
    state_dir: Path
    logs: Any = None
    cloudwatch: Any = None
    clock: Callable[[], datetime] = field(default=utc_now)
    account_id: str = DEFAULT_ACCOUNT_ID
    startup_seconds: float = 1.0
    interpreters: WarmInterpreters | None = None  #: container processes started ahead of need

    def now(self) -> datetime:
        value = self.clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"

    def write_logs(self, group: str, stream: str, lines: list[tuple[datetime, str]]) -> None:
        """Record the lines (for ``republish``) and put them into CloudWatch Logs when there is a client."""
        events = [{"timestamp": int(ts.timestamp() * 1000), "message": message} for ts, message in lines]
        with self.store.write() as tables:
            recorded = tables["log_groups"].setdefault(group, {"streams": {}})
            kept = recorded["streams"].setdefault(stream, [])
            kept.extend(events)
            del kept[:-LOG_EVENTS_KEPT]
        if self.logs is not None:
            observability.put_log_events(self.logs, group, stream, events)

    def forget_log_group(self, group: str) -> None:
        """The log group was deleted: a later ``republish`` must not bring it back."""
        with self.store.read() as tables:
            if group not in tables["log_groups"]:
                return
        with self.store.write() as tables:
            tables["log_groups"].pop(group, None)
