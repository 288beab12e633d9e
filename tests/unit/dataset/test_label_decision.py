"""Pass 1's label decision works from the label's counts: its memory does not grow with the rows."""

from __future__ import annotations

import tracemalloc

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.dataset.decide import label_decision
from sagedrop.dataset.label import label_stats_from_counts, label_stats_from_training
from sagedrop.dataset.passes import ColumnScan, LabelScan
from sagedrop.dataset.reader import _Distinct


@given(st.lists(st.integers(0, 4), min_size=1, max_size=200), st.integers(5, 8))
def test_statistics_from_counts_are_the_statistics_of_the_rows(labels, class_count):
    for problem_type in ("binary_classification", "multiclass_classification"):
        expected = label_stats_from_training(problem_type, labels, class_count)
        assert label_stats_from_counts(np.bincount(labels, minlength=class_count)) == expected


def test_the_decision_on_a_hundred_million_labels_allocates_no_row_of_them():
    chunk = np.array(["no", "yes", "yes", "no", "maybe"] * 20, dtype=object)
    labels = LabelScan()
    labels.update(_Distinct(chunk, ","), np.zeros(len(chunk), dtype=np.int8))
    labels.values = {key: counts * 1_000_000 for key, counts in labels.values.items()}  # as if 100 M rows
    tracemalloc.start()
    try:
        target = label_decision("y", "text", ColumnScan(), labels, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert target.label_stats["class_counts"] == [20_000_000, 40_000_000, 40_000_000]
    assert peak < 1_000_000  # bytes: a label per row would be 800 MB
