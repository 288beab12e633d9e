"""Permutation importance through a model's answers, by uploaded column."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sagedrop.evaluation.permutation import permutation_importance, read_raw_sample


def frame_and_labels(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "signal": [f"{v:.4f}" for v in signal],
            "noise": [f"{v:.4f}" for v in rng.normal(size=n)],
            "colour": rng.choice(["red", "blue"], n),
        }
    )
    return frame, (signal > 0).astype(float)


def model(data: bytes) -> np.ndarray:
    """A 'deployed model' that reads the raw CSV it is sent: P(class 1) rises with `signal` only."""
    rows = pd.read_csv(io.BytesIO(data), dtype=str)
    return 1 / (1 + np.exp(-3 * rows["signal"].astype(float).to_numpy()))


@pytest.mark.parametrize("problem_type", ["binary_classification"])
def test_the_column_the_model_reads_is_the_only_important_one(problem_type):
    frame, y = frame_and_labels()
    ranked = permutation_importance(frame, y, model, problem_type, seed=1)
    assert [item["column"] for item in ranked][0] == "signal"
    importance = {item["column"]: item["importance"] for item in ranked}
    assert importance["signal"] > 0.3
    assert importance["noise"] == importance["colour"] == 0.0  # the model never looks at them


def test_regression_and_multiclass_scores():
    frame, y = frame_and_labels()
    values = frame["signal"].astype(float).to_numpy()

    def regressor(data: bytes) -> np.ndarray:
        return pd.read_csv(io.BytesIO(data), dtype=str)["signal"].astype(float).to_numpy()

    ranked = permutation_importance(frame, values, regressor, "regression")
    assert ranked[0]["column"] == "signal" and ranked[0]["importance"] > 1.0  # R² falls from 1 to about -1

    def classifier(data: bytes) -> np.ndarray:
        p = model(data)
        return np.column_stack([1 - p, p])

    assert permutation_importance(frame, y, classifier, "multiclass_classification")[0]["column"] == "signal"


def test_the_sample_keeps_text_as_written_and_is_seeded():
    data = b"a;b\n007;x y\n1,5;\n2;z\n"
    sample, picked = read_raw_sample(data, ";", 2, seed=3)
    again, picked_again = read_raw_sample(data, ";", 2, seed=3)
    assert len(sample) == 2 and list(picked) == list(picked_again) and sample.equals(again)
    whole, _ = read_raw_sample(data, ";", 10, seed=0)
    assert whole["a"].tolist() == ["007", "1,5", "2"] and whole["b"].tolist() == ["x y", "", "z"]
