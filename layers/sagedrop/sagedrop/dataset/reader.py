"""Read an uploaded CSV into typed columns: decoding, delimiter and header detection, sanity checks.

Numeric columns come back as int64/float64 (missing values as NaN); every other column as object
dtype holding stripped strings (missing values as NaN). The tokens in ``MISSING_TOKENS`` mean
"missing" in any column.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sagedrop.dataset.detect import (
    Encoding,
    check_is_table,
    detect_encoding,
    first_records,
    line_of_record,
    records,
)
from sagedrop.dataset.factorizing import factorize_cells
from sagedrop.dataset.numbers import read_number, read_numbers
from sagedrop.errors import InvalidCsvError
from sagedrop.limits import COLUMN_NAME_MAX_CHARS

DELIMITERS = (",", ";", "\t", "|")
MIN_DATA_ROWS = 20
# Delimiter and header detection read this many records (whole records, whatever their length),
# fewer (but at least detect.MIN_SAMPLE_RECORDS) once they hold SAMPLE_CELLS fields: a file of
# 10,000 columns is judged on 25 records, not 200.
SAMPLE_ROWS = 200
SAMPLE_CELLS = 250_000
# Case-insensitive, after stripping surrounding whitespace ("?" is the UCI repository's convention).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a"})
# A column whose non-missing values are numbers except for at most this share (and at least
# NUMERIC_MIN_VALUES_FOR_TOLERANCE values) is numeric; the odd non-numbers become missing values.
NUMERIC_TOLERANCE = 0.01
NUMERIC_MIN_VALUES_FOR_TOLERANCE = 100


@dataclass(frozen=True)
class Table:
    """A parsed CSV: ``frame`` has one column per CSV column, in file order."""

    frame: pd.DataFrame
    delimiter: str
    header: bool
    encoding: str
    source: str = ""
    # Per column: how many non-numeric values of a mostly numeric column were read as missing.
    coerced: dict[str, int] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def is_numeric(self, column: str) -> bool:
        return pd.api.types.is_numeric_dtype(self.frame[column].dtype)


def read_table(data: bytes, delimiter: str | None = None, source: str = "") -> Table:
    """Parse CSV bytes; raise InvalidCsvError naming the problem (and the line, where there is one)."""
    prefix = f"{source}: " if source else ""

    def fail(problem: str) -> InvalidCsvError:
        return InvalidCsvError(prefix + problem)

    encoding = detect_encoding(data, fail)
    check_is_table(encoding, data, fail)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise fail(f"delimiter {delimiter!r} is not one of {', '.join(map(repr, DELIMITERS))}")
    if delimiter is None:
        delimiter = _detect_delimiter(encoding, data, fail)
    rows, error = first_records(encoding, data, delimiter, SAMPLE_ROWS, fail, SAMPLE_CELLS)
    if error is not None and len(rows) < 2:
        raise error
    if max((len(row) for row in rows), default=0) < 2:
        raise fail(
            "only one column found; sagedrop needs a label column and at least one feature column "
            f"(delimiter {_show(delimiter)})"
        )
    width = len(rows[0])
    count = _check_field_counts(encoding, data, delimiter, width, fail)
    if count < 2:
        raise fail(
            "no data rows: the file holds a single line (a header?); at least "
            f"{MIN_DATA_ROWS} data rows are needed to train and evaluate"
        )
    header = _looks_like_header(rows, delimiter)
    if header:
        _check_names(rows[0], fail)

    raw = pd.read_csv(
        io.BytesIO(data),
        encoding=encoding.codec,
        sep=delimiter,
        header=None,
        dtype=object,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
        engine="c",
    )
    if header:
        names = [str(name).strip() or f"col_{i}" for i, name in enumerate(raw.iloc[0])]
        raw = raw.iloc[1:].reset_index(drop=True)
    else:
        names = [f"col_{i}" for i in range(raw.shape[1])]
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise fail(f"duplicate column name(s) {', '.join(map(repr, duplicates))} in the header")
    if len(raw) < MIN_DATA_ROWS:
        raise fail(f"only {len(raw)} data row(s); at least {MIN_DATA_ROWS} are needed to train and evaluate")

    columns: dict[str, pd.Series] = {}
    coerced: dict[str, int] = {}
    for position, name in enumerate(names):
        columns[name], bad, refused = _typed(raw[position], delimiter)
        if refused is not None:
            row, other, problem = refused
            line = line_of_record(encoding, data, delimiter, row + int(header), fail)
            if other is not None:
                other_line = line_of_record(encoding, data, delimiter, other + int(header), fail)
                problem = problem.replace(_OTHER_LINE, f"{other_line:,}")
            raise fail(f"line {line:,}, column {name!r}: {problem}")
        if bad:
            coerced[name] = bad
    frame = pd.DataFrame(columns)
    return Table(
        frame=frame, delimiter=delimiter, header=header, encoding=encoding.name, source=source, coerced=coerced
    )


# --- steps ------------------------------------------------------------------------------------


def _show(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _detect_delimiter(encoding: Encoding, data: bytes, fail) -> str:
    """The delimiter that splits the first records into the same number (≥ 2) of fields most often.

    A candidate whose records ran into an unreadable one is judged on the records before it; when
    it wins, reading the whole file names that record's line.
    """
    best: tuple[float, int, int] = (0.0, 0, 0)
    chosen = None
    errors = []
    for candidate in DELIMITERS:  # DELIMITERS order breaks ties
        rows, error = first_records(encoding, data, candidate, SAMPLE_ROWS, fail, SAMPLE_CELLS)
        if error is not None:
            errors.append(error)
        counts = [len(row) for row in rows]
        del rows  # one candidate's records at a time: a wide file's are large
        if not counts:
            continue
        width, frequency = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        # More records before width: a candidate under which a stray quote swallows the following lines
        # into one wide record must not beat the one that reads them as rows.
        score = (frequency / len(counts), len(counts), width)
        if score > best:
            best, chosen = score, candidate
    if chosen is None:
        if errors:
            raise errors[0]
        raise fail(
            "only one column found; no , ; tab or | delimiter splits the rows "
            "(sagedrop needs a label column and at least one feature column)"
        )
    return chosen


def _check_field_counts(encoding: Encoding, data: bytes, delimiter: str, width: int, fail) -> int:
    """Every non-blank record has ``width`` fields (name the first line that does not); returns the count."""
    count = 0
    if b'"' not in data:  # no quoting: a line is a record, and counting delimiters is enough
        with encoding.open(data) as stream:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    fields = line.count(delimiter) + 1
                    if fields != width:
                        raise fail(_ragged(number, fields, width))
                    count += 1
        return count
    for line, row in records(encoding, data, delimiter, fail):
        if len(row) != width and any(field.strip() for field in row):
            raise fail(_ragged(line, len(row), width))
        count += 1
    return count


def _check_names(names: list[str], fail) -> None:
    for position, name in enumerate(names, start=1):
        if len(name.strip()) > COLUMN_NAME_MAX_CHARS:
            raise fail(
                f"line 1: the name of column {position} is {len(name.strip()):,} characters long "
                f"({_preview(name)}); a column name may be at most {COLUMN_NAME_MAX_CHARS:,} characters"
            )


def _preview(text: str, length: int = 40) -> str:
    text = text.strip()
    return repr(text[:length] + "…") if len(text) > length else repr(text)


def _ragged(line: int, count: int, width: int) -> str:
    return f"line {line} has {count} field(s) but the first line has {width}"


def _is_number(value: str, delimiter: str) -> bool:
    """A number, or a spelling of one that is refused (an infinity, "1,234" in a tab-separated file)."""
    reading = read_number(value.strip(), delimiter)
    return reading.problem is not None or not math.isnan(reading.value)


def _is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING_TOKENS


def _looks_like_header(rows: list[list[str]], delimiter: str) -> bool:
    """True when the first row names the columns rather than holding data.

    Strong evidence: a column whose first value is text while every value below it is a number
    (numeric column names such as "2019" elsewhere in the row do not matter then). Without it, a
    first row holding any number is data; an all-text first row over all-text columns is a header
    when its values are distinct and none appears again in its column (data values repeat).
    """
    first, rest = rows[0], rows[1:]
    if not rest:
        return False
    named = [value.strip() for value in first]
    if not any(named):
        return False
    repeats = False
    for position, name in enumerate(named):
        values = [row[position] for row in rest if position < len(row)]
        present = [value for value in values if not _is_missing(value)]
        numeric_below = bool(present) and all(_is_number(value, delimiter) for value in present)
        if numeric_below and name and not _is_missing(name) and not _is_number(name, delimiter):
            return True
        if not numeric_below and name and any(value.strip() == name for value in values):
            repeats = True
    if any(_is_number(value, delimiter) for value in named if value):
        return False
    return not repeats and len(set(named)) == len(named)


class _Distinct:
    """The distinct values of one column, each stripped, tested for missing and read as a number once.

    Columns repeat values a lot, so every rule below works on the distinct values and maps back with
    ``codes``. A value is *a number* by the rules of ``sagedrop.dataset.numbers`` (which depend on
    the file's delimiter); a spelling of a number those rules refuse ("inf", "1e999") is not one,
    and carries the reason.
    """

    def __init__(self, raw: pd.Series | np.ndarray, delimiter: str) -> None:
        values = np.asarray(raw.fillna("").to_numpy(dtype=object) if isinstance(raw, pd.Series) else raw, dtype=object)
        # Parsed cells are strings: factorizing with the NA sentinel skips pandas' null scan of every
        # cell, which use_na_sentinel=False makes for object arrays. Should a None or NaN be among the
        # values, that scan is wanted after all: it is a unique like any other (str() makes it 'None').
        self.codes, uniques = factorize_cells(values)
        if (self.codes < 0).any():
            self.codes, uniques = pd.factorize(values, use_na_sentinel=False)
        self.stripped = np.array([str(value).strip() for value in uniques], dtype=object)
        self.missing = np.array([value.lower() in MISSING_TOKENS for value in self.stripped], dtype=bool)
        readings = read_numbers(self.stripped, delimiter)  # no missing token is a number or refused
        # NaN for missing values and non-numbers alike
        self.numbers = readings.values
        self.numeric = ~np.isnan(self.numbers)
        self.problems, self.grouping, self.decimal = readings.problems, readings.grouping, readings.decimal
        self.refused = self.problems != None  # noqa: E711 (elementwise)

    @classmethod
    def restored(
        cls, codes: np.ndarray, stripped: np.ndarray, missing: np.ndarray, numbers: np.ndarray, refused: np.ndarray
    ) -> _Distinct:
        """The reading of a column kept as arrays (``sagedrop.dataset.spill``); problems and marks are not kept."""
        distinct = cls.__new__(cls)
        distinct.codes, distinct.stripped, distinct.missing = codes, stripped, missing
        distinct.numbers, distinct.refused = numbers, refused
        distinct.numeric = ~np.isnan(numbers)
        distinct.problems = distinct.grouping = distinct.decimal = None  # pass 2 needs none of them
        return distinct

    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.stripped))

    def first_row(self, mask: np.ndarray) -> int:
        """The first row holding one of the distinct values ``mask`` selects."""
        return int(np.flatnonzero(mask[self.codes])[0])

    def number_values(self) -> np.ndarray:
        """Each distinct value as a number, as ``number_column`` reads the rows (every value occurs in one)."""
        return _int_when_whole(self.numbers)

    def text_values(self) -> np.ndarray:
        """Each distinct value as text: stripped, NaN for the missing tokens."""
        text = self.stripped.copy()
        text[self.missing] = np.nan
        return text

    def typed_values(self, kind: str) -> np.ndarray:
        """Each distinct value as a column the whole file typed ``kind`` ("int", "float", "text") holds it."""
        if kind == "text":
            return self.text_values()
        numbers = self.number_values()  # int64 for an "int" column: every value of it is whole
        return numbers.astype(np.float64) if kind == "float" else numbers

    def number_column(self, name: object) -> pd.Series:
        """The values as numbers: missing and non-numbers NaN."""
        return pd.Series(_int_when_whole(self.numbers[self.codes]), name=name)

    def text_column(self, name: object) -> pd.Series:
        return pd.Series(self.text_values()[self.codes], name=name, dtype=object)

    def first_marked(self, mark: str, role: str) -> int | None:
        """The first distinct value whose spelling uses ``mark`` ("." or ",") in ``role`` ("grouping", "decimal")."""
        hits = np.flatnonzero(getattr(self, role) == mark)
        return int(hits[0]) if hits.size else None

    def style_conflict(self) -> tuple[int, int, str] | None:
        """(row, other row, message) when the column's numbers use one mark in two roles ("1.234", "1.234,5")."""
        for mark in (".", ","):
            grouped, decimal = self.first_marked(mark, "grouping"), self.first_marked(mark, "decimal")
            if grouped is not None and decimal is not None:
                value = float(self.numbers[decimal])
                return (
                    int(np.flatnonzero(self.codes == decimal)[0]),
                    int(np.flatnonzero(self.codes == grouped)[0]),
                    f"{self.stripped[decimal]!r} reads as {value!r} with {mark!r} as the decimal mark, but "
                    f"{self.stripped[grouped]!r} (line {_OTHER_LINE}) uses {mark!r} to group thousands; one of "
                    "them would be read wrongly: write the column's numbers in one style",
                )
        return None


def _int_when_whole(numbers: np.ndarray) -> np.ndarray:
    """``numbers`` as int64 when all are present and whole (and exact in a float), else as they are."""
    finite = numbers[~np.isnan(numbers)]
    whole = bool(np.all(finite == np.round(finite))) and bool(np.all(np.abs(finite) < 2**53))
    return numbers.astype(np.int64) if whole and len(finite) == len(numbers) else numbers


# Stands for the line of the other row a message names (NUL: no cell holds one).
_OTHER_LINE = "\x00line\x00"


def _typed(raw: pd.Series, delimiter: str) -> tuple[pd.Series, int, tuple[int, int | None, str] | None]:
    """Strip, mark missing tokens, and make the column numeric when its values are numbers.

    Returns the typed column, how many non-numbers a numeric column turned into missing values, and
    for a numeric column that holds a refused number (an infinity, an ambiguous spelling): the row,
    another row the message names (or None), and the message (``_OTHER_LINE`` stands for that row's line).
    """
    distinct = _Distinct(raw, delimiter)
    counts = distinct.counts() if len(distinct.stripped) else np.zeros(0, dtype=np.int64)
    present = int(counts[~distinct.missing].sum())
    refused = int(counts[distinct.refused].sum())
    not_numbers = int(counts[~distinct.missing & ~distinct.numeric].sum()) - refused
    if present >= NUMERIC_MIN_VALUES_FOR_TOLERANCE:
        tolerated = not_numbers <= NUMERIC_TOLERANCE * present
    else:
        tolerated = not_numbers == 0
    if not (present and tolerated):
        return distinct.text_column(raw.name), 0, None
    if refused:
        # A spelled number refused is an error, not a missing value: it was meant to be a number.
        row = distinct.first_row(distinct.refused)
        return (
            distinct.text_column(raw.name),
            0,
            (row, None, f"{distinct.stripped[distinct.codes[row]]!r} {distinct.problems[distinct.codes[row]]}"),
        )
    conflict = distinct.style_conflict()
    if conflict is not None:
        return distinct.text_column(raw.name), 0, conflict
    return distinct.number_column(raw.name), not_numbers, None


# --- one column of a known type (inference) -----------------------------------------------------


def read_number_column(
    values: Sequence[str], name: object = None, delimiter: str = ","
) -> tuple[pd.Series, np.ndarray]:
    """Cells of a column training typed as numeric, read by the rules above (``delimiter``: the upload's).

    Returns the column (int64 when every value is a whole number, else float64 with NaN for missing
    values) and the positions of the cells that are neither missing nor a number — training turned
    such cells into missing values (or refused the file, for a refused spelling of a number); at
    inference the caller decides what they mean (``number_problem`` says why a cell is no number).
    """
    distinct = _Distinct(np.asarray(values, dtype=object), delimiter)
    bad = ~distinct.missing & ~distinct.numeric
    return distinct.number_column(name), np.flatnonzero(bad[distinct.codes])


def number_problem(value: str, delimiter: str = ",") -> str | None:
    """Why ``value`` is refused as a number although it spells one ("is infinite; …"), else None."""
    return read_number(str(value).strip(), delimiter).problem


def read_text_column(values: Sequence[str], name: object = None) -> pd.Series:
    """Cells of a column training typed as text: stripped strings, NaN for the missing tokens."""
    return _Distinct(np.asarray(values, dtype=object), ",").text_column(name)
