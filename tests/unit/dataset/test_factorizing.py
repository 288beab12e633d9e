"""factorize_cells is pd.factorize, however the equal cells are shared between objects."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.dataset.factorizing import factorize_cells


def fresh(text: str) -> str:
    """An equal string that is a new object (never the interned or cached one)."""
    return (" " + text)[1:] if text else "".join([])


CELLS = st.lists(
    st.one_of(
        st.text(max_size=4),
        st.sampled_from(["a", "b", "no", "yes"]),
        st.just(None),
        st.just(math.nan),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(cells=CELLS, copies=st.lists(st.booleans(), min_size=60, max_size=60))
def test_codes_and_uniques_are_pandas_factorize(cells, copies):
    # some equal cells the same object, some not, as the CSV parser leaves them
    values = np.empty(len(cells), dtype=object)
    values[:] = [
        fresh(cell) if isinstance(cell, str) and copy else cell for cell, copy in zip(cells, copies, strict=False)
    ]
    codes, uniques = factorize_cells(values)
    expected_codes, expected_uniques = pd.factorize(values)
    np.testing.assert_array_equal(codes, expected_codes)
    assert uniques.tolist() == expected_uniques.tolist()


def test_a_parsed_column_of_many_repeated_values_factorizes_as_pandas_does():
    rows = [f"{i % 997},{'abc'[i % 3]}\n" for i in range(200_000)]
    frame = pd.read_csv(io.StringIO("".join(rows)), header=None, dtype=object, keep_default_na=False)
    for column in frame:
        values = frame[column].to_numpy()
        assert len({id(value) for value in values}) < len(values) // 10  # the parser shares objects
        codes, uniques = factorize_cells(values)
        expected_codes, expected_uniques = pd.factorize(values)
        np.testing.assert_array_equal(codes, expected_codes)
        assert uniques.tolist() == expected_uniques.tolist()


def test_a_slice_that_is_not_contiguous_is_read_by_its_cells():
    values = np.array(["a", "b", "c", "a", "b", "c"], dtype=object)[::2]
    codes, uniques = factorize_cells(values)
    assert codes.tolist() == [0, 1, 2] and uniques.tolist() == ["a", "c", "b"]
