"""The first pass over a streamed upload: per column what the whole-file reader and encoder would decide.

Every figure is additive over chunks (counts, sums, min/max, first rows), so the decisions equal the
whole-file ones (``reader._typed``, ``encoding.learn_encodings``) — exactly while a column has at
most ``STREAM_TRACKED_VALUES`` distinct values; past that, value counts are pruned to the most
frequent (the kept top categories of a one-hot column may then differ for a column whose counts are
nearly flat) and the distinct count is a k-minimum-values estimate (about 3% error).

The split of a row is a function of the seed and the row's position only (:func:`split_of_rows`),
so it does not depend on chunk sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sagedrop.dataset.reader import NUMERIC_MIN_VALUES_FOR_TOLERANCE, NUMERIC_TOLERANCE, _Distinct
from sagedrop.limits import STREAM_TRACKED_VALUES

#: Distinct values the label is followed by, per split (classification needs at most MAX_CLASSES).
LABEL_TRACKED_VALUES = 1_000
#: Hash values the distinct-count sketch keeps.
SKETCH_SIZE = 1_024

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        return x ^ (x >> np.uint64(31))


def split_of_rows(seed: int, start: int, count: int, fractions: Sequence[float]) -> np.ndarray:
    """The split (0 train, 1 validation, 2 test) of data rows ``start`` .. ``start + count - 1``.

    Row ``i`` goes by ``u = frac(h(seed) + i / golden ratio)``, compared with the cumulative
    fractions: a low-discrepancy sequence, so every split's size is within a few rows of its
    fraction at any file size (and in every stretch of rows: a file sorted by class is still split
    in proportion), different seeds give different splits, and no chunk boundary can change it.
    """
    return split_at(seed, np.arange(start, start + count, dtype=np.uint64), fractions)


def split_at(seed: int, positions: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """:func:`split_of_rows` for the data rows at ``positions``."""
    offset = _splitmix(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    rows = np.asarray(positions).astype(np.uint64)
    with np.errstate(over="ignore"):
        unit = ((offset + rows * _GOLDEN) >> np.uint64(11)).astype(np.float64) * _TO_UNIT
    bounds = np.cumsum(np.asarray(fractions, dtype=float))[:-1]
    return np.searchsorted(bounds, unit, side="right").astype(np.int8)


def row_keys(seed: int, start: int, count: int) -> np.ndarray:
    """A uniform pseudo-random key per row (the sample keeps the rows of smallest key)."""
    base = _splitmix(np.array([(seed ^ 0x5A5A5A5A) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        return _splitmix(np.arange(start, start + count, dtype=np.uint64) + base)


@dataclass
class ColumnScan:
    """One column over the whole stream, as ``reader._typed`` (every row) and ``learn_encodings``
    (the rows that have a label: ``kept``) see it."""

    # every row: the type decision
    present_all: int = 0
    refused: int = 0
    not_numbers: int = 0
    whole: bool = True  # every number a whole number under 2**53
    complete: bool = True  # every row a number (int64 rather than float64)
    first_refused: tuple[int, str] | None = None  # (row, message)
    marks: dict[tuple[str, str], tuple[int, str, float]] = field(default_factory=dict)
    # kept rows: the encoding
    missing: int = 0  # missing tokens
    present: int = 0
    not_numbers_kept: int = 0
    low: float = math.inf
    high: float = -math.inf
    counts: pd.Series = field(default_factory=lambda: pd.Series(dtype=np.float64))
    overflowed: bool = False
    sketch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # once overflowed
    train_sum: float = 0.0
    train_count: int = 0

    def update(self, distinct: _Distinct, start: int, keep: np.ndarray, train: np.ndarray) -> None:
        """One chunk's column; ``keep``: its rows that have a label; ``train``: kept rows of the train split."""
        unique = len(distinct.stripped)
        codes = distinct.codes
        every = np.bincount(codes, minlength=unique)
        kept = every if keep.all() else np.bincount(codes[keep], minlength=unique)
        missing, numeric, refused = distinct.missing, distinct.numeric, distinct.refused
        present_all = int(every[~missing].sum())
        self.present_all += present_all
        refused_rows = int(every[refused].sum())
        self.refused += refused_rows
        self.not_numbers += int(every[~missing & ~numeric].sum()) - refused_rows
        self.complete = self.complete and int(every[numeric].sum()) == len(codes)
        numbers = distinct.numbers[numeric & (every > 0)]
        if numbers.size:
            self.whole = (
                self.whole and bool(np.all(numbers == np.round(numbers))) and bool(np.all(np.abs(numbers) < 2**53))
            )
        if refused_rows and self.first_refused is None:
            row = distinct.first_row(refused)
            self.first_refused = (start + row, f"{distinct.stripped[codes[row]]!r} {distinct.problems[codes[row]]}")
        for mark in (".", ","):
            for role in ("grouping", "decimal"):
                index = None if (mark, role) in self.marks else distinct.first_marked(mark, role)
                if index is not None:
                    row = int(np.flatnonzero(codes == index)[0])
                    self.marks[(mark, role)] = (
                        start + row,
                        str(distinct.stripped[index]),
                        float(distinct.numbers[index]),
                    )

        self.missing += int(kept[missing].sum())
        self.present += int(kept[~missing].sum())
        self.not_numbers_kept += int(kept[~missing & ~numeric].sum())
        kept_numbers = distinct.numbers[numeric & (kept > 0)]
        if kept_numbers.size:
            self.low = min(self.low, float(kept_numbers.min()))
            self.high = max(self.high, float(kept_numbers.max()))
        seen = ~missing & (kept > 0)
        values = distinct.stripped[seen]
        if values.size:
            if self.overflowed:
                self._sketch(values)
            self._count(values, kept[seen])
            if len(self.counts) > STREAM_TRACKED_VALUES:
                if not self.overflowed:  # until now the counts held every value: the sketch starts from them
                    self._sketch(self.counts.index.to_numpy())
                self.overflowed = True
                # the most frequent half; ties in a fixed order (the value's), whatever the chunking
                ranked = sorted(
                    zip(self.counts.index, self.counts.to_numpy(), strict=True), key=lambda v: (-v[1], v[0])
                )
                kept_values = ranked[: STREAM_TRACKED_VALUES // 2]
                self.counts = pd.Series(
                    [c for _, c in kept_values], index=[v for v, _ in kept_values], dtype=np.float64
                )
        if train.any():
            row_numbers = distinct.numbers[codes[train]]
            finite = row_numbers[np.isfinite(row_numbers)]
            self.train_sum += float(finite.sum())
            self.train_count += int(finite.size)

    def _sketch(self, values: np.ndarray) -> None:
        """Keep the SKETCH_SIZE smallest hashes of the values seen (needed once the counts are pruned)."""
        hashes = pd.util.hash_array(np.asarray(values, dtype=object))
        self.sketch = np.union1d(self.sketch, hashes)[:SKETCH_SIZE]

    def _count(self, values: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts`` of the text ``values`` (two raw values may strip to one) to the tracked counts."""
        known = self.counts.index
        at = known.get_indexer(values) if len(known) else np.full(len(values), -1)
        old = at >= 0
        totals = self.counts.to_numpy(dtype=np.float64, copy=True)
        totals += np.bincount(at[old], weights=counts[old], minlength=len(totals))
        codes, new = pd.factorize(values[~old])
        added = np.bincount(codes, weights=counts[~old], minlength=len(new))
        self.counts = pd.Series(np.concatenate([totals, added]), index=known.append(pd.Index(new, dtype=object)))

    # --- decisions ----------------------------------------------------------------------------

    def is_numeric(self) -> bool:
        """``reader._typed``'s decision (a refused spelling or a style conflict is checked apart)."""
        if self.present_all >= NUMERIC_MIN_VALUES_FOR_TOLERANCE:
            tolerated = self.not_numbers <= NUMERIC_TOLERANCE * self.present_all
        else:
            tolerated = self.not_numbers == 0
        return bool(self.present_all and tolerated)

    def is_integer(self) -> bool:
        """Read as int64 (every row a whole number), as ``_Distinct.number_column`` does."""
        return self.whole and self.complete

    def style_conflict(self) -> tuple[int, int, str] | None:
        """(row, other row, message) as ``_Distinct.style_conflict``; ``{other}`` stands for the other row's line."""
        for mark in (".", ","):
            if (mark, "grouping") in self.marks and (mark, "decimal") in self.marks:
                row, decimal, value = self.marks[(mark, "decimal")]
                other, grouped, _ = self.marks[(mark, "grouping")]
                return (
                    row,
                    other,
                    f"{decimal!r} reads as {value!r} with {mark!r} as the decimal mark, but {grouped!r} "
                    f"(line {{other}}) uses {mark!r} to group thousands; one of them would be read wrongly: "
                    "write the column's numbers in one style",
                )
        return None

    def distinct(self) -> int:
        """Distinct present values: exact while tracked, else estimated from the sketch."""
        if not self.overflowed:
            return len(self.counts)
        if len(self.sketch) < SKETCH_SIZE:
            return len(self.sketch)
        kth = float(self.sketch[-1]) / 2.0**64
        return max(STREAM_TRACKED_VALUES, round((SKETCH_SIZE - 1) / kth))

    def value_counts(self) -> pd.Series:
        """Counts of the (stripped) text values, most frequent first, as ``Series.value_counts``."""
        return self.counts.astype(np.int64).sort_values(ascending=False, kind="stable")


@dataclass
class LabelScan:
    """The label column's values per split (rows of a missing label are in no split)."""

    values: dict[str, np.ndarray] = field(default_factory=dict)  # stripped value -> rows per split
    numbers: dict[str, float] = field(default_factory=dict)
    overflowed: bool = False
    number_rows: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))
    number_sums: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.float64))
    text_rows: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))

    def update(self, distinct: _Distinct, splits: np.ndarray) -> None:
        codes = distinct.codes
        numeric = distinct.numeric[codes]
        present = ~distinct.missing[codes]
        for split in range(3):
            mask = splits == split
            self.number_rows[split] += int((numeric & mask).sum())
            self.number_sums[split] += float(distinct.numbers[codes][numeric & mask].sum())
            self.text_rows[split] += int((present & ~numeric & mask).sum())
        if self.overflowed:
            return
        unique = len(distinct.stripped)
        table = np.bincount(codes.astype(np.int64) * 3 + splits, minlength=3 * unique).reshape(unique, 3)
        for index in range(unique):
            if distinct.missing[index] or not table[index].any():
                continue
            key = str(distinct.stripped[index])
            if key not in self.values:
                if len(self.values) >= LABEL_TRACKED_VALUES:
                    self.overflowed = True
                    self.values.clear()
                    return
                self.values[key] = np.zeros(3, dtype=np.int64)
                self.numbers[key] = float(distinct.numbers[index])
            self.values[key] += table[index]
