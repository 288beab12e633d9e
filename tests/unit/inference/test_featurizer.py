"""The featurizer's request contract: CSV with or without a header, JSON instances, and every bad request."""

import json

import numpy as np
import pandas as pd
import pytest

from sagedrop.dataset import to_headerless_csv, to_source_csv
from sagedrop.errors import InvalidRequestError
from sagedrop.inference.featurizer import Featurizer

# Source columns of the small table: age (int), score (float), colour (one-hot), constant (dropped).
ROW = "34,0.5,red,same"


@pytest.fixture
def featurizer(small_artifact):
    return Featurizer(small_artifact)


def features(featurizer, body, content_type="text/csv"):
    return featurizer.features(featurizer.read(body, content_type))


def rejected(featurizer, body, content_type="text/csv") -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        featurizer.featurize(body, content_type)
    return caught.value


# --- good requests --------------------------------------------------------------------------------


def test_headerless_rows_in_upload_order(featurizer):
    frame = features(featurizer, "34,0.5,red,same\n51,,blue,same\n")
    assert list(frame.columns) == ["age", "score", "colour_blue", "colour_green", "colour_red"]
    assert frame.iloc[0].tolist() == [34, 0.5, 0, 0, 1]
    assert frame.iloc[1, 0] == 51 and np.isnan(frame.iloc[1, 1]) and frame.iloc[1, 2:].tolist() == [1, 0, 0]


def test_the_answer_is_the_features_csv_xgboost_reads(featurizer):
    assert featurizer.featurize(ROW + "\n", "text/csv") == b"34,0.5,0,0,1\n"


def test_header_in_any_order_matches_columns_by_name(featurizer):
    ordered = features(featurizer, "age,score,colour,constant\n" + ROW)
    shuffled = features(featurizer, "colour,constant,score,age\nred,same,0.5,34")
    pd.testing.assert_frame_equal(ordered, shuffled)


def test_a_label_column_in_the_header_is_ignored(featurizer):
    with_label = features(featurizer, "y,colour,age,score,constant\nmaybe,red,34,0.5,same")
    pd.testing.assert_frame_equal(with_label, features(featurizer, ROW))


def test_a_column_training_dropped_may_be_left_out_of_the_header(featurizer):
    pd.testing.assert_frame_equal(features(featurizer, "age,score,colour\n34,0.5,red"), features(featurizer, ROW))


def test_an_unseen_category_is_all_zeros_not_an_error(featurizer):
    frame = features(featurizer, "34,0.5,purple,same\n34,0.5,,same")
    assert frame[["colour_blue", "colour_green", "colour_red"]].to_numpy().tolist() == [[0, 0, 0], [0, 0, 0]]


def test_values_read_as_training_read_them(featurizer):
    frame = features(featurizer, ' 34 , NA ,"red" ,whatever\n0034,?, RED,\n')
    assert frame["age"].tolist() == [34, 34]
    assert frame["score"].isna().all()  # "NA" and "?" are missing tokens
    assert frame["colour_red"].tolist() == [1, 0]  # stripped; categories are case-sensitive as in training


def test_blank_lines_are_skipped_and_crlf_is_fine(featurizer):
    pd.testing.assert_frame_equal(
        features(featurizer, "\r\n34,0.5,red,same\r\n\r\n51,1,blue,same\r\n"),
        features(featurizer, "34,0.5,red,same\n51,1,blue,same"),
    )


def test_bytes_with_a_byte_order_mark_and_charset_parameter(featurizer):
    body = ("\ufeff" + ROW).encode("utf-8")
    pd.testing.assert_frame_equal(features(featurizer, body, "text/csv; charset=utf-8"), features(featurizer, ROW))


def test_json_instances(featurizer):
    body = json.dumps(
        {
            "instances": [
                {"age": 34, "score": 0.5, "colour": "red", "constant": "same"},
                {"colour": "blue", "age": "51", "y": "ignored"},  # missing keys are missing values
                {"age": 20, "score": None, "colour": None},
            ]
        }
    )
    frame = features(featurizer, body, "application/json")
    pd.testing.assert_frame_equal(frame.iloc[:1], features(featurizer, ROW))
    assert frame["age"].tolist() == [34, 51, 20]
    assert frame["score"].iloc[1:].isna().all()
    assert frame[["colour_blue", "colour_green", "colour_red"]].iloc[2].tolist() == [0, 0, 0]


def test_bank_raw_rows_give_the_test_split_features(bank, bank_artifact):
    featurizer = Featurizer(bank_artifact)
    raw = to_source_csv(bank.raw_test.head(500), delimiter=bank.schema["delimiter"])
    assert featurizer.featurize(raw, "text/csv") == to_headerless_csv(bank.test.iloc[:500, 1:])


