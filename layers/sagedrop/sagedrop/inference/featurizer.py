"""Stage 1: a raw request (CSV rows or JSON instances) → the features CSV the algorithm container reads.

The request contract:

* ``text/csv``: rows in the uploaded CSV's column order without the label column, fields separated
  by the upload's delimiter. A header line is optional: when every field of the first line is a
  known column name (a source column or the label), it is a header — columns are then matched by
  name in any order, a label column is ignored, and each column the model uses must be present
  (columns training dropped may be left out). When more than half of the first line's fields are
  column names and the others are not, it is a header with unknown names: an error. Blank lines are
  skipped; rows are numbered from 1, the header not counted.
* ``application/json``: ``{"instances": [{"<column>": value, ...}, ...]}``; a missing key or
  ``null`` is a missing value, the label key is ignored, an unknown key is an error. A JSON value
  is read as the CSV field it would have been (``12`` as ``"12"``, ``true`` as ``"true"``).

Values are read by the rules of training (``sagedrop.dataset.reader``): surrounding whitespace is
stripped, the missing tokens (empty, NA, N/A, NaN, null, none, ?, #N/A; any case) mean missing. In a
numeric column a value that is neither missing nor a number (by the spellings of
``sagedrop.dataset.numbers``, which depend on the upload's delimiter as in training: ``1,5`` is 1.5)
is an error — training turned such (rare) cells into missing values, but a caller who sends one has
made a mistake worth hearing about. In a text column a category training never saw is not an
error: its one-hot features are all zero, as for a missing value. Values of columns training
dropped are not read at all. A missing number stays missing (XGBoost reads it), unless the column's
encoding carries a ``fill`` (Linear Learner runs: the training mean), which then stands in for it
as it did in training.

Every problem raises :class:`~sagedrop.errors.InvalidRequestError` naming the row (1-based) and the
column.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.dataset.encoding import DROPPED, NUMERIC, ONE_HOT, apply_encodings
from sagedrop.dataset.numbers import read_number
from sagedrop.dataset.reader import MISSING_TOKENS, number_problem, read_number_column, read_text_column
from sagedrop.dataset.writer import to_headerless_csv
from sagedrop.errors import InvalidRequestError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.media import CSV, JSON, decode_text, media_type

_SHOWN_COLUMNS = 20


class Featurizer:
    """Reads requests for one run's model; built from its frozen artifact, never refitted."""

    def __init__(self, artifact: FeaturizerArtifact) -> None:
        self.artifact = artifact
        self._known = frozenset(artifact.source_columns) | {artifact.label}
        self._kinds = {column: encoding["kind"] for column, encoding in artifact.encodings.items()}
        self._required = [column for column in artifact.source_columns if self._kinds[column] != DROPPED]
        self._category_positions = {
            column: {category: position for position, category in enumerate(encoding["categories"])}
            for column, encoding in artifact.encodings.items()
            if encoding["kind"] == ONE_HOT
        }

    # --- the whole stage ------------------------------------------------------------------------

    def featurize(self, body: bytes | str, content_type: str | None) -> bytes:
        """The headerless features CSV (schema order, no label) for a request body."""
        cells, count = self._cells(body, content_type)
        if count == 1:
            # One row (every request of a SingleRecord Batch Transform) cell by cell: a frame of one
            # row costs ~10x more, and the bytes are the same (tests/unit/inference/test_one_row.py).
            return self._one_row(cells)
        return to_headerless_csv(self.features(self._typed(cells, count)))

    def read(self, body: bytes | str, content_type: str | None) -> pd.DataFrame:
        """The request's rows as typed source columns (the columns the model uses)."""
        return self._typed(*self._cells(body, content_type))

    def _cells(self, body: bytes | str, content_type: str | None) -> tuple[dict[str, np.ndarray], int]:
        """Each used column's raw cells, and how many rows the request holds."""
        media = media_type(content_type)
        if media not in (CSV, JSON):
            raise InvalidRequestError(
                f"content type {content_type!r} is not supported: send text/csv or application/json", status=415
            )
        text = decode_text(body)
        if not text.strip():
            raise InvalidRequestError("the request body is empty")
        return self._csv_cells(text) if media == CSV else self._json_cells(text)

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's feature frame for typed source rows, by the frozen encodings."""
        return apply_encodings(frame, self.artifact.encodings)

    # --- text/csv -------------------------------------------------------------------------------

    def read_csv(self, text: str) -> pd.DataFrame:
        return self._typed(*self._csv_cells(text))

    def _csv_cells(self, text: str) -> tuple[dict[str, np.ndarray], int]:
        delimiter = self.artifact.delimiter
        try:
            records = [
                record
                for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                if record and not (len(record) == 1 and not record[0].strip())
            ]
        except csv.Error as error:
            raise InvalidRequestError(f"the request is not readable CSV: {error}") from None
        if not records:
            raise InvalidRequestError("the request holds no rows")
        positions = self._header_positions(records[0])
        if positions is None:
            positions = {column: index for index, column in enumerate(self.artifact.source_columns)}
            width = len(self.artifact.source_columns)
            what = f"the columns of the upload without the label {self.artifact.label!r}"
        else:
            records = records[1:]
            width = len(positions)
            what = "the columns of the header"
            if not records:
                raise InvalidRequestError("the request holds a header and no rows")
        for row, record in enumerate(records, start=1):
            if len(record) != width:
                hint = f"; fields are separated by {_show(delimiter)}" if len(record) == 1 else ""
                fields = f"{len(record)} field{'s' if len(record) != 1 else ''}"
                raise InvalidRequestError(f"row {row} has {fields}, expected {width} ({what}){hint}")
        cells = np.empty((len(records), width), dtype=object)
        cells[:] = records
        return {column: cells[:, positions[column]] for column in self._required}, len(records)

    def _header_positions(self, first: list[str]) -> dict[str, int] | None:
        """Column → field position when ``first`` is a header line, None when it is a data row."""
        names = [field.strip() for field in first]
        known = [name in self._known for name in names]
        if not all(known):
            if 2 * sum(known) > len(names):
                unknown = [name for name, ok in zip(names, known, strict=True) if not ok]
                raise InvalidRequestError(
                    f"the header names unknown column(s) {', '.join(map(repr, unknown))}"
                    f"{self._did_you_mean(unknown[0])}; the columns are {self._column_list()}"
                )
            return None
        seen: dict[str, int] = {}
        for position, name in enumerate(names):
            if name in seen:
                raise InvalidRequestError(f"the header names column {name!r} twice")
            seen[name] = position
        missing = [column for column in self._required if column not in seen]
        if missing:
            raise InvalidRequestError(
                f"the header lacks column(s) {', '.join(map(repr, missing))}: a request carries every column "
                f"of the upload except the label {self.artifact.label!r}"
            )
        return seen

    # --- application/json -----------------------------------------------------------------------

    def read_json(self, text: str) -> pd.DataFrame:
        return self._typed(*self._json_cells(text))

    def _json_cells(self, text: str) -> tuple[dict[str, np.ndarray], int]:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidRequestError(
                f"the request body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            ) from None
        shape = 'a JSON request is {"instances": [{"<column>": value, ...}, ...]}'
        if not isinstance(document, dict) or "instances" not in document:
            raise InvalidRequestError(f"{shape}; this body is {_json_type(document)} without 'instances'")
        extra = sorted(set(document) - {"instances"})
        if extra:
            raise InvalidRequestError(f"{shape}; unknown top-level key(s) {', '.join(map(repr, extra))}")
        instances = document["instances"]
        if not isinstance(instances, list):
            raise InvalidRequestError(f"{shape}; 'instances' is {_json_type(instances)}, not a list")
        if not instances:
            raise InvalidRequestError("the request holds no rows ('instances' is empty)")
        count = len(instances)
        columns = {column: np.full(count, "", dtype=object) for column in self._required}
        for row, instance in enumerate(instances, start=1):
            if not isinstance(instance, dict):
                raise InvalidRequestError(
                    f"row {row}: an instance is a JSON object of column values, not {_json_type(instance)}"
                )
            for key, value in instance.items():
                if key not in self._known:
                    raise InvalidRequestError(
                        f"row {row}: unknown column {key!r}{self._did_you_mean(key)}; the columns are "
                        f"{self._column_list()}"
                    )
                if key in columns:
                    columns[key][row - 1] = _cell(value, row, key)
        return columns, count

    # --- shared ---------------------------------------------------------------------------------

    def _typed(self, cells: dict[str, np.ndarray], count: int) -> pd.DataFrame:
        """Read each used column's cells by its training type; name the first unreadable number."""
        typed: dict[str, pd.Series] = {}
        for column, values in cells.items():
            if self._kinds[column] == NUMERIC:
                # The upload's delimiter decides what "1,234" means, in requests as in training.
                series, bad = read_number_column(values, column, self.artifact.delimiter)
                if bad.size:
                    raise self._not_a_number(int(bad[0]) + 1, column, str(values[int(bad[0])]).strip())
            else:
                series = read_text_column(values, column)
            typed[column] = series
        return pd.DataFrame(typed, index=pd.RangeIndex(count))

    def _not_a_number(self, row: int, column: str, value: str) -> InvalidRequestError:
        problem = number_problem(value, self.artifact.delimiter)
        return InvalidRequestError(
            f"row {row}, column {column!r}: {value!r} is not a number{f': it {problem}' if problem else ''} "
            f"(the column is numeric; leave a missing value empty or write one of {_tokens()})"
        )

    # --- one row --------------------------------------------------------------------------------

    def _one_row(self, cells: dict[str, np.ndarray]) -> bytes:
        """The features line of a one-row request, read and encoded by the rules of the frame path.

        A column of one number is int64 when the number is whole (``5``), float64 otherwise
        (``5.5``, or a missing value: empty, or the encoding's ``fill``), as read_number_column
        types it; a one-hot column is 1 at the category's position, all 0 for a missing or unseen one.
        """
        numbers: dict[str, float] = {}
        texts: dict[str, str | None] = {}
        for column in self._required:  # in the frame path's order, so the same cell is named first
            value = str(cells[column][0]).strip()
            missing = value.lower() in MISSING_TOKENS
            if self._kinds[column] == NUMERIC:
                number = math.nan if missing else read_number(value, self.artifact.delimiter).value
                if not missing and math.isnan(number):
                    raise self._not_a_number(1, column, value)
                numbers[column] = number
            else:
                texts[column] = None if missing else value
        fields: list[str] = []
        for column, encoding in self.artifact.encodings.items():
            if encoding["kind"] == NUMERIC:
                fields.append(_number_field(numbers[column], encoding.get("fill")))
            elif encoding["kind"] == ONE_HOT:
                positions = self._category_positions[column]
                hot = positions.get(texts[column])  # type: ignore[arg-type]
                fields.extend("1" if position == hot else "0" for position in range(len(positions)))
        # The csv module (so to_csv) quotes a lone empty field, lest the row read as a blank line.
        line = ",".join(fields) if fields != [""] else '""'
        return (line + "\n").encode("utf-8")

    def _did_you_mean(self, name: str) -> str:
        close = difflib.get_close_matches(name, sorted(self._known), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def _column_list(self) -> str:
        columns = self.artifact.source_columns
        shown = ", ".join(map(repr, columns[:_SHOWN_COLUMNS]))
        return shown + (f", … ({len(columns)} in all)" if len(columns) > _SHOWN_COLUMNS else "")


def _number_field(number: float, fill: float | None) -> str:
    """One number as the frame path writes it: a whole one as int64, others as float64's shortest text."""
    if math.isfinite(number) and number == round(number) and abs(number) < 2**53:
        return str(int(number))
    if math.isnan(number):
        if fill is None:
            return ""
        number = fill
    return repr(float(number))


def _cell(value: Any, row: int, column: str) -> str:
    """A JSON value as the CSV field it stands for."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value) if isinstance(value, bool) else repr(value)
    raise InvalidRequestError(
        f"row {row}, column {column!r}: a value is a string, a number or null, not {_json_type(value)}"
    )


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _tokens() -> str:
    return ", ".join(sorted(token.upper() for token in MISSING_TOKENS if token))


def _show(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)
