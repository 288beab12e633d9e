"""Pass 1's column scan: value counts while they can be tracked, then the most frequent and a sketch.

A column of more distinct values than STREAM_TRACKED_VALUES keeps only its most frequent values and
estimates the distinct count from a k-minimum-values sketch of every value seen. Both must come
out the same however the rows are cut into chunks.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.dataset import passes
from sagedrop.dataset.passes import SKETCH_SIZE, ColumnScan
from sagedrop.dataset.reader import _Distinct


def scanned(values: list[str], cuts: list[int]) -> ColumnScan:
    """A ColumnScan fed ``values`` in chunks that end at ``cuts``, every row labelled and in train."""
    scan = ColumnScan()
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(values)}), len(values)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        chunk = np.array(values[start:end], dtype=object)
        rows = np.ones(len(chunk), dtype=bool)
        scan.update(_Distinct(chunk, ","), start, rows, rows)
    return scan


def expected_estimate(values: list[str]) -> int:
    """The sketch's estimate computed from all the distinct values at once."""
    distinct = pd.unique(np.array([value.strip() for value in values], dtype=object))
    hashes = np.sort(pd.util.hash_array(distinct))[:SKETCH_SIZE]
    if len(hashes) < SKETCH_SIZE:
        return len(hashes)
    return max(passes.STREAM_TRACKED_VALUES, round((SKETCH_SIZE - 1) / (float(hashes[-1]) / 2.0**64)))


@settings(max_examples=40, deadline=None)
@given(
    distinct=st.integers(1, 3_000),
    rows=st.integers(1, 4_000),
    cuts=st.lists(st.integers(0, 4_000), max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_counts_and_the_distinct_estimate_do_not_depend_on_the_chunks(distinct, rows, cuts, seed):
    with mock.patch.object(passes, "STREAM_TRACKED_VALUES", 100):
        check_chunking(distinct, rows, cuts, seed)


def check_chunking(distinct: int, rows: int, cuts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a few frequent values over a long tail, some spelled with spaces around them
    codes = np.minimum(rng.zipf(1.3, size=rows), distinct) - 1
    values = [f" v{code}" if code % 7 == 3 else f"v{code}" for code in codes]

    whole, chunked = scanned(values, []), scanned(values, cuts)

    counts = pd.Series([value.strip() for value in values]).value_counts()
    if len(counts) <= passes.STREAM_TRACKED_VALUES:
        assert not chunked.overflowed
        assert chunked.distinct() == len(counts)
        assert chunked.value_counts().to_dict() == counts.to_dict()
    else:
        assert chunked.overflowed and whole.overflowed
        assert chunked.distinct() == whole.distinct() == expected_estimate(values)
    # the most frequent values keep exact counts, pruned or not
    top = counts.iloc[:5]
    if (top > rows / 20).all():
        assert chunked.value_counts()[top.index].to_dict() == top.to_dict()


def test_a_column_of_identifiers_is_estimated_near_its_distinct_count(monkeypatch):
    monkeypatch.setattr(passes, "STREAM_TRACKED_VALUES", 2_000)
    values = [f"id-{row}" for row in range(50_000)]
    scan = scanned(values, list(range(0, 50_000, 7_000)))
    assert scan.overflowed
    assert abs(scan.distinct() - 50_000) < 0.1 * 50_000
    assert len(scan.counts) <= 2_000
