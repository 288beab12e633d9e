"""The streams of scoring: header stripped and rows staged as JSON requests; scores assembled from the upload.

Hypothesis writes tables whose values hold delimiters, quotes and line breaks (CSV quotes them, so a
record spans several lines of the file); Batch Transform splits its input at every newline.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.errors import InvalidCsvError
from sagedrop.scoring.assembling import assemble
from sagedrop.scoring.columns import ColumnPlan
from sagedrop.scoring.csvstream import Record, prediction_rows, read_records
from sagedrop.scoring.errors import TransformOutputMismatch
from sagedrop.scoring.staging import stage

DELIMITERS = [",", ";", "\t", "|"]
# Text with what makes CSV hard: quotes, every delimiter, \r, \n and \r\n, and non-ASCII letters.
cell = st.text(alphabet=st.sampled_from(list('ab "\n\r,;|\t-é1')), max_size=8)


@st.composite
def tables(draw) -> tuple[str, list[str], list[list[str]]]:
    delimiter = draw(st.sampled_from(DELIMITERS))
    width = draw(st.integers(min_value=1, max_value=4))
    header = [f"c{i}" for i in range(width)]
    # A row of one empty (or blank) field would be a blank line: no record, for training as here.
    rows = draw(
        st.lists(
            st.lists(cell, min_size=width, max_size=width).filter(lambda r: len(r) > 1 or r[0].strip()),
            max_size=12,
        )
    )
    return delimiter, header, rows


def write_csv(header: list[str], rows: list[list[str]], delimiter: str, line_end: str = "\r\n") -> str:
    """Valid CSV: ``csv`` quotes only its own line terminator's characters, so with ``\n`` quote all."""
    buffer = io.StringIO()
    quoting = csv.QUOTE_MINIMAL if line_end == "\r\n" else csv.QUOTE_ALL
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=quoting).writerows([header, *rows])
    return buffer.getvalue()


def records_of(text: str, delimiter: str):
    return read_records(io.StringIO(text, newline=""), delimiter)


@settings(max_examples=300, deadline=None)
@given(tables(), st.randoms(use_true_random=False), st.sampled_from(["\n", "\r\n"]), st.integers(1, 5))
def test_staging_sends_each_row_once_in_order_in_requests_without_the_header(table, random, line_end, per_line):
    delimiter, header, rows = table
    # Given a plan that reorders the columns and leaves one out (a column training dropped)
    order = list(range(len(header)))
    random.shuffle(order)
    positions = tuple(order[:-1] + [None]) if len(order) > 1 else tuple(order)
    columns = tuple(f"m{i}" for i in range(len(positions)))  # the model's names for them
    records = records_of(write_csv(header, rows, delimiter, line_end), delimiter)
    assert next(records).fields == header  # the header is the first record, however long its lines

    pieces: list[str] = []
    count = stage(records, ColumnPlan(len(header), positions, (), columns=columns), pieces.append, per_line)

    lines = "".join(pieces).split("\n")
    # Then every line is one request of at most per_line rows (what SplitType Line sends as one
    # record: no line break inside), none the header
    assert count == len(rows) and lines[-1] == ""
    requests = [json.loads(line)["instances"] for line in lines[:-1]]
    assert all(1 <= len(request) <= per_line for request in requests)
    # and the rows come in order, each value exactly as uploaded (line breaks too) under the model's
    # name for it, a column training dropped not sent
    expected = [{column: row[p] for column, p in zip(columns, positions, strict=True) if p is not None} for row in rows]
    assert [instance for request in requests for instance in request] == expected


@settings(max_examples=300, deadline=None)
@given(tables(), st.booleans())
def test_assembly_gives_each_row_its_own_prediction_and_keeps_every_value(table, regression):
    delimiter, header, rows = table
    columns = ["predicted_label"] if regression else ["predicted_label", "probability"]
    # Given the job's output: one line per row, labels that need quoting, blank lines between answers
    answers = [[f"label,{i}", f"0.{i}"][: len(columns)] for i in range(len(rows))]
    output = "".join(f"{write_csv(answer, [], ',', '')}\n\n" for answer in answers)
    records = records_of(write_csv(header, rows, delimiter), delimiter)

    pieces: list[str] = []
    count = assemble(
        next(records), records, prediction_rows(io.StringIO(output), len(columns)), columns, delimiter, pieces.append
    )

    # Then the scores file is the header plus the prediction columns, and every row, values exact
    # (line breaks included), followed by its own prediction
    parsed = list(csv.reader(io.StringIO("".join(pieces), newline=""), delimiter=delimiter))
    assert count == len(rows)
    assert parsed == [header + columns, *[row + answer for row, answer in zip(rows, answers, strict=True)]]


@pytest.mark.parametrize(("predictions", "rows"), [(2, 3), (4, 3)], ids=["too-few", "too-many"])
def test_a_prediction_count_that_differs_from_the_rows_is_an_error_not_a_shifted_file(predictions, rows):
    records = records_of("a,b\n" + "".join(f"{i},x\n" for i in range(rows)), ",")
    output = io.StringIO("".join(f"no,0.{i}\n" for i in range(predictions)))

    with pytest.raises(TransformOutputMismatch, match="prediction"):
        assemble(next(records), records, prediction_rows(output, 2), ["predicted_label", "probability"], ",", print)


def test_an_output_line_of_the_wrong_width_is_named():
    with pytest.raises(TransformOutputMismatch, match="line 2 of the transform output has 1 field"):
        list(prediction_rows(io.StringIO("no,0.9\nyes\n"), 2))


def test_a_row_with_another_field_count_than_the_header_is_named_by_its_line():
    # Given a quoted line break in row 1: row 2 starts on line 4 of the file
    records = records_of('a,b\n1,"two\nlines"\n3\n', ",")
    next(records)

    with pytest.raises(InvalidCsvError, match="line 4 has 1 field, the header has 2"):
        stage(records, ColumnPlan(2, (0, 1), (), columns=("a", "b")), print, 10)


def test_records_know_the_line_they_start_on_and_skip_blank_lines():
    records = list(records_of('h1,h2\n\n"a\nb",c\n\nd,e\n', ","))

    assert records == [Record(1, ["h1", "h2"]), Record(3, ["a\nb", "c"]), Record(6, ["d", "e"])]


def test_a_record_larger_than_one_request_is_refused_before_the_job():
    records = records_of("a\n" + "x" * 100 + "\nshort\n", ",")
    next(records)

    with pytest.raises(
        InvalidCsvError, match=r"line 2 is 125 bytes as a request: a transform request carries at most 50"
    ):
        stage(records, ColumnPlan(1, (0,), (), columns=("a",)), lambda text: None, 10, max_record_bytes=50)


def test_text_that_is_not_in_the_runs_encoding_is_named():
    stream = io.TextIOWrapper(io.BytesIO(b"a,b\n1,\xff\n"), encoding="utf-8", newline="")

    with pytest.raises(InvalidCsvError, match="not utf-8 text"):
        list(read_records(stream, ","))
