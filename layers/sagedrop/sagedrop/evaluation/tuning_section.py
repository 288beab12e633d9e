"""The report's tuning section: every trial of a tuned run, best first, with its searched values.

Reads ``runs/<run-id>/tuning/trials.json`` as "Take the best trial" wrote it: the objective metric
and its type (``Maximize`` or ``Minimize``, as the tuning job was given it), the best trial and each
trial's status, objective and tuned hyperparameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import charts

#: Trials listed in the table (a tuning job may run up to 500).
MAX_TRIAL_ROWS = 50


def _values(hyperparameters: Mapping[str, Any]) -> str:
    return " · ".join(f"{name} {value}" for name, value in sorted(hyperparameters.items()))


def tuning_section(trials: Mapping[str, Any] | None) -> dict | None:
    """Rows (best first), a chart of the objectives and a sentence; None for a run that was not tuned."""
    if not trials or not trials.get("trials"):
        return None
    metric = str(trials.get("objective_metric") or "objective")
    maximise = trials.get("objective_type") == "Maximize"
    scored = [trial for trial in trials["trials"] if trial.get("objective") is not None]
    unscored = [trial for trial in trials["trials"] if trial.get("objective") is None]
    ordered = sorted(scored, key=lambda trial: -trial["objective"] if maximise else trial["objective"]) + unscored
    best = trials.get("best_training_job")
    rows = [
        {
            "job": str(trial["job_name"]),
            "best": trial["job_name"] == best,
            "status": str(trial.get("status") or ""),
            "objective": "—" if trial.get("objective") is None else f"{trial['objective']:.4g}",
            "searched": _values(trial.get("hyperparameters") or {}),
            "reason": trial.get("failure_reason") or "",
        }
        for trial in ordered[:MAX_TRIAL_ROWS]
    ]
    chart = None
    if scored:
        in_order = [trial for trial in trials["trials"] if trial.get("objective") is not None]
        chart = charts.bar_rows_chart(
            "tuning-trials",
            f"{metric} per trial",
            [str(trial["job_name"]).rsplit("-", 2)[-2] for trial in in_order],
            [(metric, [float(trial["objective"]) for trial in in_order], charts.BLUE)],
            value_format="{:.4g}",
        )
    return {
        "metric": metric,
        "direction": "higher is better" if maximise else "lower is better",
        "count": len(trials["trials"]),
        "scored": len(scored),
        "best": best,
        "best_objective": None if trials.get("best_objective") is None else f"{trials['best_objective']:.4g}",
        "rows": rows,
        "more": max(0, len(ordered) - MAX_TRIAL_ROWS),
        "chart": chart,
    }
