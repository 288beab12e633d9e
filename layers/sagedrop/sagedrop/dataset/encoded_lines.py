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

    def lines(self, distincts: Mapping[str, _Distinct], rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One line (no line end) per row of ``rows``: the encoded ``labels`` first, then every feature."""
        columns = [column_text(labels).tolist()]
        codes, pieces = None, None  # the group of neighbouring columns being merged
        for name, encoding in self.columns:
            distinct = distincts[name]
            more = self.pieces(name, encoding, distinct)
            if pieces is not None and len(pieces) * len(more) <= MERGED_PIECES:
                # neighbours with few values become one column: a piece for each pair, fewer to join per row
                codes = codes * len(more) + distinct.codes[rows]
                pieces = np.array([f"{left},{right}" for left in pieces for right in more], dtype=object)
                continue
            if pieces is not None:
                columns.append(pieces[codes].tolist())
            codes, pieces = distinct.codes[rows], more
        if pieces is not None:
            columns.append(pieces[codes].tolist())
        lines = np.empty(len(rows), dtype=object)
        lines[:] = list(map(",".join, zip(*columns, strict=True)))
        return lines


def source_lines(
    distincts: Mapping[str, _Distinct], types: Mapping[str, str], names: list[str], rows: np.ndarray, delimiter: str
) -> list[str]:
    """Lines (no line end) of columns ``names`` for ``rows``, typed by ``types``, as ``to_source_csv`` writes them."""
    columns = []
    for name in names:
        distinct = distincts[name]
        if types[name] == "text":
            cells = zip(distinct.stripped, distinct.missing, strict=True)
            fields = ["" if missing else _csv_field(value, delimiter) for value, missing in cells]
            pieces = np.array(fields, dtype=object)
        else:
            pieces = column_text(distinct.typed_values(types[name]))
        columns.append(pieces[distinct.codes[rows]].tolist())
    lines = list(map(delimiter.join, zip(*columns, strict=True)))
    if len(names) == 1:  # the csv module quotes a row of one empty field, which would read as a blank line
        lines = [line or '""' for line in lines]
    return lines


def _csv_field(value: str, delimiter: str) -> str:
    """``value`` as the csv module writes a field (QUOTE_MINIMAL), which is what pandas' to_csv calls."""
    if not value:
        return ""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow([value])
    return buffer.getvalue()[:-1]
