"""What an upload is before it is a table: its text encoding, whether it is text at all, its records.

Nothing here looks at a fixed-size prefix: the encoding and the binary checks read the whole file in
chunks, and records come from the csv module reading the text as a stream, whatever their length.
Every check works record by record or chunk by chunk, so it would work on a stream as well.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sagedrop.errors import InvalidCsvError

Fail = Callable[[str], InvalidCsvError]

_MAGIC = {
    b"\x1f\x8b": "a gzip file",
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
}
#: Text is decoded and checked in chunks of this many bytes (each chunk on its own: a binary tail
#: after megabytes of text is found as surely as a binary head).
CHUNK_BYTES = 1 << 20
# Control characters other than tab, line feed and carriage return. Text may hold a stray one; a
# chunk with more than 1% of them (and at least 3) is binary data.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A first line that opens an array of arrays or objects whose first element starts as JSON does:
# `[{"a": 1},` or `[[1, 2],` — not a header whose first name is `[[`.
_JSON_ARRAY_START = re.compile(r'\[\s*(?:\[[\s\[]*(?:["\d\-\]]|true|false|null|$)|\{\s*(?:"|\}|$))')
_NOT_SPACE = re.compile(rb"\S")
#: A sample of records cut short by its number of fields still holds this many records.
MIN_SAMPLE_RECORDS = 25


@dataclass(frozen=True)
class Encoding:
    """``codec``: what Python decodes the bytes with; ``name``: what schema.json records."""

    codec: str
    name: str

    def open(self, data: bytes) -> io.TextIOWrapper:
        """A fresh text stream over ``data`` (no copy of the bytes; decoded as it is read)."""
        return io.TextIOWrapper(io.BytesIO(data), encoding=self.codec, newline="")


UTF8 = Encoding("utf-8-sig", "utf-8")
CP1252 = Encoding("cp1252", "cp1252")  # what Excel on Windows writes for "CSV (Comma delimited)"
UTF16 = Encoding("utf-16", "utf-16")  # Excel's "Unicode text" export, with its byte-order mark


def detect_encoding(data: bytes, fail: Fail) -> Encoding:
    """The encoding of a text file; refuse empty files, known binary formats, NUL bytes and binary data."""
    if not data or not _NOT_SPACE.search(data):
        raise fail("the file is empty")
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise fail(f"this is {what}, not a CSV text file; upload the data as .csv")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        _check_text(data, UTF16, fail, "starts like UTF-16 text but does not decode as UTF-16")
        return UTF16
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        head = data[:256]
        if len(head) >= 4 and (head[1::2].count(0) >= len(head) // 2 - 1 or head[0::2].count(0) >= len(head) // 2 - 1):
            raise fail(
                "binary data (NUL bytes): this looks like UTF-16 text without a byte-order mark; save it as UTF-8 CSV"
            )
        raise fail(f"binary data: a NUL byte on line {line:,}; a CSV is text and never holds one")
    try:
        _check_text(data, UTF8, fail)
        return UTF8
    except UnicodeDecodeError:
        pass
    try:
        _check_text(data, CP1252, fail)
    except UnicodeDecodeError as error:
        raise fail(f"not UTF-8 or Windows-1252 text (undecodable byte at offset {error.start:,})") from None
    return CP1252


def _check_text(data: bytes, encoding: Encoding, fail: Fail, undecodable: str | None = None) -> None:
    """Decode chunk by chunk (keeping nothing): UnicodeDecodeError with its file offset, or binary data."""
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    view = memoryview(data)
    lines_before = 0
    for start in range(0, len(data), CHUNK_BYTES):
        try:
            text = decoder.decode(view[start : start + CHUNK_BYTES], final=start + CHUNK_BYTES >= len(data))
        except UnicodeDecodeError as error:
            if undecodable is not None:
                raise fail(undecodable) from None
            raise UnicodeDecodeError(
                error.encoding, error.object, start + error.start, start + error.end, error.reason
            ) from None
        first = _CONTROL.search(text)
        if first is not None:
            controls = len(_CONTROL.findall(text))
            if controls > max(2, len(text) // 100):
                line = lines_before + text.count("\n", 0, first.start()) + 1
                raise fail(f"binary data (control characters from line {line:,} on), not a CSV text file")
        lines_before += text.count("\n")


def check_is_table(encoding: Encoding, data: bytes, fail: Fail) -> None:
    """Refuse text that is another format: JSON (lines or a document), HTML or XML."""
    with encoding.open(data) as stream:
        line, first = next(((number, text) for number, text in enumerate(stream, 1) if text.strip()), (0, ""))
    start = first.strip()
    if start.startswith(("{", "[")):
        try:
            document = json.loads(start)
        except ValueError:
            document = None
        if isinstance(document, dict) or start == "{":
            raise fail(
                f"line {line} is a JSON object, not a row of a table: JSON lines are not CSV; "
                "upload CSV text (a header line, then one line per row)"
            )
        if isinstance(document, list) or start == "[" or _JSON_ARRAY_START.match(start):
            raise fail(f"line {line} starts a JSON array, not a row of a table; upload CSV text")
    lowered = start[:64].lower()
    if lowered.startswith(("<!doctype", "<html", "<?xml")):
        raise fail(f"line {line} starts an HTML or XML document, not a table; upload CSV text")


def records(encoding: Encoding, data: bytes, delimiter: str, fail: Fail) -> Iterator[tuple[int, list[str]]]:
    """(line where it starts, fields) of each record; a record the csv module cannot read fails with its line.

    Blank lines (and lines of spaces only) are skipped, as pandas skips them.
    """
    with encoding.open(data) as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        line = 1
        try:
            for fields in reader:
                if fields and not (len(fields) == 1 and not fields[0].strip()):
                    yield line, fields
                line = reader.line_num + 1
        except csv.Error as error:
            limit = csv.field_size_limit()
            if "field limit" in str(error):
                raise fail(
                    f"line {line:,}: a field longer than {limit:,} characters (a quote opened there and never "
                    "closed?); a CSV field may not be that long"
                ) from None
            raise fail(f"line {line:,}: not readable as CSV ({error})") from None


def first_records(
    encoding: Encoding, data: bytes, delimiter: str, count: int, fail: Fail, max_cells: int | None = None
) -> tuple[list[list[str]], InvalidCsvError | None]:
    """The first ``count`` records split with ``delimiter``, and the error that ended them early, if one did.

    With ``max_cells``, reading also stops once the records hold that many fields (a very wide
    file): always whole records, and at least ``MIN_SAMPLE_RECORDS`` of them.
    """
    rows: list[list[str]] = []
    cells = 0
    try:
        for _, fields in records(encoding, data, delimiter, fail):
            rows.append(fields)
            cells += len(fields)
            if len(rows) >= count or (max_cells is not None and cells >= max_cells and len(rows) >= MIN_SAMPLE_RECORDS):
                break
    except InvalidCsvError as error:
        return rows, error
    return rows, None


def line_of_record(encoding: Encoding, data: bytes, delimiter: str, index: int, fail: Fail) -> int:
    """The line on which the record at ``index`` (0-based, blank lines not counted) starts."""
    for position, (line, _) in enumerate(records(encoding, data, delimiter, fail)):
        if position == index:
            return line
    return 0
