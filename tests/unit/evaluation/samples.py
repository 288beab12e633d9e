"""Complete report inputs for each problem type, from small synthetic predictions.

The evaluation documents come from the real ``build_evaluation``; the schema, run facts, data
report, timings and cost have the shapes the pipeline writes. Shared by the report's unit tests
and the real-browser test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sagedrop.evaluation import BINARY, MULTICLASS, REGRESSION, build_evaluation, label_stats_from_training
from sagedrop.evaluation import metrics as m
from sagedrop.pricing import LambdaUse, estimate_run_cost

PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)
#: What each problem type's report must draw (``data-chart`` values).
EXPECTED_CHARTS = {
    BINARY: {
        "confusion-matrix",
        "roc",
        "precision-recall",
        "gain",
        "lift",
        "calibration",
        "feature-importance",
        "tuning-trials",
        "timings",
    },
    MULTICLASS: {"confusion-matrix", "per-class", "feature-importance", "timings"},
    REGRESSION: {"predicted-vs-actual", "residuals", "feature-importance", "timings"},
}

STEPS = [
    ("Start the run", 0.3, 1),
    ("Prepare the data", 4.2, 1),
    ("Start training", 0.4, 1),
    ("Wait for training", 60.0, 4),
    ("Check training", 0.3, 5),
    ("Deploy the model", 0.6, 1),
    ("Wait for the endpoint", 60.0, 6),
    ("Check the endpoint", 0.2, 7),
    ("Evaluate the model", 7.5, 1),
    ("Finish the run", 1.1, 1),
]
MEMORY_MB = {"Prepare the data": 3008, "Evaluate the model": 2048}


def timings() -> list[dict]:
    """State visits as run.json's ``steps`` lists them (one entry per visit)."""
    return [{"state": name, "seconds": seconds} for name, seconds, visits in STEPS for _ in range(visits)]


def cost() -> dict:
    visits = timings()
    uses = [LambdaUse(v["seconds"], MEMORY_MB.get(v["state"], 512)) for v in visits if "Wait" not in v["state"]]
    return estimate_run_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=212,
        endpoint_instance_type="ml.m5.large",
        endpoint_seconds=540,
        state_transitions=len(visits) + 1,
        lambda_invocations=uses,
    )


def schema(label: str, problem_type: str, label_mapping: list[str] | None, rows: int) -> dict:
    encodings = {
        "age": {"kind": "numeric", "features": ["age"], "missing": 0},
        "job": {
            "kind": "one_hot",
            "categories": ["admin.", "blue-collar", "technician"],
            "features": ["job_admin.", "job_blue-collar", "job_technician"],
            "missing": 12,
        },
        "balance": {"kind": "numeric", "features": ["balance"], "missing": 31, "non_numeric_as_missing": 3},
        "duration": {"kind": "numeric", "features": ["duration"], "missing": 0},
        "customer_id": {
            "kind": "dropped",
            "reason": f"{rows} distinct values in {rows} rows: an identifier or free text",
        },
        "country": {"kind": "dropped", "reason": "constant ('PT')"},
    }
    return {
        "schema_version": 1,
        "source": "s3://sagedrop-data/incoming/bank/bank.csv",
        "label": label,
        "problem_type": problem_type,
        "features": [name for e in encodings.values() for name in e.get("features", [])],
        "feature_count": 6,
        "source_columns": list(encodings),
        "encodings": encodings,
        "label_mapping": label_mapping,
        "class_count": len(label_mapping) if label_mapping else None,
        "rows": {"input": rows * 7, "dropped_missing_label": 4, "train": rows * 5, "validation": rows, "test": rows},
        "delimiter": ",",
        "header": True,
        "text_encoding": "utf-8",
        "label_stats": {},
        "dropped_columns": [],
        "split": {"fractions": {"train": 0.7, "validation": 0.15, "test": 0.15}, "seed": 1729, "stratified": True},
    }


def data_report(label: str, problem_type: str, label_mapping: list[str] | None, y: np.ndarray) -> dict:
    """data_report.json as the preparation writes it: the real builder on an upload made up around ``y``,
    whose ``duration`` column is a leak the configuration acknowledges."""
    from sagedrop.dataset.encoding import learn_encodings
    from sagedrop.dataset.profile import build_data_report

    rng = np.random.default_rng(3)
    y = np.asarray(y)
    n = len(y)
    balance = rng.normal(1500, 900, n).round()
    balance[rng.random(n) < 0.05] = np.nan
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 95, n),
            "job": rng.choice(np.array(["admin.", "blue-collar", "technician", np.nan], dtype=object), n),
            "balance": balance,
            "duration": y.astype(float) * 100 + rng.random(n),  # follows the label: a leak
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "country": ["PT"] * n,
            label: [label_mapping[int(c)] for c in y] if label_mapping else y,
        }
    )
    features = [column for column in frame.columns if column != label]
    return build_data_report(
        frame,
        label,
        learn_encodings(frame, features, reserved=[label]),
        y,
        problem_type,
        label_mapping,
        source="incoming/bank/bank.csv",
        input_rows=n + 4,
        train_rows=np.arange(int(n * 0.7)),
        acknowledged=["duration"],
        seed=1729,
    )


