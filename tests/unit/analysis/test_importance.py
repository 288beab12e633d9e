"""Feature importance summed back to the uploaded columns."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sagedrop.analysis.importance import feature_columns, importance_by_column

ENCODINGS = {
    "age": {"kind": "numeric", "features": ["age"]},
    "month": {"kind": "one_hot", "features": ["month_jan", "month_feb", "month_mar"]},
    "id": {"kind": "dropped", "reason": "identifier"},
}
FEATURES = ["age", "month_jan", "month_feb", "month_mar"]


def test_one_hot_features_count_for_their_column():
    contributions = np.array(
        [
            [0.1, 0.2, -0.3, 0.0, 5.0],  # the last entry is the bias: it belongs to no column
            [-0.1, 0.0, 0.1, 0.4, -5.0],
        ]
    )
    ranked = importance_by_column(contributions, FEATURES, feature_columns(ENCODINGS))
    # age: mean |.| 0.1; month: 0.1 + 0.2 + 0.2 = 0.5 → shares 1/6 and 5/6
    assert ranked == [{"column": "month", "importance": 0.8333}, {"column": "age", "importance": 0.1667}]


def test_multiclass_contributions_are_averaged_over_classes():
    contributions = np.zeros((2, 3, 5))
    contributions[:, 0, 0] = 1.0  # age matters for class 0 only
    contributions[:, 1, 1] = 1.0
    contributions[:, 2, 1] = 1.0  # month for classes 1 and 2
    ranked = importance_by_column(contributions, FEATURES, feature_columns(ENCODINGS))
    assert [item["column"] for item in ranked] == ["month", "age"]
    assert ranked[0]["importance"] == pytest.approx(2 / 3, abs=1e-4)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.just(5)), elements=st.floats(-10, 10)))
@example(np.array([[5e-324, 0, 0, 0, 0], [0, 0, 0, 0, 0]]))  # found by Hypothesis: a mean underflowed to 0
def test_shares_add_up_to_one_and_are_sorted(contributions):
    ranked = importance_by_column(contributions, FEATURES, feature_columns(ENCODINGS))
    shares = [item["importance"] for item in ranked]
    assert shares == sorted(shares, reverse=True)
    assert all(0 <= share <= 1 for share in shares)
    if np.abs(contributions[:, :-1]).sum() > 0:
        assert sum(shares) == pytest.approx(1, abs=1e-3)


def test_a_shape_that_does_not_fit_or_an_unknown_feature_is_named():
    with pytest.raises(ValueError, match="do not fit 4 features"):
        importance_by_column(np.zeros((2, 4)), FEATURES, feature_columns(ENCODINGS))
    with pytest.raises(ValueError, match="'month_apr' belongs to no source column"):
        importance_by_column(np.zeros((1, 5)), [*FEATURES[:3], "month_apr"], feature_columns(ENCODINGS))
