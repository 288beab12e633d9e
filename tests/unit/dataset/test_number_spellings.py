"""Numbers written with thousands separators, decimal commas or infinities: read as numbers or refused.

Never silently text (one-hot columns, or dropped as an identifier), and read the same way by the
deployed model's featurizer as by training.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.dataset import read_table
from sagedrop.dataset.numbers import FLOAT32_MAX, read_number, read_numbers
from sagedrop.errors import InvalidCsvError, InvalidRequestError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.featurizer import Featurizer
from tests.unit.inference.conftest import prepare

SOURCE = "incoming/x/data.csv"


def table_bytes(values: list[str], delimiter: str, column: str = "amount") -> bytes:
    """A header, then one row per value: ``values`` in ``column`` (quoted when needed), a label beside it."""
    buffer = io.StringIO()
    buffer.write(f"id{delimiter}{column}{delimiter}y\n")
    for i, value in enumerate(values):
        field = f'"{value}"' if delimiter in value else value
        buffer.write(f"{i}{delimiter}{field}{delimiter}{'yes' if i % 2 else 'no'}\n")
    return buffer.getvalue().encode()


def refused(data: bytes, delimiter: str | None = None) -> str:
    with pytest.raises(InvalidCsvError) as caught:
        read_table(data, delimiter=delimiter, source=SOURCE)
    return str(caught.value).removeprefix(f"{SOURCE}: ")


# --- one value ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter", "expected"),
    [
        ("1234", ",", 1234.0),
        ("-1,234", ",", -1234.0),
        ("1,234,567.25", ",", 1234567.25),
        ("1,234,567.25", "\t", 1234567.25),
        ("12,34,567", ",", 1234567.0),  # Indian grouping
        ("1.234.567,25", ";", 1234567.25),
        ("1.234.567", "\t", 1234567.0),
        ("1 234 567,5", ";", 1234567.5),
        ("1\u00a0234,5", ";", 1234.5),
        ("1\u202f234.5", ",", 1234.5),
        ("12,5", ";", 12.5),
        ("12,5", "\t", 12.5),
        ("0,125", "|", 0.125),
        ("1,234", ";", 1.234),  # a semicolon file's comma is its decimal mark
        ("1,234", ",", 1234.0),  # a comma file's quoted comma groups thousands
        ("1.234", ";", 1.234),  # a point is a decimal point
    ],
)
def test_spellings_read_as_numbers(text, delimiter, expected):
    reading = read_number(text, delimiter)
    assert reading.problem is None
    assert reading.value == expected


@pytest.mark.parametrize(
    ("text", "delimiter", "problem"),
    [
        ("inf", ",", "is infinite"),
        ("-Infinity", ";", "is infinite"),
        ("+INF", ",", "is infinite"),
        ("∞", ",", "is infinite"),
        ("1e999", ",", "overflows"),
        ("-1e39", ",", "beyond the float32 range"),
        ("1,234", "\t", "may be 1234 (a thousands separator) or 1.234 (a decimal comma) in a tab-separated file"),
        ("1,234", "|", "'|'-separated file"),
    ],
)
def test_spellings_refused_with_a_reason(text, delimiter, problem):
    reading = read_number(text, delimiter)
    assert math.isnan(reading.value)
    assert problem in reading.problem


@pytest.mark.parametrize("text", ["abc", "10.0.0.1", "12.03.2020", "1,2,3", "A-1,234", "1_000", ""])
def test_other_text_is_no_number_and_no_problem(text):
    reading = read_number(text, ",")
    assert math.isnan(reading.value) and reading.problem is None


FINITE = st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))


def grouped(value: float, thousands: str, decimal: str) -> str:
    whole, _, fraction = f"{abs(value):.2f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return ("-" if value < 0 else "") + thousands.join(groups) + decimal + fraction


@settings(max_examples=200, deadline=None)
@given(
    value=FINITE,
    style=st.sampled_from([(",", "."), (".", ","), (" ", ","), ("\u00a0", "."), ("", "."), ("", ",")]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_every_grouped_spelling_reads_back_its_value(value, style, delimiter):
    # Two decimals keep every spelling unambiguous ("1,234" alone is the ambiguous one).
    text = grouped(value, *style)
    reading = read_number(text, delimiter)
    assert reading.problem is None, text
    assert reading.value == pytest.approx(float(f"{value:.2f}"), rel=1e-15, abs=0), text


@settings(max_examples=100, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_plain_python_numbers_read_exactly_or_are_refused_beyond_float32(value, delimiter):
    reading = read_number(repr(value), delimiter)
    if abs(value) > FLOAT32_MAX:
        assert "float32" in reading.problem
    else:
        assert reading.value == value and reading.problem is None


SPELLINGS = st.one_of(
    st.floats(allow_nan=False).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.text(alphabet="0123456789+-.eE,_ \u00a0\u202fInfity∞١", max_size=12),
    st.sampled_from(["1.", ".5", "1e999", "-1e39", "3.4e38", "1,234", "1.234,5", "12,34,567", "nan", "", "+.5e-3"]),
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(SPELLINGS, max_size=30), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_reading_many_texts_at_once_reads_each_as_one_at_a_time(texts, delimiter):
    readings = read_numbers(texts, delimiter)
    for index, text in enumerate(texts):
        one = read_number(text, delimiter)
        value = readings.values[index]
        assert (value == one.value) or (math.isnan(value) and math.isnan(one.value)), text
        assert (readings.problems[index], readings.grouping[index], readings.decimal[index]) == (
            one.problem,
            one.grouping,
            one.decimal,
        ), text


# --- whole columns at training ------------------------------------------------------------


def test_a_semicolon_file_with_decimal_commas_and_thousands_points_is_numeric():
    values = ["1.234,5", "12,25", "-3,5", "1.000.000", "7", "0,125"] * 5
    table = read_table(table_bytes(values, ";"))
    assert table.delimiter == ";" and table.is_numeric("amount")
    assert table.frame["amount"][:6].tolist() == [1234.5, 12.25, -3.5, 1_000_000.0, 7.0, 0.125]


def test_a_comma_file_with_quoted_thousands_separators_is_numeric():
    values = ["1,234", "12,345.5", "999", "-1,000,000"] * 6
    table = read_table(table_bytes(values, ","))
    assert table.is_numeric("amount")
    assert table.frame["amount"][:4].tolist() == [1234.0, 12345.5, 999.0, -1_000_000.0]


def test_a_wine_style_semicolon_file_keeps_its_decimal_points():
    values = ["7.4", "0.7", "11.25", "3"] * 6
    assert read_table(table_bytes(values, ";")).frame["amount"][:4].tolist() == [7.4, 0.7, 11.25, 3.0]


@pytest.mark.parametrize(
    ("values", "delimiter", "expected"),
    [
        (["1", "inf", "3"] * 8, ",", "line 3, column 'amount': 'inf' is infinite; XGBoost trains on finite numbers"),
        (["1", "2", "-Infinity"] * 8, ";", "line 4, column 'amount': '-Infinity' is infinite"),
        (["1.5", "1e999"] * 10, ",", "line 3, column 'amount': '1e999' overflows"),
        (["2e38", "5e38"] * 10, ",", "line 3, column 'amount': '5e38' is beyond the float32 range"),
        (["1,234", "2,345"] * 10, "\t", "line 2, column 'amount': '1,234' may be 1234 (a thousands separator)"),
    ],
)
def test_a_refused_spelling_in_a_numeric_column_fails_with_line_and_column(values, delimiter, expected):
    assert refused(table_bytes(values, delimiter)).startswith(expected)


def test_one_refused_value_among_a_hundred_numbers_is_not_read_as_missing():
    values = [str(i) for i in range(150)]
    values[120] = "inf"
    assert refused(table_bytes(values, ",")).startswith("line 122, column 'amount': 'inf' is infinite")


def test_a_mark_in_two_roles_in_one_column_is_refused_naming_both_lines():
    values = ["1.234,5", "3,5", "1.234"] * 8
    message = refused(table_bytes(values, ";"))
    assert message.startswith("line 4, column 'amount': '1.234' reads as 1.234 with '.' as the decimal mark")
    assert "but '1.234,5' (line 2) uses '.' to group thousands" in message


def test_regression_labels_beyond_float32_are_refused_by_column():
    data = b"x,target\n" + b"".join(f"{i},{i * 1e37:.1e}\n".encode() for i in range(1, 40))
    assert refused(data).startswith("line 36, column 'target': '3.5e+38' is beyond the float32 range")


def test_infinity_in_a_text_column_stays_text():
    values = ["inf", "red", "blue", "green"] * 6
    table = read_table(table_bytes(values, ","))
    assert not table.is_numeric("amount") and "inf" in set(table.frame["amount"])


def test_a_line_number_counts_quoted_line_breaks_and_blank_lines():
    rows = ["id,note,amount,y"] + [f'{i},"two\nlines",{i},{i % 2}' for i in range(5)] + [""]
    rows += [f"{i},plain,{'inf' if i == 7 else i},{i % 2}" for i in range(5, 30)]
    assert refused("\n".join(rows).encode()).startswith("line 15, column 'amount': 'inf' is infinite")


# --- training and the deployed model read the same numbers ----------------------------------


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(FINITE, min_size=24, max_size=40),
    style=st.sampled_from([(",", "."), (".", ","), (" ", ","), ("", ".")]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    data=st.data(),
)
def test_the_featurizer_reads_request_values_as_training_read_the_upload(values, style, delimiter, data):
    spelled = [grouped(value, *style) for value in values]
    labels = data.draw(st.lists(st.sampled_from(["no", "yes"]), min_size=len(values), max_size=len(values)))
    body = [f"amount{delimiter}other{delimiter}y"]
    for i, (text, label) in enumerate(zip(spelled, labels, strict=True)):
        field = f'"{text}"' if delimiter in text else text
        body.append(f"{field}{delimiter}{i % 5}{delimiter}{label}")
    try:
        prepared = prepare(("\n".join(body) + "\n").encode(), label="y")
    except Exception as error:  # noqa: BLE001 - a label of one class: nothing to compare
        assert "one" in str(error) or "class" in str(error)
        return
    featurizer = Featurizer(FeaturizerArtifact.from_schema(prepared.schema))
    rows = prepared.source_rows["test"]
    request = "\n".join(body[1 + row].rsplit(delimiter, 1)[0] for row in rows) + "\n"
    features = featurizer.features(featurizer.read(request, "text/csv"))
    expected = prepared.test.iloc[:, 1:]
    assert np.array_equal(features.to_numpy(float), expected.to_numpy(float), equal_nan=True)


def test_the_featurizer_refuses_what_training_refuses_with_the_reason():
    prepared = prepare(table_bytes([f"{i},5" for i in range(30)], ";"), label="y")
    featurizer = Featurizer(FeaturizerArtifact.from_schema(prepared.schema))
    assert featurizer.features(featurizer.read("1;1.234,5\n", "text/csv")).iloc[0, 1] == 1234.5
    with pytest.raises(InvalidRequestError) as caught:
        featurizer.read("1;inf\n", "text/csv")
    assert str(caught.value).startswith("row 1, column 'amount': 'inf' is not a number: it is infinite")
