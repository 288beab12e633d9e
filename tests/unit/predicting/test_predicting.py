"""Chunking raw CSV for the endpoint: whole records, under the limit, in order, errors mapped to file rows."""

from __future__ import annotations

import csv
import io
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.errors import EndpointError, EndpointRejected
from sagedrop.predicting import (
    answer_rows,
    iter_chunks,
    predict_chunks,
)

cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12)


def as_csv(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def records(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3).filter(lambda r: any(r)), min_size=1, max_size=40),
    max_bytes=st.integers(min_value=200, max_value=600),
)
def test_chunks_carry_every_record_once_in_order_with_the_header_and_under_the_limit(rows, max_bytes):
    # Given any table, quotes, commas and newlines in its cells included
    text = as_csv(["a", "b", "c"], rows)

    # When it is cut into request bodies
    chunks = list(iter_chunks(io.StringIO(text, newline=""), max_bytes=max_bytes))

    # Then each body is at most max_bytes, starts with the header, and the records come back whole
    assert all(len(chunk.body) <= max_bytes for chunk in chunks)
    assert all(records(chunk.body)[0] == ["a", "b", "c"] for chunk in chunks)
    assert [record for chunk in chunks for record in records(chunk.body)[1:]] == rows
    assert [chunk.first_row for chunk in chunks] == [
        1 + sum(len(c.records) for c in chunks[:i]) for i in range(len(chunks))
    ]


def test_without_a_header_no_line_is_taken_for_one():
    chunks = list(iter_chunks(io.StringIO("1,2\n3,4\n"), has_header=False))

    assert [chunk.header for chunk in chunks] == [None]
    assert records(chunks[0].body) == [["1", "2"], ["3", "4"]]


def test_a_record_larger_than_a_request_is_named():
    text = "a,b\n1,2\n" + "x" * 500 + ",3\n"

    with pytest.raises(EndpointRejected, match="row 2 is 503 bytes"):
        list(iter_chunks(io.StringIO(text), max_bytes=300))


def test_answers_come_back_in_input_order_whatever_order_requests_finish_in():
    text = as_csv(["n"], [[str(i)] for i in range(200)])
    chunks = list(iter_chunks(io.StringIO(text), max_bytes=40))
    generator = random.Random(7)

    def invoke(body: bytes, content_type: str, accept: str) -> bytes:
        time.sleep(generator.random() / 200)
        return "\n".join(f"p{row[0]}" for row in records(body)[1:]).encode()

    answered = list(predict_chunks(chunks, invoke, concurrency=4))

    assert len(chunks) > 10
    assert [chunk.first_row for chunk, _ in answered] == [chunk.first_row for chunk in chunks]
    for chunk, answer in answered:
        assert answer_rows(answer, len(chunk.records)) == [[f"p{record[0]}"] for record in chunk.records]


def test_an_endpoint_error_names_the_row_of_the_input_file():
    text = as_csv(["n"], [[str(i)] for i in range(30)])
    chunks = list(iter_chunks(io.StringIO(text), max_bytes=30))

    def invoke(body: bytes, content_type: str, accept: str) -> bytes:
        values = [record[0] for record in records(body)[1:]]
        if "17" in values:
            raise EndpointError(f"row {values.index('17') + 1}, column 'n': '17' is unlucky", status=400)
        return b"\n".join(b"x" for _ in records(body)[1:])

    with pytest.raises(EndpointRejected) as raised:
        list(predict_chunks(chunks, invoke, concurrency=2))

    assert "(row 18 of the input)" in str(raised.value)
    assert "column 'n'" in str(raised.value)


def test_an_answer_with_the_wrong_number_of_rows_is_rejected():
    with pytest.raises(EndpointRejected, match="answered 1 rows for 2"):
        answer_rows(b"yes,0.9\n", expected=2)


def contract(rows: list[dict]) -> bytes:
    import json

    return json.dumps({"predictions": rows}).encode()


def test_contract_scores_per_problem_type():
    from sagedrop.predicting import contract_scores

    binary = contract(
        [{"predicted_label": "yes", "probability": 0.9, "probabilities": [0.1, 0.9], "labels": ["no", "yes"]}]
    )
    multi = contract(
        [{"predicted_label": 2, "probability": 0.5, "probabilities": [0.2, 0.3, 0.5], "labels": [0, 1, 2]}]
    )
    regression = contract([{"predicted_label": 12.5}, {"predicted_label": 3}])

    assert contract_scores(binary, "binary_classification", 1).tolist() == [0.9]
    assert contract_scores(multi, "multiclass_classification", 1).tolist() == [[0.2, 0.3, 0.5]]
    assert contract_scores(regression, "regression", 2).tolist() == [12.5, 3.0]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [(b"0.1\n0.9\n", "not the predictions contract"), (contract([{"predicted_label": 1.0}]), "1 predictions for 2")],
)
def test_an_answer_that_breaks_the_contract_is_named(answer, problem):
    from sagedrop.errors import InvalidPredictionError
    from sagedrop.predicting import contract_scores

    with pytest.raises(InvalidPredictionError, match=problem):
        contract_scores(answer, "regression", 2)


def test_a_raw_csv_is_scored_in_row_order_through_several_requests():
    from sagedrop.predicting import predict_raw_csv

    text = as_csv(["x", "y"], [[str(i), f"text {i}"] for i in range(50)]).encode()

    def invoke(body: bytes, content_type: str, accept: str) -> bytes:
        assert (content_type, accept) == ("text/csv", "application/json")
        return contract([{"predicted_label": float(row[0])} for row in records(body)[1:]])

    scores = predict_raw_csv(text, invoke, "regression", max_bytes=64, concurrency=3)

    assert scores.tolist() == [float(i) for i in range(50)]


def test_requests_are_also_capped_in_rows_so_featurized_rows_fit_between_containers():
    from sagedrop.limits import FEATURE_VALUE_MAX_CHARS, PIPELINE_STAGE_MAX_BYTES
    from sagedrop.predicting import rows_per_request

    text = as_csv(["n"], [[str(i)] for i in range(25)])
    chunks = list(iter_chunks(io.StringIO(text), max_rows=10))

    assert [len(chunk.records) for chunk in chunks] == [10, 10, 5]
    assert rows_per_request(50) * 50 * FEATURE_VALUE_MAX_CHARS <= PIPELINE_STAGE_MAX_BYTES
    assert rows_per_request(10**9) == 1
