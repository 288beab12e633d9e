"""The file's header against the run's columns, and values checked as training read them."""

from __future__ import annotations

import pytest

from sagedrop.scoring.columns import ColumnPlan, ModelColumns, check_values, plan_columns
from sagedrop.scoring.csvstream import Record
from sagedrop.scoring.errors import ColumnMismatchError, InvalidValueError

from .conftest import RUN_ID, make_schema

MODEL = ModelColumns.from_schema(RUN_ID, make_schema())


def header(*names: str) -> Record:
    return Record(1, list(names))


def test_columns_in_any_order_map_to_the_model_order_and_the_label_is_kept_out():
    plan = plan_columns(header("y", "balance", " job ", "id", "age"), MODEL)

    # age, job, balance, id (dropped by training: not sent)
    assert plan == ColumnPlan(
        width=5,
        positions=(4, 2, 1, None),
        numeric=(("age", 4), ("balance", 1)),
        delimiter=",",
        columns=("age", "job", "balance", "id"),
    )


def test_a_column_training_dropped_may_be_left_out():
    plan = plan_columns(header("age", "job", "balance"), MODEL)

    assert plan.positions == (0, 1, 2, None)


def test_an_unknown_column_is_named_with_its_position_and_a_suggestion():
    with pytest.raises(ColumnMismatchError) as raised:
        plan_columns(header("age", "jobb", "balance"), MODEL)

    message = str(raised.value)
    assert "line 1, column 2: 'jobb' is not a column of run bank-full-0123456789abcdef" in message
    assert "did you mean 'job'?" in message and "'age', 'job', 'balance', 'id'" in message


def test_a_missing_column_is_named():
    with pytest.raises(ColumnMismatchError, match=r"line 1: the header lacks column\(s\) 'balance'"):
        plan_columns(header("age", "job", "y"), MODEL)


def test_a_column_twice_is_named_with_both_positions():
    with pytest.raises(ColumnMismatchError, match="line 1, column 4: column 'age' appears twice \\(also column 1\\)"):
        plan_columns(header("age", "job", "balance", "age"), MODEL)


def test_a_file_without_a_header_is_told_to_start_with_one():
    with pytest.raises(ColumnMismatchError, match="the file must start with a header line"):
        plan_columns(header("58", "management", "2143"), MODEL)


def test_a_file_with_another_delimiter_than_the_upload_is_told_so():
    model = ModelColumns.from_schema(RUN_ID, make_schema(delimiter=";"))

    with pytest.raises(ColumnMismatchError, match="separates fields with ';', this file seems to use ','"):
        plan_columns(header("age,job,balance"), model)


def test_text_in_a_numeric_column_is_named_by_line_and_column():
    plan = plan_columns(header("age", "job", "balance"), MODEL)
    batch = [Record(2, ["58", "admin.", "10"]), Record(3, ["NA", "x", ""]), Record(5, ["41", "x", "lots"])]

    with pytest.raises(InvalidValueError, match="line 5, column 'balance': 'lots' is not a number"):
        check_values(batch, plan)


def test_missing_tokens_and_unseen_categories_are_not_errors():
    plan = plan_columns(header("age", "job", "balance"), MODEL)

    check_values([Record(2, [" n/a ", "astronaut", "1e3"]), Record(3, ["?", "", "-2.5"])], plan)


def test_numbers_are_read_with_the_uploads_delimiter_as_training_read_them():
    # In a ';' upload "1,5" is one and a half (a decimal comma); in a tab upload it is ambiguous and refused
    semicolon = plan_columns(
        header("age", "job", "balance"), ModelColumns.from_schema(RUN_ID, make_schema(delimiter=";"))
    )
    check_values([Record(2, ["58", "admin.", "1,5"])], semicolon)
    tab = plan_columns(header("age", "job", "balance"), ModelColumns.from_schema(RUN_ID, make_schema(delimiter="\t")))
    with pytest.raises(InvalidValueError, match="line 2, column 'balance'"):
        check_values([Record(2, ["58", "admin.", "1,234"])], tab)
