"""The cleanup report: one JSON document in the data bucket and a short SNS summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sagedrop.aws.errors import describe
from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.cleanup.model import ActionRecord, Kind, Outcome

REPORT_PREFIX = "cleanup/"
_SNS_LISTED_PER_SECTION = 50  # the full list is in the JSON report; SNS messages max out at 256 KiB


@dataclass(frozen=True)
class Failure:
    """Something that could not be done (or read). The run went on; the next run will retry."""

    kind: str
    name: str
    operation: str
    error: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "operation": self.operation, "error": self.error}


@dataclass
class CleanupReport:
    evaluated_at: datetime
    dry_run: bool
    settings: dict
    price_table: dict
    records: list[ActionRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    endpoints_seen: int = 0
    log_groups_seen: int = 0
    report_uri: str | None = None

    # --- recording ----------------------------------------------------------------------------------
    def add(self, record: ActionRecord) -> None:
        self.records.append(record)
        if record.outcome is Outcome.FAILED:
            self.failures.append(Failure(record.kind.value, record.name, "delete", record.error or ""))

    def fail(self, kind: str, name: str, operation: str, error: str) -> None:
        self.failures.append(Failure(kind, name, operation, error))

    # --- views ----------------------------------------------------------------------------------------
    def records_of(self, kind: Kind, *outcomes: Outcome) -> list[ActionRecord]:
        return [r for r in self.records if r.kind is kind and (not outcomes or r.outcome in outcomes)]

    @property
    def removal_outcome(self) -> Outcome:
        return Outcome.WOULD_DELETE if self.dry_run else Outcome.DELETED

    @property
    def estimated_monthly_saving_usd(self) -> float:
        return round(sum(r.monthly_saving_usd or 0.0 for r in self.records_of(Kind.ENDPOINT, self.removal_outcome)), 2)

    def counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {kind.value: {} for kind in Kind}
        for record in self.records:
            per_kind = counts[record.kind.value]
            per_kind[record.outcome.value] = per_kind.get(record.outcome.value, 0) + 1
        return counts

    @property
    def key(self) -> str:
        return f"{REPORT_PREFIX}{self.evaluated_at.strftime('%Y%m%dT%H%M%SZ')}.json"

    def as_dict(self) -> dict:
        """The full report, as written to ``cleanup/<timestamp>.json``."""
        return {
            "evaluated_at": self.evaluated_at.isoformat(),
            "dry_run": self.dry_run,
            "settings": self.settings,
            "endpoints_seen": self.endpoints_seen,
            "log_groups_seen": self.log_groups_seen,
            "counts": self.counts(),
            "estimated_monthly_saving_usd": self.estimated_monthly_saving_usd,
            "price_table": self.price_table,
            "endpoints": [r.as_dict() for r in self.records_of(Kind.ENDPOINT)],
            "endpoint_configs": [r.as_dict() for r in self.records_of(Kind.ENDPOINT_CONFIG)],
            "models": [r.as_dict() for r in self.records_of(Kind.MODEL)],
            "log_groups": [r.as_dict() for r in self.records_of(Kind.LOG_GROUP)],
            "failures": [f.as_dict() for f in self.failures],
        }

    def summary(self) -> dict:
        """The small dict the Lambda returns (and the CLI prints)."""
        removed = self.removal_outcome
        return {
            "dry_run": self.dry_run,
            "evaluated_at": self.evaluated_at.isoformat(),
            "report": self.report_uri,
            "endpoints_deleted": [r.name for r in self.records_of(Kind.ENDPOINT, removed)],
            "endpoints_kept": len(self.records_of(Kind.ENDPOINT, Outcome.KEPT)),
            "endpoint_configs_deleted": len(self.records_of(Kind.ENDPOINT_CONFIG, removed)),
            "models_deleted": len(self.records_of(Kind.MODEL, removed)),
            "log_groups_deleted": len(self.records_of(Kind.LOG_GROUP, removed)),
            "failures": len(self.failures),
            "estimated_monthly_saving_usd": self.estimated_monthly_saving_usd,
        }

    # --- SNS ----------------------------------------------------------------------------------------
    def sns_subject(self) -> str:
        removed = self.records_of(Kind.ENDPOINT, self.removal_outcome)
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"sagedrop cleanup{' (dry run)' if self.dry_run else ''}: {verb} {len(removed)} endpoint(s), "
            f"{len(self.failures)} failure(s)"
        )

    def sns_message(self) -> str:
        removed = self.removal_outcome
        mode = " DRY RUN" if self.dry_run else ""
        lines = [
            f"sagedrop cleanup{mode}, evaluated at {self.evaluated_at.isoformat()}",
            f"Full report: {self.report_uri or 'not written (see failures)'}",
            "",
        ]
        if not any(r.outcome in (removed, Outcome.FAILED) for r in self.records) and not self.failures:
            lines.append("Nothing to delete.")

        def section(title: str, records: list[ActionRecord]) -> None:
            if not records:
                return
            lines.append(f"{title} ({len(records)}):")
            for record in records[:_SNS_LISTED_PER_SECTION]:
                extra = f" — saves ~${record.monthly_saving_usd:,.2f}/month" if record.monthly_saving_usd else ""
                why = record.reason.value if record.reason else ""
                lines.append(f"  - {record.name}: {why}{extra}")
            if len(records) > _SNS_LISTED_PER_SECTION:
                lines.append(f"  … and {len(records) - _SNS_LISTED_PER_SECTION} more in the report")
            lines.append("")

        verb = "Would delete" if self.dry_run else "Deleted"
        section(f"{verb} endpoints", self.records_of(Kind.ENDPOINT, removed))
        section("Kept endpoints", self.records_of(Kind.ENDPOINT, Outcome.KEPT))
        section(f"{verb} endpoint configs", self.records_of(Kind.ENDPOINT_CONFIG, removed))
        section(f"{verb} models", self.records_of(Kind.MODEL, removed))
        section(f"{verb} log groups", self.records_of(Kind.LOG_GROUP, removed))
        if self.failures:
            lines.append(f"Failures ({len(self.failures)}):")
            lines.extend(
                f"  - {f.kind} {f.name}: {f.operation}: {f.error}" for f in self.failures[:_SNS_LISTED_PER_SECTION]
            )
            lines.append("")
        saving = self.estimated_monthly_saving_usd
        lines.append(
            f"Estimated monthly saving: ${saving:,.2f} (prices {self.price_table.get('region')} "
            f"as of {self.price_table.get('as_of')}, source {self.price_table.get('source')})"
        )
        return "\n".join(lines)


def publish_report(report: CleanupReport, *, bucket: DataBucket, notifier: Notifier) -> None:
    """Write the JSON report, then the SNS summary; a failure of either is recorded, not raised."""
    try:
        report.report_uri = bucket.write_json(report.key, report.as_dict())
    except Exception as error:  # noqa: BLE001 - the SNS summary still goes out and names the failure
        report.fail("report", report.key, "PutObject", describe(error))
    try:
        notifier.publish(report.sns_subject(), report.sns_message())
    except Exception as error:  # noqa: BLE001
        report.fail("report", notifier.topic_arn, "Publish", describe(error))
