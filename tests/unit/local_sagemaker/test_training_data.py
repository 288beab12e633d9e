"""The local training's CSV reader: the container's numbers, as 32-bit floats, one file at a time."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop_local.sagemaker.training_data import _numeric_values, read_csv_matrix

cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e30, max_value=1e30).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.just(""),
)


def write(tmp_path, name: str, rows: list[list[str]]) -> object:
    path = tmp_path / name
    path.write_text("".join(",".join(row) + "\n" for row in rows))
    return path


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=20), split=st.integers(0, 20))
def test_numbers_read_as_the_64_bit_parse_rounded_to_32_bits(tmp_path_factory, rows, split):
    tmp_path = tmp_path_factory.mktemp("csv")
    if all(cell == "" for cell in rows[0]):
        rows[0][0] = "1"  # a first line of empty cells only is not a CSV row pandas keeps
    split = max(1, min(split, len(rows)))  # two files, or one
    paths = [write(tmp_path, "a.csv", rows[:split])]
    if rows[split:]:
        paths.append(write(tmp_path, "b.csv", rows[split:]))
    expected = np.array([[float(cell) if cell else np.nan for cell in row] for row in rows], dtype=np.float64)
    got = _numeric_values(paths, ",")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected.astype(np.float32))


def test_a_text_cell_reads_as_zero_and_an_empty_one_as_missing(tmp_path):
    path = write(tmp_path, "a.csv", [["1", "x", ""], ["0", "2.5", "3"]])
    got = _numeric_values([path], ",")
    np.testing.assert_array_equal(got, np.array([[1, 0, np.nan], [0, 2.5, 3]], dtype=np.float32))


def test_files_of_different_widths_leave_the_missing_cells_missing(tmp_path):
    first = write(tmp_path, "a.csv", [["1", "2", "3"]])
    second = write(tmp_path, "b.csv", [["0", "4"]])
    got = _numeric_values([first, second], ",")
    np.testing.assert_array_equal(got, np.array([[1, 2, 3], [0, 4, np.nan]], dtype=np.float32))


def test_the_matrix_takes_the_label_from_the_first_column(tmp_path):
    path = write(tmp_path, "a.csv", [["1", "0.5", "7"], ["0", "1.5", "8"]])
    matrix = read_csv_matrix([path])
    np.testing.assert_array_equal(matrix.get_label(), [1, 0])
    assert (matrix.num_row(), matrix.num_col()) == (2, 2)
