"""Staged transform requests: rows in order, a line per request, bounded by rows, bytes and features."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.errors import InvalidCsvError
from sagedrop.limits import FEATURE_VALUE_MAX_CHARS, PIPELINE_STAGE_MAX_BYTES
from sagedrop.scoring.requests import (
    MAX_ROWS_PER_REQUEST,
    RequestLines,
    instance_json,
    request_bytes,
    rows_per_request,
)


def test_a_request_holds_as_many_rows_as_their_features_allow():
    assert rows_per_request(51) == MAX_ROWS_PER_REQUEST  # bank: a thousand rows are ~0.8 MB of features at most
    wide = rows_per_request(5000)
    assert 1 <= wide < MAX_ROWS_PER_REQUEST and wide * 5000 * FEATURE_VALUE_MAX_CHARS <= PIPELINE_STAGE_MAX_BYTES
    assert rows_per_request(10**9) == 1 and rows_per_request(0) == MAX_ROWS_PER_REQUEST


values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@given(
    rows=st.lists(st.dictionaries(st.sampled_from(["a", "b", "é\n"]), values, max_size=3), max_size=40),
    per_line=st.integers(1, 9),
    target=st.integers(20, 400),
)
def test_rows_come_back_in_order_each_request_within_its_bounds(rows, per_line, target):
    written: list[str] = []
    lines = RequestLines(written.append, per_line, target)
    for number, row in enumerate(rows):
        lines.add(instance_json(row), f"row {number}")
    lines.close()
    requests = [json.loads(line)["instances"] for line in written]
    assert all(line.endswith("\n") and line.count("\n") == 1 and line.isascii() for line in written)
    assert [row for request in requests for row in request] == rows
    assert all(1 <= len(request) <= per_line for request in requests)
    # over the byte target only when a single row is larger than it
    for line, request in zip(written, requests, strict=True):
        assert len(line) <= target or (len(request) == 1 and len(line) == request_bytes(instance_json(request[0])))
    # a request is cut only when the next row would not fit
    for line, following in zip(written, requests[1:], strict=False):
        grown = len(line) + 1 + len(instance_json(following[0]))
        assert len(json.loads(line)["instances"]) == per_line or grown > target


def test_a_row_over_a_requests_limit_is_refused_by_name_and_nothing_of_it_is_written():
    written: list[str] = []
    lines = RequestLines(written.append, 10, target_bytes=200, max_request_bytes=60)
    lines.add(instance_json({"a": "1"}), "line 2")
    large = instance_json({"a": "x" * 60})

    with pytest.raises(InvalidCsvError, match=f"line 3 is {request_bytes(large)} bytes as a request: .* at most 60"):
        lines.add(large, "line 3")
    lines.close()

    assert [json.loads(line)["instances"] for line in written] == [[{"a": "1"}]]
