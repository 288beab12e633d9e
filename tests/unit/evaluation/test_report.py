"""evaluation.json is a public contract: exact keys, JSON types, metrics as scikit-learn has them."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from sagedrop.evaluation import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    build_evaluation,
    headline_metrics,
    label_names,
    label_stats_from_training,
)

normal_floats = st.floats(-100, 100, allow_subnormal=False)
TOP_KEYS = {"run_id", "problem_type", "label", "rows", "metrics", "baseline", "confusion_matrix"}


def round_trip(evaluation: dict) -> dict:
    return json.loads(json.dumps(evaluation, allow_nan=False))


def assert_number_or_none(value):
    assert value is None or (isinstance(value, float) and round(value, 4) == value)


def test_binary_evaluation_has_exactly_the_contract_shape():
    # Given the tutorial's layout: "no" is class 0, "yes" class 1
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0], dtype=float)
    p = np.array([0.1, 0.6, 0.2, 0.9, 0.4, 0.3, 0.7, 0.05])
    # When
    evaluation = build_evaluation("run-1", BINARY, "y", y, p, ["no", "yes"], {"majority_class": 0})
    # Then
    assert round_trip(evaluation) == evaluation
    assert set(evaluation) == TOP_KEYS
    assert (evaluation["run_id"], evaluation["problem_type"], evaluation["label"]) == ("run-1", BINARY, "y")
    assert evaluation["rows"] == 8 and isinstance(evaluation["rows"], int)
    assert list(evaluation["metrics"]) == ["accuracy", "precision", "recall", "f1", "roc_auc", "brier_score"]
    assert evaluation["metrics"]["brier_score"] == round(float(np.mean((p - y) ** 2)), 4)
    assert evaluation["baseline"] == {"accuracy": 0.625}
    assert evaluation["confusion_matrix"] == {"labels": ["no", "yes"], "matrix": [[4, 1], [1, 2]]}
    for value in evaluation["metrics"].values():
        assert_number_or_none(value)


def test_multiclass_evaluation_adds_per_class_details():
    y = np.array([0, 1, 2, 2, 1, 0])
    p = np.eye(3)[[0, 2, 2, 2, 1, 1]] * 0.8 + 0.2 / 3
    evaluation = build_evaluation(
        "run-2",
        MULTICLASS,
        "species",
        y,
        p,
        {"setosa": 0, "versicolor": 1, "virginica": 2},
        {"majority_class": 2},
    )
    assert round_trip(evaluation) == evaluation
    assert set(evaluation) == TOP_KEYS | {"per_class"}
    assert list(evaluation["metrics"]) == ["accuracy", "macro_f1"]
    assert list(evaluation["baseline"]) == ["accuracy"]
    assert evaluation["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]
    assert evaluation["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 1, 1], [0, 0, 2]]
    assert [c["label"] for c in evaluation["per_class"]] == ["setosa", "versicolor", "virginica"]
    assert all(set(c) == {"label", "precision", "recall", "f1", "support"} for c in evaluation["per_class"])
    assert [c["support"] for c in evaluation["per_class"]] == [2, 2, 2]


def test_regression_evaluation_has_no_confusion_matrix():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    evaluation = build_evaluation("run-3", REGRESSION, "price", y, y + 0.5, None, {"mean": 2.0})
    assert round_trip(evaluation) == evaluation
    assert set(evaluation) == TOP_KEYS
    assert evaluation["confusion_matrix"] is None
    assert evaluation["metrics"] == {"rmse": 0.5, "mae": 0.5, "r2": 0.8}
    assert evaluation["baseline"] == {"rmse": round(np.sqrt(np.mean((y - 2.0) ** 2)), 4)}


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.1, 0.5, 0.7]) | st.floats(0, 1)),
        min_size=1,
        max_size=80,
    ),
    train=st.lists(st.integers(0, 1), min_size=1, max_size=30),
)
def test_binary_evaluation_agrees_with_scikit_learn_at_4_decimals(data, train):
    y, p = (np.array(column) for column in zip(*data, strict=True))
    stats = label_stats_from_training(BINARY, train)
    evaluation = build_evaluation("r", BINARY, "y", y, p, ["no", "yes"], stats)
    y_pred = (p > 0.5).astype(int)
    metrics = evaluation["metrics"]
    assert metrics["accuracy"] == pytest.approx(sk.accuracy_score(y, y_pred), abs=1e-4)
    assert metrics["precision"] == pytest.approx(sk.precision_score(y, y_pred, zero_division=0), abs=1e-4)
    assert metrics["recall"] == pytest.approx(sk.recall_score(y, y_pred, zero_division=0), abs=1e-4)
    assert metrics["f1"] == pytest.approx(sk.f1_score(y, y_pred, zero_division=0), abs=1e-4)
    if len(set(y.tolist())) == 2:
        assert metrics["roc_auc"] == pytest.approx(sk.roc_auc_score(y, p), abs=1e-4)
    else:
        assert metrics["roc_auc"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns on a single class
        assert metrics["brier_score"] == pytest.approx(sk.brier_score_loss(y, p, pos_label=1), abs=1e-4)
    majority = np.bincount(train).argmax()
    assert evaluation["baseline"]["accuracy"] == pytest.approx(np.mean(y == majority), abs=1e-4)
    assert round_trip(evaluation) == evaluation


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(normal_floats, normal_floats), min_size=2, max_size=60),
    train_mean=st.floats(-100, 100),
)
def test_regression_evaluation_agrees_with_scikit_learn_at_4_decimals(pairs, train_mean):
    y, pred = (np.array(column) for column in zip(*pairs, strict=True))
    evaluation = build_evaluation("r", REGRESSION, "v", y, pred, None, {"mean": train_mean})
    metrics = evaluation["metrics"]
    assert metrics["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)), abs=1e-4)
    assert metrics["mae"] == pytest.approx(sk.mean_absolute_error(y, pred), abs=1e-4)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_r2 = sk.r2_score(y, pred)
    if np.ptp(y) > 0 and ((y - y.mean()) ** 2).sum() > 0 and np.isfinite(expected_r2):
        assert metrics["r2"] == pytest.approx(expected_r2, abs=1e-4, rel=1e-6)
    else:  # undefined (constant values) or overflowing: null, and the document stays valid JSON
        assert metrics["r2"] is None
    baseline = np.sqrt(sk.mean_squared_error(y, np.full(len(y), train_mean)))
    assert evaluation["baseline"]["rmse"] == pytest.approx(baseline, abs=1e-4)
    assert round_trip(evaluation) == evaluation


@pytest.mark.parametrize(
    "mapping",
    [
        ["no", "yes", "maybe"],
        {"no": 0, "yes": 1, "maybe": 2},
        {"0": "no", "1": "yes", "2": "maybe"},
        {0: "no", 1: "yes", 2: "maybe"},
        {"maybe": 2, "no": 0, "yes": 1},
    ],
)
def test_label_mapping_forms_give_labels_in_class_order(mapping):
    assert label_names(mapping, 3) == ["no", "yes", "maybe"]


def test_numeric_original_labels_become_strings():
    # JSON object keys are strings, so {"0": 1, "1": 2} is encoded class -> original value 1 / 2
    assert label_names({"0": 1, "1": 2}, 2) == ["1", "2"]
    assert label_names([1.5, True], 2) == ["1.5", "True"]
    assert label_names(None, 2) == ["0", "1"]


def test_a_mapping_that_does_not_cover_the_classes_is_refused():
    with pytest.raises(ValueError):
        label_names({"a": 0, "b": 5}, 2)
    with pytest.raises(ValueError):
        label_names(["a", "b", "c"], 2)


def test_label_stats_from_training():
    assert label_stats_from_training(BINARY, [0.0, 1.0, 1.0]) == {"majority_class": 1, "class_counts": [1, 2]}
    assert label_stats_from_training(MULTICLASS, [2, 0, 2, 0]) == {
        "majority_class": 0,
        "class_counts": [2, 0, 2],
    }
    assert label_stats_from_training(REGRESSION, [1.0, 2.0]) == {"mean": 1.5}


def test_baseline_can_come_from_class_counts():
    y, p = np.array([0, 1, 1]), np.array([0.2, 0.8, 0.9])
    evaluation = build_evaluation("r", BINARY, "y", y, p, None, {"class_counts": {"0": 10, "1": 90}})
    assert evaluation["baseline"]["accuracy"] == pytest.approx(0.6667)


@pytest.mark.parametrize(
    ("problem_type", "y", "predictions", "stats"),
    [
        (BINARY, [0, 1], [0.2, 0.9], {}),
        (REGRESSION, [1.0, 2.0], [1.0, 2.0], {}),
        (BINARY, [0, 1, 1], [0.2, 0.9], {"majority_class": 0}),
        (BINARY, [0, 2], [0.2, 0.9], {"majority_class": 0}),
        ("ranking", [0, 1], [0.2, 0.9], {"majority_class": 0}),
    ],
)
def test_inconsistent_inputs_are_refused(problem_type, y, predictions, stats):
    with pytest.raises(ValueError):
        build_evaluation("r", problem_type, "y", y, predictions, None, stats)


def test_headline_metrics_flatten_metrics_and_baseline_and_drop_nulls():
    evaluation = build_evaluation("r", BINARY, "y", [1, 1], [0.9, 0.4], None, {"majority_class": 0})
    headline = headline_metrics(evaluation)
    assert headline == {
        "accuracy": 0.5,
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "brier_score": 0.185,
        "baseline_accuracy": 0.0,
    }
    assert all(isinstance(v, float) for v in headline.values())


def test_overflowing_metrics_become_null_so_the_document_stays_json():
    evaluation = build_evaluation("r", REGRESSION, "v", [0.0, 1e200], [1e200, -1e200], None, {"mean": 0.0})
    assert evaluation["metrics"]["rmse"] is None and evaluation["metrics"]["r2"] is None
    assert round_trip(evaluation) == evaluation
