"""Both algorithms × the three problem types, end to end on the local cloud, each beating its baseline.

Small scikit-learn data sets written as CSVs with a label column: breast cancer (binary, 569 rows),
wine (multiclass, 178 rows in class order — the split shuffles), diabetes (regression, 442 rows),
each with a few feature cells left empty: XGBoost reads them as missing, a Linear Learner run fills
them with the training mean (its container fails a job on an empty field). All six runs start
together and run concurrently in the local Step Functions; each is checked against
evaluation.json (the public contract), run.json and schema.json.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from sagedrop.algorithms import Algorithm
from sagedrop.problem_types import ProblemType

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA_SETS = {
    ProblemType.BINARY: datasets.load_breast_cancer,
    ProblemType.MULTICLASS: datasets.load_wine,
    ProblemType.REGRESSION: datasets.load_diabetes,
}
RUNS = [(algorithm, problem_type) for algorithm in Algorithm for problem_type in ProblemType]


MISSING_SHARE = 0.03


def as_csv(loader) -> bytes:
    """The data set with a label column and ~3% of its feature cells left empty (missing)."""
    frame = loader(as_frame=True).frame.rename(columns={"target": "label"})
    features = frame.columns.drop("label")
    gaps = np.random.default_rng(11).random((len(frame), len(features))) < MISSING_SHARE
    frame[features] = frame[features].mask(gaps)
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def finished(cloud) -> dict:
    """Start all six runs, then wait for each: (algorithm, problem type) -> (outcome, final description)."""
    started = {}
    for algorithm, problem_type in RUNS:
        folder = f"incoming/{algorithm.value}-{problem_type.value}"
        config = {"algorithm": algorithm.value, "label": "label"}
        cloud.put_object(f"{folder}/sagedrop.json", json.dumps(config).encode(), "application/json")
        outcome = cloud.deliver(cloud.drop_csv(as_csv(DATA_SETS[problem_type]), f"{folder}/data.csv"))
        assert outcome["started"], outcome
        started[(algorithm, problem_type)] = outcome
    return {
        run: (outcome, cloud.wait(outcome["execution_arn"], timeout_seconds=300)) for run, outcome in started.items()
    }


@pytest.mark.parametrize(("algorithm", "problem_type"), RUNS, ids=[f"{a.value}-{p.value}" for a, p in RUNS])
def test_each_algorithm_solves_each_problem_type_better_than_the_baseline(cloud, finished, algorithm, problem_type):
    outcome, final = finished[(algorithm, problem_type)]
    assert final["status"] == "SUCCEEDED", final.get("cause")
    run = f"runs/{outcome['run_id']}/"
    evaluation = json.loads(cloud.read(run + "evaluation.json"))
    record = json.loads(cloud.read(run + "run.json"))

    # The run trained the configured algorithm for the inferred problem type …
    assert evaluation["problem_type"] == problem_type.value and evaluation["label"] == "label"
    assert record["config"]["algorithm"] == algorithm.value
    # … and recorded the validation metric its job reports.
    assert algorithm.validation_metric(problem_type) in record["training"]["metrics"]
    # Missing numbers: filled (with the recorded training mean) only where the algorithm cannot read them.
    schema = json.loads(cloud.read(run + "schema.json"))
    numeric = [encoding for encoding in schema["encodings"].values() if encoding["kind"] == "numeric"]
    assert sum(encoding["missing"] for encoding in numeric) > 0
    assert all(("fill" in encoding) is not algorithm.reads_missing_values for encoding in numeric)

    # Each is explained by uploaded column: TreeSHAP from the analysis job (XGBoost) or permutation
    # importance through the endpoint (Linear Learner, whose model the analysis cannot open).
    explained = {item["column"] for item in evaluation["feature_importance"]}
    assert explained and explained <= set(schema["source_columns"])
    method = evaluation["importance_method"]
    assert method.startswith("TreeSHAP" if algorithm is Algorithm.XGBOOST else "permutation"), method
    metrics, baseline = evaluation["metrics"], evaluation["baseline"]
    print(f"{algorithm.value} {problem_type.value}: metrics {metrics} baseline {baseline}")
    if problem_type is ProblemType.REGRESSION:
        assert metrics["rmse"] < baseline["rmse"]
        assert metrics["r2"] > 0.2
    else:
        at_half = evaluation.get("metrics_at_0_5", metrics)  # binary XGBoost: metrics are at the chosen threshold
        assert at_half["accuracy"] > baseline["accuracy"]
        assert at_half["accuracy"] > 0.85
        labels = sorted(str(value) for value in pd.unique(DATA_SETS[problem_type](as_frame=True).frame["target"]))
        assert evaluation["confusion_matrix"]["labels"] == labels
        assert evaluation["rows"] == sum(map(sum, evaluation["confusion_matrix"]["matrix"]))
