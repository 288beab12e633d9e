"""Linear Learner cannot read a missing value: numbers missing take the training mean, in training and serving alike."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings

from sagedrop.dataset import apply_encodings, prepare_dataset, read_table
from sagedrop.dataset.encoding import with_fill_values
from sagedrop.errors import InvalidCsvError, UnusableLabelError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.featurizer import Featurizer
from sagedrop.run_config import resolve_run_config
from tests.unit.inference.test_featurizer_property import as_json_value, uploads

SOURCE = "incoming/x/data.csv"


def prepare(data: bytes, **override):
    return prepare_dataset(data, resolve_run_config(None, override, source="test"), source=SOURCE)


def table(n: int = 60) -> pd.DataFrame:
    """Numbers with gaps (empty, NA, an infinity read as missing), a text column, a binary label."""
    rng = np.random.default_rng(3)
    gaps = rng.normal(10, 2, size=n).round(3).astype(object)
    gaps[::6] = ""
    gaps[1::9] = "NA"
    whole = rng.integers(0, 50, size=n).astype(object)
    whole[2::11] = ""
    return pd.DataFrame(
        {
            "gaps": gaps,
            "whole": whole,
            "colour": rng.choice(["red", "blue", ""], size=n),
            "y": rng.choice(["no", "yes"], size=n),
        }
    )


def test_linear_learner_splits_hold_no_missing_value_and_fill_with_the_training_mean():
    frame = table()
    prepared = prepare(frame.to_csv(index=False).encode(), label="y", algorithm="linear-learner")

    for split in ("train", "validation", "test"):
        assert not getattr(prepared, split).isna().any().any(), split
    # The fill is the mean of the training rows' values (as read from the upload), not of every row.
    typed = read_table(frame.to_csv(index=False).encode(), source=SOURCE).frame
    train_rows = prepared.source_rows["train"]
    for column in ("gaps", "whole"):
        encoding = prepared.schema["encodings"][column]
        expected = pd.to_numeric(typed[column].iloc[train_rows]).mean()
        assert encoding["fill"] == pytest.approx(expected, rel=1e-12)
        assert encoding["missing"] > 0
        # Each missing cell of a training row became exactly that value.
        missing = typed[column].iloc[train_rows].isna().to_numpy()
        assert (prepared.train[column].to_numpy()[missing] == encoding["fill"]).all()
    assert "fill" not in prepared.schema["encodings"]["colour"]


def test_xgboost_keeps_missing_values_missing_and_records_no_fill():
    prepared = prepare(table().to_csv(index=False).encode(), label="y")

    assert prepared.train["gaps"].isna().any()
    assert all("fill" not in encoding for encoding in prepared.schema["encodings"].values())


def test_the_deployed_featurizer_fills_a_missing_request_value_like_training():
    prepared = prepare(table().to_csv(index=False).encode(), label="y", algorithm="linear-learner")
    artifact = FeaturizerArtifact.from_json(FeaturizerArtifact.from_schema(prepared.schema).to_json())
    fill = prepared.schema["encodings"]["gaps"]["fill"]

    features = Featurizer(artifact).featurize("gaps,whole,colour\n,7,red\nNA,,blue\n", "text/csv")

    rows = [line.split(",") for line in features.decode().splitlines()]
    assert [float(rows[0][0]), float(rows[1][0])] == [fill, fill]
    assert float(rows[1][1]) == prepared.schema["encodings"]["whole"]["fill"]
    assert all(cell != "" for row in rows for cell in row)


def test_a_column_without_a_training_value_fills_zero():
    encodings = {
        "x": {"kind": "numeric", "features": ["x"], "missing": 3},
        "z": {"kind": "numeric", "features": ["z"], "missing": 0},
        "c": {"kind": "one_hot", "categories": ["a"], "features": ["c_a"], "missing": 0},
    }
    training = pd.DataFrame({"x": [np.nan, np.nan], "z": [1, 4], "c_a": [1, 0]})

    filled = with_fill_values(encodings, training)

    assert (filled["x"]["fill"], filled["z"]["fill"]) == (0.0, 2.5)
    assert "fill" not in filled["c"] and "fill" not in encodings["x"]  # the input is left as it was
    applied = apply_encodings(pd.DataFrame({"x": [np.nan, 5.0], "z": [np.inf, 3.0], "c": ["a", None]}), filled)
    assert applied.to_numpy(float).tolist() == [[0.0, 2.5, 1.0], [5.0, 3.0, 0.0]]


def test_a_two_class_multiclass_run_is_refused_for_linear_learner():
    frame = table()
    with pytest.raises(UnusableLabelError, match="Linear Learner's multiclass classifier needs at least 3"):
        prepare(
            frame.to_csv(index=False).encode(),
            label="y",
            algorithm="linear-learner",
            problem_type="multiclass_classification",
        )
    # XGBoost's multi:softprob takes two classes.
    prepare(frame.to_csv(index=False).encode(), label="y", problem_type="multiclass_classification")


@pytest.mark.parametrize("fill", [float("nan"), float("inf"), "1.5", True])
def test_an_artifact_with_a_bad_fill_is_refused(fill):
    prepared = prepare(table().to_csv(index=False).encode(), label="y", algorithm="linear-learner")
    document = FeaturizerArtifact.from_schema(prepared.schema).to_dict()
    document["encodings"]["gaps"]["fill"] = fill

    with pytest.raises(ValueError, match="fill values must be finite numbers"):
        FeaturizerArtifact.from_json(json.dumps(document))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uploads())
def test_linear_learner_raw_test_rows_give_the_filled_test_split_features(upload):
    frame, delimiter, seed = upload
    try:
        prepared = prepare(
            frame.to_csv(index=False, sep=delimiter).encode(), label="target", seed=seed, algorithm="linear-learner"
        )
    except (InvalidCsvError, UnusableLabelError):
        assume(False)
    featurizer = Featurizer(FeaturizerArtifact.from_json(FeaturizerArtifact.from_schema(prepared.schema).to_json()))
    expected = prepared.test.iloc[:, 1:].to_numpy(float)
    assert not np.isnan(expected).any()

    sources = [column for column in frame.columns if column != "target"]
    body = frame.iloc[prepared.source_rows["test"]][sources].to_csv(index=False, header=False, sep=delimiter)
    got = featurizer.features(featurizer.read(body, "text/csv")).to_numpy(float)
    assert np.array_equal(got, expected)

    instances = [
        {column: as_json_value(value) for column, value in row.items()}
        for row in prepared.raw_test.to_dict(orient="records")
    ]
    got = featurizer.features(featurizer.read(json.dumps({"instances": instances}), "application/json"))
    assert np.array_equal(got.to_numpy(float), expected)