# --- bad requests: each names its row (1-based) and column ----------------------------------------


def test_wrong_field_count_names_row_and_expected_columns(featurizer):
    error = rejected(featurizer, f"{ROW}\n{ROW}\n34,0.5,red\n")
    assert error.status == 400
    assert str(error) == "row 3 has 3 fields, expected 4 (the columns of the upload without the label 'y')"


def test_wrong_field_count_after_a_header(featurizer):
    error = rejected(featurizer, "age,score,colour\n34,0.5,red\n34,0.5,red,extra\n")
    assert str(error) == "row 2 has 4 fields, expected 3 (the columns of the header)"


def test_one_field_hints_at_the_delimiter(featurizer):
    assert "fields are separated by ','" in str(rejected(featurizer, "34;0.5;red;same"))


def test_unreadable_number_names_row_and_column(featurizer):
    error = rejected(featurizer, f"{ROW}\n34,zero point five,red,same\n")
    assert error.status == 400
    assert str(error).startswith("row 2, column 'score': 'zero point five' is not a number (the column is numeric;")


def test_infinity_is_not_a_number(featurizer):
    assert str(rejected(featurizer, "1e999,0.5,red,same")).startswith("row 1, column 'age': '1e999' is not a number")


def test_unknown_column_in_the_header(featurizer):
    error = rejected(featurizer, "age,scroe,colour\n34,0.5,red\n")
    assert str(error).startswith("the header names unknown column(s) 'scroe' (did you mean 'score'?)")


def test_missing_column_in_the_header(featurizer):
    assert str(rejected(featurizer, "age,colour,constant\n34,red,same")).startswith(
        "the header lacks column(s) 'score'"
    )


def test_duplicate_column_in_the_header(featurizer):
    assert str(rejected(featurizer, "age,age,score,colour\n1,1,0.5,red")) == "the header names column 'age' twice"


def test_unknown_json_key_names_row_and_column(featurizer):
    body = json.dumps({"instances": [{"age": 1}, {"age": 2, "agee": 3}]})
    assert str(rejected(featurizer, body, "application/json")).startswith(
        "row 2: unknown column 'agee' (did you mean 'age'?); the columns are 'age', 'score', 'colour', 'constant'"
    )


def test_unreadable_json_number_names_row_and_column(featurizer):
    body = json.dumps({"instances": [{"age": 1}, {"age": True}]})
    assert str(rejected(featurizer, body, "application/json")).startswith("row 2, column 'age': 'true' is not a number")


def test_nested_json_value_names_row_and_column(featurizer):
    body = json.dumps({"instances": [{"colour": ["red"]}]})
    assert str(rejected(featurizer, body, "application/json")) == (
        "row 1, column 'colour': a value is a string, a number or null, not an array"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"instances": [', "the request body is not valid JSON: Expecting value (line 1, column 16)"),
        ("[1, 2]", "this body is an array without 'instances'"),
        ('{"rows": []}', "this body is an object without 'instances'"),
        ('{"instances": [], "extra": 1}', "unknown top-level key(s) 'extra'"),
        ('{"instances": {"age": 1}}', "'instances' is an object, not a list"),
        ('{"instances": []}', "the request holds no rows ('instances' is empty)"),
        (
            '{"instances": [{"age": 1}, [34, 0.5]]}',
            "row 2: an instance is a JSON object of column values, not an array",
        ),
        ('{"instances": [{"age": 1}, "34,0.5"]}', "row 2: an instance is a JSON object of column values, not a string"),
    ],
)
def test_bad_json(featurizer, body, message):
    error = rejected(featurizer, body, "application/json")
    assert error.status == 400
    assert message in str(error)


@pytest.mark.parametrize("body", ["", "   \n\n", b""])
def test_empty_body(featurizer, body):
    assert str(rejected(featurizer, body)) == "the request body is empty"


def test_header_without_rows(featurizer):
    assert str(rejected(featurizer, "age,score,colour,constant\n")) == "the request holds a header and no rows"


def test_undecodable_bytes(featurizer):
    error = rejected(featurizer, b"34,0.5,r\xe9d,same")
    assert str(error) == "the request body is not UTF-8 text (undecodable byte at offset 8)"


@pytest.mark.parametrize("content_type", ["application/x-npy", "text/plain", "", None])
def test_unsupported_content_type_is_415(featurizer, content_type):
    error = rejected(featurizer, ROW, content_type)
    assert error.status == 415
    assert "send text/csv or application/json" in str(error)
