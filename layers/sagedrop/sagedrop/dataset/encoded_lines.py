"""Pass 2's lines, built from each column's distinct values rather than from every cell.

A chunk's column repeats its values, so the text a value encodes to is made once per distinct value
and looked up for each row: a number's text, or a one-hot group such as ``0,1,0``. A row is then
joined from one piece per source column instead of one per feature, and neighbouring columns of few
values are merged into one piece for each pair of values first (fewer pieces to join per row). The
training lines are the text ``to_headerless_csv(apply_encodings(typed chunk))`` writes, the raw test
split's the text ``to_source_csv(typed chunk)`` writes; Hypothesis tests hold each pair equal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from sagedrop.dataset.encoding import DROPPED, NUMERIC, ONE_HOT
from sagedrop.dataset.reader import _Distinct

_BITS = np.array(["0", "1"], dtype=object)
#: Neighbouring columns whose pairs of values number at most this many are joined as one column.
MERGED_PIECES = 1024
_SMALL_RANGE = 10_000


def column_text(values: np.ndarray) -> np.ndarray | None:
    """Each value's CSV text as pandas writes it (shortest round-trip, NaN as ""); None for another dtype."""
    if values.dtype == np.uint8 and (values.size == 0 or values.max() <= 1):
        return _BITS[values]
    if values.dtype.kind in "iu":
        low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
        if high - low < _SMALL_RANGE:  # codes, counts, ages: look the text up
            return np.array([str(number) for number in range(low, high + 1)], dtype=object)[values - low]
        return values.astype(str).astype(object)
    if values.dtype.kind == "f":
        text = values.astype(str).astype(object)
        text[np.isnan(values)] = ""
        return text
    return None


class LineEncoder:
    """The encodings of schema.json (with the whole file's column types), applied to a chunk's distinct values."""

    def __init__(self, encodings: Mapping[str, Mapping[str, Any]], types: Mapping[str, str]) -> None:
        self.columns: list[tuple[str, Mapping[str, Any]]] = []
        self.groups: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        for name, encoding in encodings.items():
            kind = encoding["kind"]
            if kind == DROPPED or not encoding.get("features"):
                continue
            if kind not in (NUMERIC, ONE_HOT) or (kind == NUMERIC) != (types[name] != "text"):
                raise ValueError(f"encoding {kind!r} does not apply to column {name!r} of type {types[name]!r}")
            self.columns.append((name, encoding))
            if kind == ONE_HOT:
                width = len(encoding["categories"])
                groups = [",".join("1" if bit == hot else "0" for bit in range(width)) for hot in range(width)]
                # the last group: a missing or unseen value, all zeros
                position = {category: index for index, category in enumerate(encoding["categories"])}
                self.groups[name] = (position, np.array([*groups, ",".join("0" * width)], dtype=object))
        self.types = types

    def pieces(self, name: str, encoding: Mapping[str, Any], distinct: _Distinct) -> np.ndarray:
        """The text of each distinct value of column ``name``: its features, comma-separated."""
        if encoding["kind"] == ONE_HOT:
            position, groups = self.groups[name]
            zeros = len(groups) - 1
            values = zip(distinct.stripped, distinct.missing, strict=True)
            hot = [zeros if missing else position.get(value, zeros) for value, missing in values]
            return groups[np.asarray(hot, dtype=np.intp)]
        values = distinct.typed_values(self.types[name])
        if values.dtype.kind == "f":
            values = np.where(np.isfinite(values), values, encoding.get("fill", np.nan))
        return column_text(values)

    def chunk_columns(self, distincts: Mapping[str, _Distinct]) -> list[Column]:
        """The chunk's features as columns (every row's code, each code's text), neighbours of few values merged.

        Each text ends in the separator that follows it in a line: a comma, the last column's a line feed.
        """
        columns: list[Column] = []
        codes, pieces = None, None  # the group of neighbouring columns being merged
        for name, encoding in self.columns:
            distinct = distincts[name]
            more = self.pieces(name, encoding, distinct)
            if pieces is not None and len(pieces) * len(more) <= MERGED_PIECES:
                # neighbours with few values become one column: a piece for each pair, fewer to join per row
                codes = codes * len(more) + distinct.codes
                pieces = np.array([f"{left},{right}" for left in pieces for right in more], dtype=object)
                continue
            if pieces is not None:
                columns.append((codes, pieces))
            codes, pieces = distinct.codes, more
        if pieces is not None:
            columns.append((codes, pieces))
        return _ended(columns, ",")

    def text(self, columns: list[Column], rows: np.ndarray, labels: np.ndarray) -> str:
        """The lines of ``rows`` (each ending in a line feed): ``labels`` first, then the ``chunk_columns``."""
        # by bit pattern: -0.0 and 0.0 are equal but written apart
        bits = labels.view(f"i{labels.itemsize}") if labels.dtype.kind == "f" else labels
        values, label_codes = np.unique(bits, return_inverse=True)
        values = values.view(labels.dtype)
        end = "," if columns else "\n"
        label = (label_codes, np.array([text + end for text in column_text(values)], dtype=object))
        return _joined([label, *((codes[rows], pieces) for codes, pieces in columns)])


#: A column of a chunk: each row's code, and each code's text.
Column = tuple[np.ndarray, np.ndarray]


def source_text(
    distincts: Mapping[str, _Distinct], types: Mapping[str, str], names: list[str], rows: np.ndarray, delimiter: str
) -> str:
    """The lines of columns ``names`` for ``rows``, typed by ``types``, as ``to_source_csv`` writes them (no header)."""
    columns = []
    for name in names:
        distinct = distincts[name]
        if types[name] == "text":
            cells = zip(distinct.stripped, distinct.missing, strict=True)
            fields = ["" if missing else _csv_field(value, delimiter) for value, missing in cells]
            pieces = np.array(fields, dtype=object)
        else:
            pieces = column_text(distinct.typed_values(types[name]))
        if len(names) == 1:  # the csv module quotes a row of one empty field, which would read as a blank line
            pieces = np.array([piece or '""' for piece in pieces], dtype=object)
        columns.append((distinct.codes[rows], pieces))
    return _joined(_ended(columns, delimiter))


def _ended(columns: list[Column], separator: str) -> list[Column]:
    """``columns`` with ``separator`` after each text, and a line feed after the last column's instead."""
    last = len(columns) - 1
    return [
        (codes, np.array([piece + ("\n" if index == last else separator) for piece in pieces], dtype=object))
        for index, (codes, pieces) in enumerate(columns)
    ]


def _joined(columns: list[Column]) -> str:
    """Each row's texts of ``columns`` (ended by ``_ended``), in one string: one join for the whole chunk."""
    if not columns or not len(columns[0][0]):
        return ""
    cells = np.empty((len(columns[0][0]), len(columns)), dtype=object)
    for index, (codes, pieces) in enumerate(columns):
        cells[:, index] = pieces[codes]
    return "".join(cells.ravel().tolist())


def _csv_field(value: str, delimiter: str) -> str:
    """``value`` as the csv module writes a field (QUOTE_MINIMAL), which is what pandas' to_csv calls."""
    if not value:
        return ""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow([value])
    return buffer.getvalue()[:-1]
