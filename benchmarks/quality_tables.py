"""The quality benchmark's text: the table of means, each split's figures, the cost line.

Beside benchmarks/model_quality.py, which imports it (plain formatting; unit-tested with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "f1": "F1 (positive) at chosen threshold",
    "f1@0.5": "F1 (positive) at 0.5",
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "r2": "R²",
    "rmse": "RMSE",
}


def format_table(rows: list[dict[str, Any]]) -> str:
    """rows: dataset, metric, sagedrop, histgb, won, target, verdict (floats or None) → aligned text."""
    headers = ("data set", "metric", "sagedrop", "HistGB", "splits ≥ HistGB", "target", "")
    cells = [
        (
            row["dataset"],
            METRIC_LABELS.get(row["metric"], row["metric"]),
            _cell(row["sagedrop"]),
            _cell(row["histgb"]),
            row.get("won", "—"),
            "—" if row["target"] is None else f"≥ {row['target']:.2f}",
            row["verdict"],
        )
        for row in rows
    ]
    return _aligned(headers, cells, left=2)


def format_splits(entries: list[dict[str, Any]], seeds: list[int]) -> str:
    """entries: dataset, metric, ours, theirs (a figure per split, in ``seeds``' order) → one line each."""
    headers = ("data set", "metric", *(f"seed {seed}: sagedrop / HistGB" for seed in seeds))
    cells = [
        (
            entry["dataset"],
            METRIC_LABELS.get(entry["metric"], entry["metric"]),
            *(f"{_cell(mine)} / {_cell(other)}" for mine, other in zip(entry["ours"], entry["theirs"], strict=True)),
        )
        for entry in entries
    ]
    return _aligned(headers, cells, left=2)


def _aligned(headers: tuple[str, ...], cells: list[tuple[str, ...]], *, left: int) -> str:
    """Columns as wide as their widest cell: the first ``left`` to the left, the others to the right."""
    widths = [max(len(headers[i]), *(len(cell[i]) for cell in cells)) for i in range(len(headers))]
    lines = []
    for line in (headers, *cells):
        text = "  ".join(
            value.ljust(width) if i < left else value.rjust(width)
            for i, (value, width) in enumerate(zip(line, widths, strict=True))
        )
        lines.append(text.rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def cost_line(dataset: str, cost: Mapping[str, Any] | None) -> str:
    """``estimated_cost_usd`` ({"total_usd", "items": [{"what", "usd"}, …], "prices_as_of", …}) on one line."""
    if cost is None:
        return f"{dataset}: run.json has no estimated_cost_usd"
    total = number(cost.get("total_usd"))
    items = [item for item in cost.get("items") or [] if isinstance(item, Mapping) and number(item.get("usd"))]
    parts = "; ".join(f"{item.get('what', '?')} ${item['usd']:.4f}" for item in items)
    notes = [f"prices as of {cost['prices_as_of']}"] if cost.get("prices_as_of") else []
    if cost.get("complete") is False:
        notes.append("incomplete")
    head = "?" if total is None else f"${total:.4f}"
    return (
        f"{dataset}: estimated cost of the run {head}"
        + (f" ({parts})" if parts else "")
        + (f" [{', '.join(notes)}]" if notes else "")
    )


def number(value: Any) -> float | None:
    """A JSON number as a float (not a boolean), else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
