"""How one cell of a numeric column is read: the number spellings sagedrop accepts, and those it refuses.

The same rules serve training (``sagedrop.dataset.reader``) and inference (the featurizer): a value
depends only on its text and the file's field delimiter, which the deployed model knows, so a
request is read exactly as the upload was.

Accepted, in any file:

* plain numbers as Python writes them: ``-12``, ``3.5``, ``.5``, ``1e-3``;
* thousands grouped by ``,``, ``.``, a space, a no-break space or a narrow no-break space, with a
  decimal part after the other mark: ``1,234,567.5``, ``1.234.567,5``, ``1 234,5``; Indian
  grouping ``12,34,567``;
* a decimal comma: ``12,5``, ``0,125``, ``1234,5``.

Two spellings have two readings. ``1.234`` is always 1.234 (a decimal point). ``1,234`` (one comma,
three digits after it) is 1234 in a comma-separated file (a decimal comma there would need
quoting, which no spreadsheet writes), 1.234 in a semicolon-separated file (files use ``;`` because
their decimal mark is the comma), and refused in a tab- or ``|``-separated file, where both
conventions are common. Training also refuses a column that uses one mark in both roles (``1.234``
beside ``1.234,5``), since one of its values would be read wrongly.

Refused with a reason, never read as missing text: infinities (``inf``, ``-Infinity``, ``∞``, a
number that overflows), and magnitudes beyond float32, in which XGBoost and Linear Learner read
every value and label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The largest float32; XGBoost and Linear Learner read features and labels as float32.
FLOAT32_MAX = 3.4028234663852886e38

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INFINITY = re.compile(r"[+-]?(?:inf|infinity|∞)", re.IGNORECASE)
_SPACES = " \u00a0\u202f"
# Grouped thousands: (pattern, thousands mark, decimal mark). The decimal part is optional.
_GROUPED = (
    (re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?"), ",", "."),
    (re.compile(r"[+-]?[1-9]\d?(?:,\d{2})+,\d{3}(?:\.\d+)?"), ",", "."),  # Indian: 12,34,567
    (re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?"), ".", ","),
    (re.compile(rf"[+-]?[1-9]\d{{0,2}}(?:[{_SPACES}]\d{{3}})+(?:[.,]\d+)?"), " ", ""),
)
_COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+")
# One comma and three digits after it: a thousands separator or a decimal comma.
_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")
_DOT_DECIMAL = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Reading:
    """One cell read as a number.

    ``value``: the number, or NaN when the cell is not one. ``problem``: why a cell that looks like
    a number is refused (None for a number, and for plain text). ``grouping``/``decimal``: the
    marks the spelling used ("" for none), for the consistency check of a column.
    """

    value: float
    problem: str | None = None
    grouping: str = ""
    decimal: str = ""


_TEXT = Reading(math.nan)


def read_number(text: str, delimiter: str) -> Reading:
    """``text`` (already stripped) read by the rules above, in a file whose fields ``delimiter`` separates."""
    if _PLAIN.fullmatch(text):
        decimal = "." if _DOT_DECIMAL.fullmatch(text) else ""
        return _checked(float(text), text, "", decimal)
    if _INFINITY.fullmatch(text):
        return Reading(math.nan, "is infinite; XGBoost trains on finite numbers only")
    if "," not in text and not any(space in text for space in _SPACES) and text.count(".") < 2:
        return _TEXT  # the common case of a text value, decided without the patterns below
    if _AMBIGUOUS.fullmatch(text):
        if delimiter == ",":
            return _checked(float(text.replace(",", "")), text, ",", "")
        if delimiter == ";":
            return _checked(float(text.replace(",", ".")), text, "", ",")
        return Reading(
            math.nan,
            f"may be {text.replace(',', '')} (a thousands separator) or {text.replace(',', '.')} (a decimal "
            f"comma) in a {_delimited(delimiter)} file; write it without the thousands separator or with a "
            "decimal point",
        )
    for pattern, grouping, decimal in _GROUPED:
        if pattern.fullmatch(text):
            plain = text
            for mark in grouping if grouping != " " else _SPACES:
                plain = plain.replace(mark, "")
            used = decimal or next((mark for mark in ".," if mark in plain), "")
            return _checked(float(plain.replace(",", ".")), text, grouping, used if used in plain else "")
    if _COMMA_DECIMAL.fullmatch(text):
        return _checked(float(text.replace(",", ".")), text, "", ",")
    return _TEXT


@dataclass(frozen=True)
class Readings:
    """Many cells read as numbers at once: :class:`Reading`'s fields as arrays, in the cells' order."""

    values: np.ndarray  # float64
    problems: np.ndarray  # object: None or the reason
    grouping: np.ndarray  # object: "" or the mark
    decimal: np.ndarray  # object: "" or the mark


def read_numbers(texts: Sequence[str], delimiter: str) -> Readings:
    """Each of ``texts`` (already stripped) as :func:`read_number` reads it.

    A column's distinct values are mostly plain numbers, which are read here without building a
    :class:`Reading` each; every other text goes through :func:`read_number`.
    """
    values, problems, grouping, decimal = [], [], [], []
    for text in texts:
        if _PLAIN.fullmatch(text):
            value = float(text)
            if abs(value) <= FLOAT32_MAX:  # also false for an overflow (inf)
                values.append(value)
                problems.append(None)
                grouping.append("")
                decimal.append("." if "." in text and _DOT_DECIMAL.fullmatch(text) else "")
                continue
        reading = read_number(text, delimiter)
        values.append(reading.value)
        problems.append(reading.problem)
        grouping.append(reading.grouping)
        decimal.append(reading.decimal)
    return Readings(
        np.array(values, dtype=np.float64),
        _objects(problems),
        _objects(grouping),
        _objects(decimal),
    )


def _objects(items: list) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def style_conflict(first: Reading, other: Reading) -> str | None:
    """The mark two readings of one column use in different roles ("." grouping in one, decimal in the other)."""
    for mark in ".,":
        if (first.grouping == mark and other.decimal == mark) or (first.decimal == mark and other.grouping == mark):
            return mark
    return None


def _checked(value: float, text: str, grouping: str, decimal: str) -> Reading:
    if not math.isfinite(value):
        return Reading(math.nan, "overflows: it is too large to be a finite number")
    if abs(value) > FLOAT32_MAX:
        return Reading(
            math.nan, "is beyond the float32 range (±3.4e38) in which XGBoost and Linear Learner read numbers"
        )
    return Reading(value, None, grouping, decimal)


def _delimited(delimiter: str) -> str:
    return "tab-separated" if delimiter == "\t" else f"{delimiter!r}-separated"
