"""Reading one column of a known type (inference), writing typed rows back, raw test rows of a split."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.dataset import prepare_dataset, read_table, to_source_csv
from sagedrop.dataset.reader import read_number_column, read_text_column
from sagedrop.run_config import resolve_run_config


def test_number_column_reads_missing_tokens_and_flags_non_numbers():
    series, bad = read_number_column([" 3", "NA", "x", "4.5", "", "1e999", "?"], "a")
    assert series.name == "a"
    assert series.dtype == np.float64
    assert series.iloc[0] == 3.0 and series.iloc[3] == 4.5
    assert series.isna().tolist() == [False, True, True, False, True, True, True]
    assert bad.tolist() == [2, 5]  # "x" and the infinite "1e999"; the missing tokens are fine


def test_number_column_is_int64_when_every_value_is_whole():
    series, bad = read_number_column(["1", "2.0", " 3 "])
    assert series.dtype == np.int64 and series.tolist() == [1, 2, 3] and bad.size == 0
    assert read_number_column(["1", ""])[0].dtype == np.float64


def test_text_column_strips_and_marks_missing():
    series = read_text_column([" red ", "N/A", "", "blue", None])
    assert series.dtype == object
    assert series.tolist()[:1] == ["red"] and series.iloc[3] == "blue"
    assert series.isna().tolist() == [False, True, True, False, True]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(-(10**6), 10**6).map(str), st.sampled_from(["", "na", "x", " 7 "])), min_size=1))
def test_the_training_parser_and_the_column_parsers_agree(cells):
    """read_table types a whole column as numeric or text; the column readers give the same values."""
    data = ("a,b\n" + "\n".join(f"{cell},{i}" for i, cell in enumerate(cells * 20)) + "\n").encode()
    column = read_table(data).frame["a"]
    if pd.api.types.is_numeric_dtype(column.dtype):
        expected, _ = read_number_column(cells * 20, "a")
    else:
        expected = read_text_column(cells * 20, "a")
    pd.testing.assert_series_equal(column, expected)


def test_source_csv_round_trips_typed_values():
    rows = pd.DataFrame({"n": [1.5, np.nan, 1e-7], "i": [1, 2, 3], "t": ["a;b", None, 'q"uote']})
    frame = pd.concat([rows] * 10, ignore_index=True)  # read_table wants 20 rows or more
    written = to_source_csv(frame, delimiter=";")
    assert written.splitlines()[:2] == [b"n;i;t", b'1.5;1;"a;b"']
    back = read_table(written, delimiter=";").frame
    pd.testing.assert_frame_equal(back, frame.astype({"t": object}))


@pytest.fixture(scope="module")
def prepared():
    rng = np.random.default_rng(1)
    n = 80
    frame = pd.DataFrame(
        {"x": rng.normal(size=n).round(3), "c": rng.choice(["u", "v"], size=n), "y": rng.choice(["a", "b"], size=n)}
    )
    frame.loc[[3, 10], "y"] = ""  # rows without a label are dropped before the split
    config = resolve_run_config(None, {"label": "y", "seed": 7}, source="test")
    return frame, prepare_dataset(frame.to_csv(index=False).encode(), config, source="t.csv")


def test_source_rows_point_at_the_upload_rows_of_each_split(prepared):
    frame, result = prepared
    rows = np.concatenate(list(result.source_rows.values()))
    assert sorted(rows.tolist()) == [i for i in range(len(frame)) if i not in (3, 10)]
    for split in ("train", "validation", "test"):
        labels = frame["y"].iloc[result.source_rows[split]].map({"a": 0, "b": 1}).tolist()
        assert labels == getattr(result, split)["y"].tolist()


def test_raw_test_holds_the_test_rows_as_read_without_the_label(prepared):
    frame, result = prepared
    assert list(result.raw_test.columns) == ["x", "c"]
    expected = frame[["x", "c"]].iloc[result.source_rows["test"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.raw_test, expected.astype({"c": object}), check_dtype=False)
