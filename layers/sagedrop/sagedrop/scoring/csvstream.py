"""The scoring file as a stream of records: staged for the transform job, then assembled with its scores.

Everything here takes iterables of text and yields text, a bounded batch at a time, so a file of any
size passes through in constant memory (the steps connect these to S3 streams).

The records are staged as JSON requests (``sagedrop.scoring.requests``: JSON escapes a value's line
breaks, which ``SplitType: Line`` would otherwise cut a record at). The scores file keeps every value
as uploaded, line breaks included, because it is assembled from the upload itself, row by row with
the job's output lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sagedrop.errors import InvalidCsvError
from sagedrop.scoring.errors import TransformOutputMismatch

#: Records checked and written at a time: bounded memory, few calls.
BATCH_RECORDS = 2048
#: The columns a ``text/csv`` answer of the label decoder holds (regression: the first only).
PREDICTION_COLUMNS = ("predicted_label", "probability")


@dataclass(frozen=True)
class Record:
    """One CSV record and the line of the file it starts on (1-based; a quoted line break spans lines)."""

    line: int
    fields: list[str]


def read_records(lines: Iterable[str], delimiter: str) -> Iterator[Record]:
    """The records of a CSV text stream (open it with ``newline=""``); blank lines are skipped."""
    reader = csv.reader(lines, delimiter=delimiter)
    consumed = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidCsvError(f"line {reader.line_num}: not readable as CSV: {error}") from None
        except UnicodeDecodeError as error:
            raise InvalidCsvError(
                f"after line {reader.line_num}: not {error.encoding} text "
                f"(undecodable byte 0x{error.object[error.start]:02x})"
            ) from None
        line, consumed = consumed + 1, reader.line_num
        if fields and not (len(fields) == 1 and not fields[0].strip()):
            yield Record(line, fields)


def batches(records: Iterable[Record], size: int = BATCH_RECORDS) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def encode_rows(rows: Iterable[list[str]], delimiter: str) -> str:
    """CSV text of ``rows``, lines ended by ``\n``; a value holding a carriage return is quoted too.

    The ``csv`` writer quotes only the characters of its line terminator, so a lone ``\r`` in a
    value would be written bare and read back as a line break; such rows are written fully quoted.
    """
    rows = list(rows)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    if "\r" not in text:
        return text
    buffer = io.StringIO()
    minimal = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    quoted = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        (quoted if any("\r" in value for value in row) else minimal).writerow(row)
    return buffer.getvalue()


def check_width(record: Record, width: int) -> None:
    if len(record.fields) != width:
        count = len(record.fields)
        raise InvalidCsvError(
            f"line {record.line} has {count} field{'s' if count != 1 else ''}, the header has {width}"
        )


def prediction_rows(lines: Iterable[str], width: int) -> Iterator[list[str]]:
    """The rows of the job's ``text/csv`` output (``predicted_label[,probability]``), blank lines skipped.

    ``AssembleWith: Line`` ends every record's answer with a newline, whether the answer ended with
    one or not, so blank lines between answers mean nothing.
    """
    reader = csv.reader(lines)
    for row in reader:
        if not row or (len(row) == 1 and not row[0]):
            continue
        if len(row) != width:
            raise TransformOutputMismatch(
                f"line {reader.line_num} of the transform output has {len(row)} field(s), expected {width} "
                f"({', '.join(PREDICTION_COLUMNS[:width])})"
            )
        yield row
