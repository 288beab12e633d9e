"""The report's Data section from data_report.json: plain values for the template.

Per column: type, missing share (with a small bar), distinct values, what preprocessing did, and
how well the column alone predicts the label; the duplicate rows, the label's balance as one
stacked bar, and the data gate's findings with their status. Bars are widths in percent that the
template puts into a ``style`` attribute; every text is escaped by the template. A report of an
older or different shape renders what it has: every key is optional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sagedrop.dataset.leakage import METRIC_NAMES, STOPS

#: Segment colours of the label balance bar (a class beyond them reuses them in order).
BALANCE_COLOURS = ("#2563eb", "#ea580c", "#059669", "#7c3aed", "#db2777", "#0891b2", "#ca8a04", "#4b5563")
TYPE_NAMES = {
    "numeric": "Numeric",
    "binary": "Two values",
    "categorical": "Categories",
    "text": "Free text",
    "identifier": "Identifier",
    "constant": "Constant",
    "empty": "Empty",
}
FIGURE_NAMES = {"min": "Minimum", "median": "Median", "max": "Maximum", "mean": "Mean", "std": "Standard deviation"}
CHECK_NAMES = {"single_column": "Predicts the label alone", "identifier": "Identifier"}


def _width(share: Any) -> str:
    share = min(max(float(share), 0.0), 1.0)
    return f"width:{share * 100:.2f}%"


def _percent(share: Any) -> str:
    if not isinstance(share, int | float) or isinstance(share, bool):
        return "—"
    return "0%" if share == 0 else (f"{share:.1%}" if share >= 0.001 else "< 0.1%")


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "—"


def _figure(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


def _share_of(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1 else None


def data_report_section(report: Mapping[str, Any] | None) -> dict | None:
    """What the template's Data report part shows; None without a report."""
    if not report:
        return None
    checks = report.get("checks") if isinstance(report.get("checks"), Mapping) else {}
    findings = [f for f in checks.get("findings") or [] if isinstance(f, Mapping)]
    flagged = {str(f.get("column")): f for f in findings}
    return {
        "verdict": _verdict(checks, findings),
        "rows": _rows(report),
        "duplicates": _duplicates(report.get("duplicates")),
        "balance": _balance(report.get("label_balance")),
        "findings": [_finding(f) for f in findings],
        "columns": [_column(c, flagged) for c in report.get("columns") or [] if isinstance(c, Mapping)],
        "sampled": _sampled(checks),
        "read_sample": _read_sample(report.get("sampled")),
        "unknown_acknowledged": [str(name) for name in checks.get("acknowledged_not_in_csv") or []],
    }


def _verdict(checks: Mapping[str, Any], findings: Sequence[Mapping[str, Any]]) -> dict | None:
    if not checks:
        return None
    acknowledged = sum(1 for f in findings if f.get("acknowledged"))
    if checks.get("passed") is False:
        return {"tone": "bad", "text": "The data gate stopped the run: see the findings below."}
    if findings and checks.get("enabled") is False:
        return {
            "tone": "warn",
            "text": "The data gate is off (data_checks.enabled is false): its findings stop nothing.",
        }
    if acknowledged:
        noun = "finding" if acknowledged == 1 else "findings"
        return {"tone": "warn", "text": f"The data gate passed, with {acknowledged} acknowledged {noun}."}
    return {
        "tone": "good",
        "text": "The data gate passed: no column predicts the label alone, none identifies the rows.",
    }


def _rows(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = report.get("rows") if isinstance(report.get("rows"), Mapping) else {}
    names = {"input": "Rows read", "kept": "Rows with a label", "dropped_missing_label": "Dropped: no label"}
    return [(name, _count(rows[key])) for key, name in names.items() if key in rows]


def _duplicates(duplicates: Any) -> dict | None:
    if not isinstance(duplicates, Mapping):
        return None
    share = _share_of(duplicates.get("share"))
    return {
        "count": _count(duplicates.get("rows")),
        "share": _percent(share),
        "style": _width(share or 0.0),
        "in_sample": bool(duplicates.get("counted_in_sample")),
    }


def _balance(balance: Any) -> dict | None:
    if not isinstance(balance, Mapping):
        return None
    if balance.get("kind") == "values":
        summary = balance.get("summary") if isinstance(balance.get("summary"), Mapping) else {}
        figures = [(FIGURE_NAMES.get(str(key), str(key)), _figure(value)) for key, value in summary.items()]
        return {"classes": [], "figures": figures}
    classes = []
    for position, item in enumerate(c for c in balance.get("classes") or [] if isinstance(c, Mapping)):
        share = _share_of(item.get("share")) or 0.0
        colour = BALANCE_COLOURS[position % len(BALANCE_COLOURS)]
        classes.append(
            {
                "label": str(item.get("label")),
                "count": _count(item.get("count")),
                "share": _percent(share),
                "style": f"{_width(share)};background:{colour}",
                "swatch": f"background:{colour}",
            }
        )
    return {"classes": classes, "figures": []}


def _finding(finding: Mapping[str, Any]) -> dict:
    return {
        "column": str(finding.get("column")),
        "check": CHECK_NAMES.get(str(finding.get("check")), str(finding.get("check"))),
        "detail": str(finding.get("detail") or ""),
        "status": str(finding.get("status") or ""),
        "acknowledged": bool(finding.get("acknowledged")),
        "stops": finding.get("status") == STOPS,
    }


def _column(column: Mapping[str, Any], flagged: Mapping[str, Mapping[str, Any]]) -> dict:
    name = str(column.get("column"))
    missing = _share_of(column.get("missing_share"))
    association = column.get("label_association") if isinstance(column.get("label_association"), Mapping) else None
    score = _share_of(association.get("score")) if association else None
    finding = flagged.get(name)
    role = column.get("role")
    return {
        "name": name,
        "type": TYPE_NAMES.get(str(column.get("type")), str(column.get("type") or "—")),
        "missing": _percent(missing),
        "missing_style": _width(missing or 0.0),
        "distinct": _count(column.get("distinct")),
        "action": str(column.get("action") or "—"),
        "score": None if score is None else f"{score:.3f}",
        "score_style": _width(score or 0.0),
        "metric": METRIC_NAMES.get(str(association.get("metric")), "") if association else "",
        "label": role == "label",
        "dropped": role == "dropped",
        "flag": None if finding is None else ("acknowledged" if finding.get("acknowledged") else "finding"),
    }


def _sampled(checks: Mapping[str, Any]) -> str | None:
    sampled = checks.get("sampled")
    if not isinstance(sampled, Mapping):
        return None
    return (
        f"Scores against the label use a random sample of {_count(sampled.get('rows'))} of the "
        f"{_count(sampled.get('of_training_rows'))} training rows; counts use every row."
    )


def _read_sample(sampled: Any) -> str | None:
    """A large upload read as a stream: which figures come from its row sample (the report's ``sampled``)."""
    if not isinstance(sampled, Mapping):
        return None
    return (
        f"This upload was read as a stream: the summaries, most frequent values, scores against the label and "
        f"duplicate rows come from a random sample of {_count(sampled.get('rows'))} of its "
        f"{_count(sampled.get('of_rows'))} rows with a label; rows, missing and distinct values (estimated for "
        f"columns with very many values) and the label balance count every row."
    )
