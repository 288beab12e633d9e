"""The report's curves against scikit-learn (test-only dependency), on random inputs with ties."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import calibration as sk_calibration
from sklearn import metrics as sk

from sagedrop.evaluation import BINARY, MULTICLASS, REGRESSION
from sagedrop.evaluation import curves as c

tied_probability = st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.5000001, 0.7, 0.75, 0.9, 1.0])
probability = st.one_of(tied_probability, st.floats(0, 1))


@st.composite
def binary_case(draw, min_size=1):
    n = draw(st.integers(min_size, 80))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    p = draw(st.lists(probability, min_size=n, max_size=n))
    return np.array(y), np.array(p)


@settings(max_examples=150, deadline=None)
@given(case=binary_case())
def test_precision_recall_curve_and_average_precision_match_scikit_learn(case):
    y, p = case
    assume(y.sum() > 0)
    precision, recall, thresholds = c.precision_recall_curve(y, p)
    sk_precision, sk_recall, sk_thresholds = sk.precision_recall_curve(y, p)
    np.testing.assert_allclose(precision, sk_precision)
    np.testing.assert_allclose(recall, sk_recall)
    np.testing.assert_allclose(thresholds, sk_thresholds)
    assert c.average_precision(y, p) == pytest.approx(sk.average_precision_score(y, p))


def test_precision_recall_is_undefined_without_positives():
    assert all(len(part) == 0 for part in c.precision_recall_curve(np.array([0, 0]), np.array([0.2, 0.9])))
    assert c.average_precision(np.array([0, 0]), np.array([0.2, 0.9])) is None
    assert c.cumulative_gain(np.array([0, 0]), np.array([0.2, 0.9])) is None


@settings(max_examples=150, deadline=None)
@given(case=binary_case(min_size=2))
def test_cumulative_gain_is_the_share_of_positives_in_the_top_rows(case):
    y, p = case
    assume(0 < y.sum() < len(y))
    gain = c.cumulative_gain(y, p)
    assert gain["share"] == pytest.approx([k / 10 for k in range(1, 11)])
    # scikit-learn's counts at each threshold (drop_intermediate=False keeps them all): rows taken and
    # positives found; between two thresholds the tied rows count in proportion.
    fpr, tpr, _ = sk.roc_curve(y, p, drop_intermediate=False)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    rows_taken, found = fpr * n_neg + tpr * n_pos, tpr * n_pos
    expected = np.interp(np.array(gain["share"]) * len(y), rows_taken, found) / n_pos
    np.testing.assert_allclose(gain["gain"], expected, atol=1e-12)
    np.testing.assert_allclose(gain["lift"], expected / np.array(gain["share"]), atol=1e-12)
    assert gain["gain"][-1] == pytest.approx(1.0)
    assert all(b >= a - 1e-12 for a, b in zip(gain["gain"], gain["gain"][1:], strict=False))


def test_gain_without_ties_is_the_recall_of_the_top_decile():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1000)
    p = rng.permutation(1000) / 1000  # distinct scores
    gain = c.cumulative_gain(y, p)
    for k, share in enumerate(gain["share"]):
        top = p >= np.sort(p)[::-1][int(round(share * 1000)) - 1]
        assert gain["gain"][k] == pytest.approx(sk.recall_score(y, top.astype(int)))
    # a perfect ordering finds every positive as early as possible
    perfect = c.cumulative_gain(y, y + 0.0)
    assert perfect["gain"][0] == pytest.approx(min(1.0, 100 / y.sum()))


@settings(max_examples=150, deadline=None)
@given(case=binary_case(), bins=st.integers(1, 12))
def test_calibration_bins_match_scikit_learn(case, bins):
    y, p = case
    assume(len(set(y.tolist())) == 2)  # scikit-learn needs both classes to name the positive one
    got = c.calibration_bins(y, p, bins)
    observed, mean_predicted = sk_calibration.calibration_curve(y, p, n_bins=bins, strategy="uniform")
    np.testing.assert_allclose(got["observed"], observed)
    np.testing.assert_allclose(got["mean_predicted"], mean_predicted)
    assert sum(got["count"]) == len(y) and min(got["count"]) > 0
    for lower, upper, mean in zip(got["lower"], got["upper"], got["mean_predicted"], strict=True):
        assert lower - 1e-12 <= mean <= upper + 1e-12


@settings(max_examples=100, deadline=None)
@given(case=binary_case())
def test_brier_score_matches_scikit_learn(case):
    y, p = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns on a single class
        expected = sk.brier_score_loss(y, p, pos_label=1)
    assert c.brier_score(y, p) == pytest.approx(expected)


def test_brier_score_of_no_rows_is_undefined():
    assert c.brier_score(np.array([]), np.array([])) is None


def test_binary_chart_data_is_small_json_and_consistent():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 20000)
    p = np.clip(0.4 * y + 0.6 * rng.random(20000), 0, 1)
    data = c.chart_data(BINARY, y, p)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert 2 <= len(data["roc"]["fpr"]) <= c.MAX_CURVE_POINTS
    assert len(data["precision_recall"]["recall"]) <= c.MAX_CURVE_POINTS
    assert data["average_precision"] == pytest.approx(sk.average_precision_score(y, p))
    assert data["brier_score"] == pytest.approx(sk.brier_score_loss(y, p))
    assert data["positive_rate"] == pytest.approx(y.mean())
    assert len(data["gain"]["gain"]) == 10 and sum(data["calibration"]["count"]) == 20000
    assert (data["roc"]["fpr"][0], data["roc"]["fpr"][-1]) == (0.0, 1.0)


def test_chart_data_of_one_class_leaves_the_undefined_curves_out():
    data = c.chart_data(BINARY, [0, 0, 0], [0.1, 0.2, 0.9])
    assert "roc" not in data and "precision_recall" not in data and "gain" not in data
    assert sum(data["calibration"]["count"]) == 3


def test_regression_chart_data_samples_finite_pairs():
    rng = np.random.default_rng(2)
    y = rng.normal(size=5000)
    pred = y + rng.normal(size=5000)
    pred[0] = np.inf
    data = c.chart_data(REGRESSION, y, pred)
    assert len(data["scatter"]["actual"]) == len(data["scatter"]["predicted"]) <= c.MAX_SCATTER_POINTS
    assert data["scatter"]["rows"] == 5000
    assert all(np.isfinite(data["scatter"]["predicted"]))
    # the sample is reproducible
    assert c.chart_data(REGRESSION, y, pred) == data
    assert c.chart_data(MULTICLASS, [0, 1], np.eye(2)) == {}
