"""Every numpy metric against scikit-learn (test-only dependency), on random inputs with ties."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata
from sklearn import metrics as sk

from sagedrop.evaluation import metrics as m

# A handful of probability levels makes ties (in scores and at the 0.5 threshold) common.
tied_probability = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5000001, 0.75, 1.0])
probability = st.one_of(tied_probability, st.floats(0, 1))


@st.composite
def binary_case(draw):
    n = draw(st.integers(1, 60))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    p = draw(st.lists(probability, min_size=n, max_size=n))
    return np.array(y), np.array(p)


@st.composite
def multiclass_case(draw):
    k = draw(st.integers(2, 6))
    n = draw(st.integers(1, 60))
    y = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    raw = draw(st.lists(st.lists(tied_probability, min_size=k, max_size=k), min_size=n, max_size=n))
    return np.array(y), np.array(raw, dtype=float), k


@settings(max_examples=100, deadline=None)
@given(case=binary_case())
def test_binary_metrics_match_scikit_learn(case):
    y, p = case
    y_pred = (p > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ours never warns, even with nothing predicted positive
        got = m.binary_metrics(y, p)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, y_pred))
    assert got["precision"] == pytest.approx(sk.precision_score(y, y_pred, zero_division=0))
    assert got["recall"] == pytest.approx(sk.recall_score(y, y_pred, zero_division=0))
    assert got["f1"] == pytest.approx(sk.f1_score(y, y_pred, zero_division=0))
    np.testing.assert_array_equal(got["confusion_matrix"], sk.confusion_matrix(y, y_pred, labels=[0, 1]))
    if len(set(y.tolist())) == 2:
        assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(y, p))
    else:
        assert got["roc_auc"] is None


@settings(max_examples=100, deadline=None)
@given(case=binary_case())
def test_roc_curve_matches_scikit_learn(case):
    y, p = case
    assume(len(set(y.tolist())) == 2)
    fpr, tpr = m.roc_curve(y, p)
    sk_fpr, sk_tpr, _ = sk.roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    # and the trapezoid area under our curve is the rank-based AUC
    assert np.trapezoid(tpr, fpr) == pytest.approx(m.roc_auc(y, p))


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.one_of(tied_probability, st.floats(-5, 5)), max_size=40))
def test_average_ranks_match_scipy(values):
    np.testing.assert_allclose(m.average_ranks(np.array(values)), rankdata(values) if values else [])


@settings(max_examples=100, deadline=None)
@given(case=multiclass_case())
def test_multiclass_metrics_match_scikit_learn(case):
    y, probabilities, k = case
    y_pred = probabilities.argmax(axis=1)
    labels = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = m.multiclass_metrics(y, probabilities, k)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, y_pred))
    assert got["macro_f1"] == pytest.approx(sk.f1_score(y, y_pred, average="macro", zero_division=0))
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y, y_pred, labels=labels, zero_division=0
    )
    np.testing.assert_allclose(got["per_class"]["precision"], precision)
    np.testing.assert_allclose(got["per_class"]["recall"], recall)
    np.testing.assert_allclose(got["per_class"]["f1"], f1)
    np.testing.assert_array_equal(got["per_class"]["support"], support)
    np.testing.assert_array_equal(got["confusion_matrix"], sk.confusion_matrix(y, y_pred, labels=labels))


finite = st.floats(-1e4, 1e4, allow_subnormal=False)


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.one_of(finite, st.sampled_from([0.0, 1.0, 2.5])), finite), min_size=1, max_size=60
    )
)
def test_regression_metrics_match_scikit_learn(pairs):
    y, pred = (np.array(column) for column in zip(*pairs, strict=True))
    got = m.regression_metrics(y, pred)
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)), rel=1e-9, abs=1e-9)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(y, pred), rel=1e-9, abs=1e-9)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_r2 = sk.r2_score(y, pred)
    if np.ptp(y) > 0 and ((y - y.mean()) ** 2).sum() > 0 and np.isfinite(expected_r2):
        assert got["r2"] == pytest.approx(expected_r2, rel=1e-6, abs=1e-9)
    else:
        assert got["r2"] is None  # undefined: scikit-learn reports 0.0 or 1.0, or overflows


@settings(max_examples=100, deadline=None)
@given(y=st.lists(st.integers(0, 5), min_size=1, max_size=50), majority=st.integers(0, 5))
def test_majority_baseline_is_the_accuracy_of_a_constant_prediction(y, majority):
    assert m.majority_baseline_accuracy(np.array(y), majority) == pytest.approx(
        sk.accuracy_score(y, [majority] * len(y))
    )


@settings(max_examples=100, deadline=None)
@given(y=st.lists(finite, min_size=1, max_size=50), mean=finite)
def test_mean_baseline_is_the_rmse_of_a_constant_prediction(y, mean):
    assert m.mean_baseline_rmse(np.array(y), mean) == pytest.approx(
        np.sqrt(sk.mean_squared_error(y, [mean] * len(y))), rel=1e-9, abs=1e-9
    )


def test_no_positive_prediction_gives_zero_precision_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = m.binary_metrics(np.array([0, 1, 1, 0]), np.array([0.1, 0.2, 0.5, 0.3]))
    assert (got["precision"], got["recall"], got["f1"]) == (0.0, 0.0, 0.0)
    assert got["accuracy"] == 0.5
    assert got["roc_auc"] == pytest.approx(0.75)


def test_a_single_class_in_the_test_rows_has_no_auc_and_no_curve():
    assert m.roc_auc(np.array([1, 1, 1]), np.array([0.2, 0.9, 0.4])) is None
    assert m.roc_curve(np.array([0, 0]), np.array([0.2, 0.9]))[0].size == 0


def test_exactly_one_half_is_predicted_negative_like_the_container():
    # serve_utils._get_predicted_label: int(raw_prediction > 0.5)
    got = m.binary_metrics(np.array([1]), np.array([0.5]))
    assert got["confusion_matrix"].tolist() == [[0, 0], [1, 0]]


def test_downsampled_curve_keeps_both_ends_and_at_most_200_points():
    x = np.linspace(0, 1, 5000)
    dx, dy = m.downsample_curve(x, x**2)
    assert len(dx) <= 200
    assert (dx[0], dx[-1], dy[-1]) == (0.0, 1.0, 1.0)
    assert np.all(np.diff(dx) > 0)