def run_facts(run_id: str) -> dict:
    return {
        "run_id": run_id,
        "source": {"bucket": "sagedrop-data", "key": "incoming/bank/bank.csv", "version_id": "3HL4kqtJlcpXroDTDmJ"},
        "training_job": f"{run_id}-train",
        "training_metrics": {"validation:auc": 0.9301},
        "endpoint": f"{run_id}-endpoint",
        "config": {
            "label": "y",
            "hyperparameters": {"max_depth": "5", "eta": "0.1", "num_round": "400"},
            "training_instance_type": "ml.m5.xlarge",
            "endpoint_instance_type": "ml.m5.large",
            "serverless": None,
            "seed": 1729,
            "keep_endpoint": False,
        },
        # what the training job reported: the configuration's and what the problem type added
        "hyperparameters": {"max_depth": "5", "eta": "0.1", "num_round": "400", "objective": "binary:logistic"},
    }


def importance() -> list[dict]:
    names = [
        "duration",
        "month",
        "poutcome",
        "contact",
        "housing",
        "day",
        "age",
        "pdays",
        "balance",
        "job",
        "campaign",
        "a rather long column name that needs shortening",
    ]
    weights = np.array([0.31, 0.14, 0.11, 0.08, 0.07, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03, 0.02])
    return [{"column": n, "importance": float(w)} for n, w in zip(names, weights, strict=True)]


def trials(count: int = 6) -> dict:
    """A tuned run's tuning/trials.json: validation:auc per trial, one failed trial, the best marked."""
    rng = np.random.default_rng(2)
    found = []
    for index in range(1, count + 1):
        failed = index == 3
        found.append(
            {
                "job_name": f"bank-1a2b3c4d5e6f-h0a1b2c-{index:03d}-{index:08x}",
                "status": "Failed" if failed else "Completed",
                "hyperparameters": {"eta": f"{rng.uniform(0.01, 0.3):.4f}", "max_depth": str(rng.integers(3, 10))},
                "objective": None if failed else round(float(rng.uniform(0.90, 0.94)), 5),
                "objective_status": "Failed" if failed else "Succeeded",
                "failure_reason": "AlgorithmError: <script>alert(1)</script>" if failed else None,
                "seconds": 61.0,
            }
        )
    best = max((t for t in found if t["objective"] is not None), key=lambda t: t["objective"])
    return {
        "tuning_job": "bank-1a2b3c4d5e6f-h0a1b2c",
        "objective_metric": "validation:auc",
        "objective_type": "Maximize",
        "best_training_job": best["job_name"],
        "best_objective": best["objective"],
        "trials": found,
    }


def binary_case(n: int = 3000, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.12).astype(int)
    score = 1.9 * y + rng.normal(0, 1, n)
    return y, 1 / (1 + np.exp(-(score - 2.0)))


def binary_inputs(labels: tuple[str, str] = ("no", "yes"), threshold: float = 0.31) -> dict[str, Any]:
    y, p = binary_case()
    stats = label_stats_from_training(BINARY, y)
    evaluation = build_evaluation("bank-1a2b3c4d5e6f7a8b", BINARY, "y", y, p, list(labels), stats)
    # As the threshold step reports it: the metrics at the chosen threshold, and those at 0.5.
    at_threshold = m.binary_metrics(y, (p > threshold).astype(float))
    evaluation["metrics_at_0_5"] = dict(evaluation["metrics"])
    for name in ("accuracy", "precision", "recall", "f1"):
        evaluation["metrics"][name] = round(at_threshold[name], 4)
    evaluation["confusion_matrix"]["matrix"] = at_threshold["confusion_matrix"].tolist()
    evaluation["threshold"] = {"value": threshold, "chosen_on": "validation", "metric": "f1"}
    evaluation["feature_importance"] = importance()
    return {**_inputs(evaluation, y, p, "y", BINARY, list(labels)), "trials": trials()}


def multiclass_inputs(labels: tuple[str, ...] = ("setosa", "versicolor", "virginica", "hybrid", "unknown")) -> dict:
    rng = np.random.default_rng(5)
    k, n = len(labels), 1200
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), y] += 2.2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    evaluation = build_evaluation(
        "species-0f1e2d3c4b5a6978",
        MULTICLASS,
        "species",
        y,
        p,
        list(labels),
        label_stats_from_training(MULTICLASS, y, k),
    )
    evaluation["feature_importance"] = importance()[:6]
    return _inputs(evaluation, y, p, "species", MULTICLASS, list(labels))


def regression_inputs() -> dict:
    rng = np.random.default_rng(8)
    y = rng.gamma(4.0, 2.5, 1500)
    pred = y + rng.normal(0, 0.15 * y + 0.5)
    evaluation = build_evaluation("abalone-99aa88bb77cc66dd", REGRESSION, "rings", y, pred, None, {"mean": 10.2})
    evaluation["feature_importance"] = importance()[:8]
    return _inputs(evaluation, y, pred, "rings", REGRESSION, None)


def _inputs(evaluation, y, predictions, label, problem_type, mapping) -> dict[str, Any]:
    return {
        "evaluation": evaluation,
        "schema": schema(label, problem_type, mapping, evaluation["rows"]),
        "run": run_facts(evaluation["run_id"]),
        "y_true": y,
        "predictions": predictions,
        "data_report": data_report(label, problem_type, mapping, y),
        "timings": timings(),
        "cost": cost(),
    }


INPUTS = {BINARY: binary_inputs, MULTICLASS: multiclass_inputs, REGRESSION: regression_inputs}


def render(problem_type: str, **override: Any) -> str:
    """The full report of a sample run of ``problem_type``."""
    from sagedrop.evaluation import render_report_html

    inputs = {**INPUTS[problem_type](), **override}
    evaluation, schema_doc, run = inputs.pop("evaluation"), inputs.pop("schema"), inputs.pop("run")
    return render_report_html(evaluation, schema_doc, run, **inputs)
