"""Reading the built-in XGBoost container's text/csv answers.

The formats reproduce ``aws/sagemaker-xgboost-container``:
``algorithm_mode/serve.py`` (real-time: ``",".join(map(str, preds.tolist()))``; batch transform:
``"\\n".join(...) + "\\n"``) and ``algorithm_mode/handler_service.py`` / the SageMaker docs (plain
rows, one per line).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sagedrop.errors import InvalidPredictionError
from sagedrop.evaluation import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    batch_rows,
    count_rows,
    parse_predictions,
    predict_in_batches,
)


def realtime(preds: np.ndarray) -> bytes:
    return ",".join(map(str, preds.tolist())).encode()


def batch_transform(preds: np.ndarray) -> bytes:
    return ("\n".join(map(str, preds.tolist())) + "\n").encode()


def plain_rows(preds: np.ndarray) -> bytes:
    rows = preds.reshape(-1, 1) if preds.ndim == 1 else preds
    return "".join(",".join(map(str, row)) + "\n" for row in rows.tolist()).encode()


CONTAINER_FORMATS = [realtime, batch_transform, plain_rows]

probabilities = hnp.arrays(np.float32, st.integers(0, 50), elements=st.floats(0, 1, width=32))
values = hnp.arrays(np.float32, st.integers(0, 50), elements=st.floats(-1e6, 1e6, width=32))


@st.composite
def softprob(draw):
    k = draw(st.integers(2, 6))
    n = draw(st.integers(0, 30))
    raw = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0.01, 1)))
    return (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(preds=probabilities, fmt=st.sampled_from(CONTAINER_FORMATS))
def test_binary_logistic_round_trips(preds, fmt):
    parsed = parse_predictions(fmt(preds), BINARY, 2, len(preds))
    assert parsed.shape == (len(preds),)
    np.testing.assert_array_equal(parsed, preds.astype(float))


@settings(max_examples=60, deadline=None)
@given(preds=values, fmt=st.sampled_from(CONTAINER_FORMATS))
def test_regression_round_trips(preds, fmt):
    parsed = parse_predictions(fmt(preds), REGRESSION, None, len(preds))
    np.testing.assert_array_equal(parsed, preds.astype(float))


@settings(max_examples=60, deadline=None)
@given(preds=softprob(), fmt=st.sampled_from(CONTAINER_FORMATS))
def test_multi_softprob_round_trips(preds, fmt):
    # realtime gives "[0.1, 0.2, 0.7],[0.3, 0.3, 0.4]", batch one bracketed row per line
    parsed = parse_predictions(fmt(preds), MULTICLASS, preds.shape[1], len(preds))
    assert parsed.shape == preds.shape
    np.testing.assert_array_equal(parsed, preds.astype(float))


def test_the_realtime_softprob_body_really_is_bracketed():
    preds = np.array([[0.25, 0.75, 0.0], [0.5, 0.25, 0.25]], dtype=np.float32)
    assert realtime(preds) == b"[0.25, 0.75, 0.0],[0.5, 0.25, 0.25]"
    np.testing.assert_array_equal(parse_predictions(realtime(preds), MULTICLASS, 3, 2), preds)


def test_one_flat_line_of_n_times_k_probabilities_is_reshaped():
    parsed = parse_predictions(b"0.2,0.8,0.6,0.4", MULTICLASS, 2, 2)
    np.testing.assert_array_equal(parsed, [[0.2, 0.8], [0.6, 0.4]])


def test_multi_softmax_class_indexes_become_one_hot_rows():
    parsed = parse_predictions(b"2.0,0.0,1.0", MULTICLASS, 3, 3)
    np.testing.assert_array_equal(parsed, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_a_two_column_binary_answer_keeps_the_class_1_probability():
    assert parse_predictions(b"[0.9, 0.1],[0.2, 0.8]", BINARY, 2, 2).tolist() == [0.1, 0.8]


@pytest.mark.parametrize("fmt", CONTAINER_FORMATS)
@pytest.mark.parametrize("expected", [2, 4, 0])
def test_a_wrong_row_count_is_rejected(fmt, expected):
    with pytest.raises(InvalidPredictionError, match=f"expected {expected}"):
        parse_predictions(fmt(np.array([0.1, 0.2, 0.3], dtype=np.float32)), BINARY, 2, expected)


def test_a_wrong_multiclass_row_count_is_rejected():
    body = realtime(np.full((3, 4), 0.25, dtype=np.float32))
    with pytest.raises(InvalidPredictionError, match="expected 2 rows of 4"):
        parse_predictions(body, MULTICLASS, 4, 2)


@pytest.mark.parametrize(
    ("body", "problem_type", "classes", "rows", "message"),
    [
        (b"0.1,abc", BINARY, 2, 2, "not numbers"),
        (b"0.1,nan", REGRESSION, None, 2, "NaN"),
        (b"\xff\xfe", BINARY, 2, 1, "UTF-8"),
        (b"0.1,1.7", BINARY, 2, 2, r"probabilities in \[0, 1\]"),
        (b"[0.5, 0.5],[0.5]", MULTICLASS, 2, 2, "different widths"),
        (b"[0.5, 0.5]x[0.5, 0.5]", MULTICLASS, 2, 2, "bracketed"),
        (b"[0.4, 0.4],[0.5, 0.5]", MULTICLASS, 2, 2, "sum to 1"),
        (b"[0.2, 0.3, 0.5]", MULTICLASS, 2, 1, "expected 2 class probabilities"),
        (b"3", MULTICLASS, 3, 1, "class index"),
        (b"1,2\n3,4\n", REGRESSION, None, 2, "one value per row"),
        (b"<html>Service Unavailable</html>", BINARY, 2, 1, "not numbers"),
    ],
)
def test_unreadable_answers_are_named_errors(body, problem_type, classes, rows, message):
    with pytest.raises(InvalidPredictionError, match=message):
        parse_predictions(body, problem_type, classes, rows)


def test_an_empty_answer_for_no_rows_is_fine():
    assert parse_predictions(b"", BINARY, 2, 0).shape == (0,)
    assert parse_predictions(b"", MULTICLASS, 3, 0).shape == (0, 3)


def test_predict_in_batches_keeps_row_order_across_chunks():
    # Given 40 rows whose one feature is the row number, and a fake endpoint answering like the
    # container's real-time mode
    features = b"".join(f"{i}.0,1\n".encode() for i in range(40))
    calls = []

    def invoke(body: bytes) -> bytes:
        calls.append(body)
        first = np.array([float(line.split(b",")[0]) for line in body.splitlines()])
        return realtime(np.stack([first / 100, 1 - first / 100], axis=1).astype(np.float32))

    # When
    parsed = predict_in_batches(features, invoke, MULTICLASS, 2, max_bytes=50, concurrency=3)
    # Then
    assert len(calls) == len(list(batch_rows(features, max_bytes=50))) > 1
    np.testing.assert_allclose(parsed[:, 0], np.arange(40) / 100, atol=1e-6)


def test_count_rows_ignores_blank_lines():
    assert count_rows(b"1,2\n\n3,4\r\n5,6") == 3
