"""The local Linear Learner's pieces: hyperparameters, losses, metrics, calibration, artifact, request parsing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from sagedrop_local.sagemaker import linear_learner_hyperparameters as llhp
from sagedrop_local.sagemaker.linear_learner_metrics import calibrate, multiclass_metrics, roc_auc
from sagedrop_local.sagemaker.linear_learner_model import LinearModel, LossParameters, pointwise_loss
from sagedrop_local.sagemaker.linear_learner_serving import InvalidRequest, parse_csv, parse_json

# ---------------------------------------------------------------- hyperparameters


def test_defaults_are_the_documented_ones_and_auto_loss_follows_the_predictor_type():
    values = llhp.validate({"predictor_type": "multiclass_classifier", "num_classes": "4"})

    assert values["epochs"] == 15
    assert values["mini_batch_size"] == 1000
    assert values["normalize_data"] == "true"
    assert values["binary_classifier_model_selection_criteria"] == "accuracy"
    assert values["feature_dim"] == "auto"
    assert values["loss"] == "softmax_loss"
    assert llhp.validate({"predictor_type": "regressor"})["loss"] == "squared_loss"
    assert llhp.validate({"predictor_type": "binary_classifier"})["loss"] == "logistic"


def test_values_as_the_sagemaker_sdk_serialises_them_are_accepted():
    # The SDK sends str(True) and str(0.1); tuning jobs add _tuning_objective_metric.
    values = llhp.validate(
        {
            "predictor_type": "binary_classifier",
            "use_bias": "True",
            "normalize_data": "False",
            "learning_rate": "0.1",
            "feature_dim": "30",
            "positive_example_weight_mult": "balanced",
            "_tuning_objective_metric": "validation:roc_auc_score",
        }
    )

    assert (values["use_bias"], values["normalize_data"]) == ("true", "false")
    assert values["learning_rate"] == 0.1
    assert values["feature_dim"] == 30


@pytest.mark.parametrize(
    ("name", "value"),
    [("epochs", "2.5"), ("epochs", "auto"), ("wd", "-1"), ("quantile", "1"), ("learning_rate", "nan"), ("l1", "x")],
)
def test_numbers_outside_their_range_are_rejected_naming_the_hyperparameter(name, value):
    with pytest.raises(llhp.ClientError) as error:
        llhp.validate({"predictor_type": "regressor", name: value})

    assert f"The value '{value}' is not valid for the '{name}' hyperparameter" in error.value.reason
    assert error.value.reason.startswith("ClientError: ")
    assert "(caused by ValidationError)\n\nCaused by: " in error.value.reason


def test_several_unknown_names_are_listed_together():
    with pytest.raises(llhp.ClientError) as error:
        llhp.validate({"predictor_type": "regressor", "num_round": "1", "eta": "0.1"})

    assert "Additional hyperparameters are not allowed ('num_round', 'eta' were unexpected)" in str(error.value)


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize(
    "loss",
    [
        "logistic",
        "hinge_loss",
        "squared_loss",
        "absolute_loss",
        "huber_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
    ],
)
def test_loss_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(3)
    z = rng.normal(size=(40, 1)) * 2
    y = (rng.random(40) > 0.5).astype(float) if loss in ("logistic", "hinge_loss") else rng.normal(size=40)
    p = LossParameters(margin=1.0, huber_delta=0.7, loss_insensitivity=0.2, quantile=0.3)
    step = 1e-6

    _, gradient = pointwise_loss(loss, z, y, p)
    numeric = (pointwise_loss(loss, z + step, y, p)[0] - pointwise_loss(loss, z - step, y, p)[0]) / (2 * step)

    # Kinks (hinge, absolute, insensitivity edges) have no derivative; the random points avoid them.
    np.testing.assert_allclose(gradient[:, 0], numeric, atol=1e-4)


def test_softmax_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(10, 4))
    y = rng.integers(0, 4, size=10).astype(float)
    _, gradient = pointwise_loss("softmax_loss", z, y, LossParameters())
    numeric = np.zeros_like(z)
    for column in range(4):
        shift = np.zeros_like(z)
        shift[:, column] = 1e-6
        up = pointwise_loss("softmax_loss", z + shift, y, LossParameters())[0]
        down = pointwise_loss("softmax_loss", z - shift, y, LossParameters())[0]
        numeric[:, column] = (up - down) / 2e-6

    np.testing.assert_allclose(gradient, numeric, atol=1e-6)


# ---------------------------------------------------------------- metrics and calibration

scores_and_labels = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.7, 0.9, 1.0]) | st.floats(0, 1)),
        arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])),
    )
)


@settings(max_examples=150, deadline=None)
@given(scores_and_labels)
def test_calibrated_threshold_gives_the_best_accuracy_any_threshold_can(data):
    scores, labels = data

    threshold, value = calibrate(scores, labels, "accuracy", 0.5)

    accuracy_at = lambda t: np.mean((scores > t) == (labels == 1))  # noqa: E731
    assert accuracy_at(threshold) == pytest.approx(value)
    every_cut = np.concatenate([[-np.inf], np.unique(scores)])
    assert value >= max(accuracy_at(t) for t in every_cut) - 1e-12


@settings(max_examples=100, deadline=None)
@given(scores_and_labels)
def test_precision_at_target_recall_keeps_the_recall(data):
    scores, labels = data
    threshold, value = calibrate(scores, labels, "precision_at_target_recall", 0.5, target_recall=0.6)
    predicted = scores > threshold

    if labels.any() and value > 0:
        assert predicted[labels == 1].mean() >= 0.6
        assert predicted.any() and np.mean(labels[predicted]) == pytest.approx(value)


@settings(max_examples=100, deadline=None)
@given(scores_and_labels)
def test_roc_auc_agrees_with_scikit_learn_including_ties(data):
    scores, labels = data
    if labels.min() == labels.max():
        assert np.isnan(roc_auc(scores, labels))
    else:
        assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_multiclass_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(11)
    probabilities = rng.dirichlet(np.ones(4), size=200)
    labels = rng.integers(0, 4, size=200).astype(float)
    predicted = probabilities.argmax(axis=1)
    losses = -np.log(probabilities[np.arange(200), labels.astype(int)])

    metrics = multiclass_metrics(probabilities, labels, losses, top_k=2, f_beta=1.0)

    assert metrics["multiclass_accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert metrics["macro_precision"] == pytest.approx(precision_score(labels, predicted, average="macro"))
    assert metrics["macro_recall"] == pytest.approx(recall_score(labels, predicted, average="macro"))
    assert metrics["macro_f_beta"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    top_two = np.argsort(-probabilities, axis=1)[:, :2]
    assert metrics["multiclass_top_k_accuracy"] == pytest.approx(np.mean((top_two == labels[:, None]).any(axis=1)))
    assert metrics["objective_loss"] == pytest.approx(losses.mean())


# ---------------------------------------------------------------- artifact and requests


def test_the_artifact_round_trips_and_anything_else_is_refused():
    model = LinearModel(
        predictor_type="regressor",
        loss="squared_loss",
        weights=np.array([[0.5], [-2.0]]),
        bias=np.array([0.1]),
        feature_shift=np.array([1.0, 2.0]),
        feature_scale=np.array([2.0, 4.0]),
        label_shift=10.0,
        label_scale=3.0,
    )
    again = LinearModel.from_json(model.to_json())
    features = np.array([[3.0, 6.0], [1.0, 2.0]])

    np.testing.assert_allclose(again.scores(features), [(0.5 - 2.0 + 0.1) * 3 + 10, 0.1 * 3 + 10])
    for garbage in (b"", b"{}", b'{"format": "sagedrop-local-linear-learner", "version": 2}', b"\x00\x01"):
        with pytest.raises(ValueError):
            LinearModel.from_json(garbage)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 6)), elements=st.floats(-1e6, 1e6)))
def test_csv_rows_are_read_back_exactly(matrix):
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in matrix).encode()

    np.testing.assert_array_equal(parse_csv(body, matrix.shape[1]), matrix)
    np.testing.assert_array_equal(parse_json(_instances(matrix), matrix.shape[1]), matrix)


def _instances(matrix: np.ndarray) -> bytes:
    import json

    return json.dumps({"instances": [{"features": row.tolist()} for row in matrix]}).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"instances": [{"features": [1, 2]}]}', "instance 1 has 2 values"),
        (b'{"instances": [{"features": [1, 2, "x"]}]}', "instance 1 holds a value that is not a number"),
        (b'{"rows": []}', 'expected {"instances"'),
        (b'{"instances": [{"data": {"features": {"keys": [0, 5], "values": [1, 2], "shape": [3]}}}]}', "key 5"),
    ],
)
def test_bad_json_requests_name_the_instance(body, expected):
    with pytest.raises(InvalidRequest) as error:
        parse_json(body, 3)

    assert error.value.status == 400
    assert expected in str(error.value)


def test_sparse_json_instances_are_expanded():
    body = b'{"instances": [{"data": {"features": {"keys": [0, 2], "values": [1.5, -2], "shape": [3]}}}]}'

    np.testing.assert_array_equal(parse_json(body, 3), [[1.5, 0.0, -2.0]])
