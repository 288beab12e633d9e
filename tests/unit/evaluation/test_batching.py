"""Request bodies for InvokeEndpoint: whole lines, under the byte limit, nothing lost."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.errors import FeatureCountMismatchError, InvalidCsvError
from sagedrop.evaluation import (
    SAGEMAKER_MAX_PAYLOAD_BYTES,
    batch_rows,
    check_feature_count,
    features_only,
)

line_text = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x").replace(b"\r", b"y"))
line_ending = st.sampled_from([b"\n", b"\r\n"])


@st.composite
def csv_documents(draw):
    lines = draw(st.lists(st.tuples(line_text, line_ending), max_size=60))
    body = b"".join(text + end for text, end in lines)
    if lines and draw(st.booleans()):
        body = body.rstrip(b"\r\n")  # last line without a line ending
    return body


@settings(max_examples=200, deadline=None)
@given(document=csv_documents(), max_bytes=st.integers(min_value=42, max_value=300))
def test_batches_are_whole_lines_under_the_limit_and_concatenate_back(document, max_bytes):
    # When
    chunks = list(batch_rows(document, max_bytes=max_bytes))
    # Then
    assert b"".join(chunks) == document
    assert all(0 < len(chunk) <= max_bytes for chunk in chunks)
    # every chunk but the last ends at a line ending, so no line is split across two requests
    assert all(chunk.endswith(b"\n") for chunk in chunks[:-1])
    # greedy: the next chunk's first line would not have fitted
    for chunk, following in zip(chunks, chunks[1:], strict=False):
        assert len(chunk) + len(following.splitlines(keepends=True)[0]) > max_bytes


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(line_text, max_size=40), max_bytes=st.integers(min_value=42, max_value=200))
def test_an_iterable_of_lines_gets_one_line_ending_per_row(lines, max_bytes):
    chunks = list(batch_rows(iter(lines), max_bytes=max_bytes))
    assert b"".join(chunks) == b"".join(line + b"\n" for line in lines)
    assert all(len(chunk) <= max_bytes for chunk in chunks)


def test_rows_that_already_end_in_a_newline_are_not_doubled():
    assert list(batch_rows([b"1,2\n", b"3,4"])) == [b"1,2\n3,4\n"]


def test_a_line_longer_than_the_limit_is_a_named_error():
    with pytest.raises(InvalidCsvError, match="row 2 is 101 bytes"):
        list(batch_rows(b"1,2\n" + b"9" * 100 + b"\n", max_bytes=100))


def test_the_limit_cannot_exceed_what_invoke_endpoint_accepts():
    with pytest.raises(ValueError):
        list(batch_rows(b"1\n", max_bytes=SAGEMAKER_MAX_PAYLOAD_BYTES + 1))
    assert list(batch_rows(b"1\n", max_bytes=SAGEMAKER_MAX_PAYLOAD_BYTES)) == [b"1\n"]


def test_default_limit_stays_under_5_mb():
    row = b"0.5," * 249 + b"0.5\n"  # 1,000 bytes
    chunks = list(batch_rows(row * 12_000))
    assert [len(c) for c in chunks] == [5_000_000, 5_000_000, 2_000_000]


def test_empty_input_gives_no_request():
    assert list(batch_rows(b"")) == []
    assert list(batch_rows([])) == []


def test_features_only_drops_the_label_column_and_keeps_the_features_byte_for_byte():
    labels, features = features_only(b"1,0.10,3,-2e-05\n0,7,8.250,9\r\n\n2.0,1,1,1")
    np.testing.assert_array_equal(labels, [1.0, 0.0, 2.0])
    assert features == b"0.10,3,-2e-05\n7,8.250,9\n1,1,1\n"


def test_features_only_checks_the_feature_count_when_given():
    csv = b"1,0.1,0.2,0.3\n0,0.4,0.5\n"
    with pytest.raises(FeatureCountMismatchError, match="row 2 has 2 feature columns.*trained on 3"):
        features_only(csv, feature_count=3)
    labels, _ = features_only(b"1,0.1,0.2,0.3\n", feature_count=3)
    assert labels.tolist() == [1.0]


def test_a_row_without_features_is_a_mismatch():
    with pytest.raises(FeatureCountMismatchError, match="row 2"):
        features_only(b"1,2\n1\n")


def test_a_non_numeric_label_is_an_invalid_csv():
    with pytest.raises(InvalidCsvError, match="non-numeric label"):
        features_only(b"yes,1,2\n")


def test_check_feature_count_counts_rows_and_names_the_short_one():
    # Given one row short by one column — the container would answer it without complaint
    body = b"1,2,3\n4,5,6\n7,8\n"
    # Then
    assert check_feature_count(body[:12], 3) == 2
    with pytest.raises(FeatureCountMismatchError, match="row 3 has 2"):
        check_feature_count(body, 3)
