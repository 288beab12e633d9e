"""Choosing the decision threshold: the chosen value is the best of every possible threshold."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, f1_score

from sagedrop.analysis.threshold import BALANCED_ACCURACY, COST, F1, ThresholdRule, choose_threshold


def rows(min_size=1):
    return st.lists(
        st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False).map(lambda x: float(np.float32(x)))),
        min_size=min_size,
        max_size=60,
    )


def score(rule: ThresholdRule, y, p, threshold):
    predicted = (np.asarray(p) > threshold).astype(int)
    if rule.metric == F1:
        return f1_score(y, predicted, zero_division=0)
    if rule.metric == BALANCED_ACCURACY:
        if len(set(y)) < 2:  # scikit-learn's adjusted definition differs with one class: compare the rates
            return float(np.mean(predicted == np.asarray(y)))
        return balanced_accuracy_score(y, predicted)
    fp = int(((predicted == 1) & (np.asarray(y) == 0)).sum())
    fn = int(((predicted == 0) & (np.asarray(y) == 1)).sum())
    return -(rule.false_positive * fp + rule.false_negative * fn)


RULES = st.sampled_from(
    [ThresholdRule(F1), ThresholdRule(BALANCED_ACCURACY), ThresholdRule(COST, 1, 5), ThresholdRule(COST, 3, 1)]
)


@settings(max_examples=300, deadline=None)
@given(rows(), RULES)
def test_no_threshold_scores_better_than_the_chosen_one(data, rule):
    y = [label for label, _ in data]
    p = [probability for _, probability in data]
    if rule.metric == BALANCED_ACCURACY and len(set(y)) < 2:
        return  # undefined with one class in the rows; covered separately
    choice = choose_threshold(np.array(y), np.array(p), rule)
    best = score(rule, y, p, choice.value)
    # every probability (and 0, and 0.5, and 1) as a threshold: none does better
    for candidate in {*p, 0.0, 0.5, 1.0}:
        assert score(rule, y, p, candidate) <= best + 1e-9
    expected = best if rule.metric != COST else -best
    assert choice.score == pytest.approx(expected)
    assert choice.score_at_default == pytest.approx(
        score(rule, y, p, 0.5) if rule.metric != COST else -score(rule, y, p, 0.5)
    )
    assert 0.0 <= choice.value <= 1.0


def test_f1_moves_the_threshold_down_for_a_rare_class():
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.1).astype(int)
    # positives score higher, but mostly below 0.5: the usual threshold misses most of them
    p = np.clip(np.where(y == 1, rng.normal(0.4, 0.15, 5000), rng.normal(0.15, 0.1, 5000)), 0, 1)
    choice = choose_threshold(y, p, ThresholdRule(F1))
    assert choice.value < 0.4
    assert choice.score > choice.score_at_default + 0.1


def test_a_costly_false_negative_lowers_the_threshold_below_a_cheap_one():
    rng = np.random.default_rng(5)
    y = (rng.random(3000) < 0.3).astype(int)
    p = np.clip(y * 0.3 + rng.random(3000) * 0.7, 0, 1)
    costly_misses = choose_threshold(y, p, ThresholdRule(COST, false_positive=1, false_negative=10))
    cheap_misses = choose_threshold(y, p, ThresholdRule(COST, false_positive=10, false_negative=1))
    assert costly_misses.value < cheap_misses.value


def test_ties_keep_the_usual_threshold():
    # above 0.2 separates the classes perfectly; 0.8 and 0.9 as thresholds score lower
    choice = choose_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), ThresholdRule(F1))
    assert choice.value == pytest.approx(0.2)
    assert choice.score == 1.0


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [([], [], "no rows"), ([0, 1], [0.5], "2 labels but 1 scores")],
)
def test_bad_input_is_named(y, p, message):
    with pytest.raises(ValueError, match=message):
        choose_threshold(np.array(y), np.array(p), ThresholdRule())


def test_an_unknown_rule_or_a_negative_cost_is_refused():
    with pytest.raises(ValueError, match="unknown threshold metric 'recall'"):
        ThresholdRule("recall")
    with pytest.raises(ValueError, match="negative"):
        ThresholdRule(COST, -1, 1)
