"""An upload read as a stream of whole-record chunks: memory bounded by the chunk, not the file.

Detection (text encoding, delimiter, header) runs the reader's own functions on the first records
(``reader.SAMPLE_ROWS`` of them, whole records whatever their length, at most ``HEAD_MAX_BYTES``).
The rest of the file is decoded incrementally and cut into chunks at record boundaries (a newline
outside quotes: an even number of quote characters before it); each chunk is parsed by pandas on
its own, all fields as text, and comes with its first data row's index and its first line, so that
errors name the line of the file as the whole-file reader does.
"""

from __future__ import annotations

import codecs
import io
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

import numpy as np
import pandas as pd

from sagedrop.dataset import detect
from sagedrop.dataset.detect import UTF8, Encoding, check_is_table, detect_encoding, first_records
from sagedrop.dataset.reader import (
    DELIMITERS,
    MIN_DATA_ROWS,
    SAMPLE_CELLS,
    SAMPLE_ROWS,
    _check_names,
    _detect_delimiter,
    _looks_like_header,
    _ragged,
    _show,
)
from sagedrop.errors import InvalidCsvError
from sagedrop.limits import STREAM_CHUNK_BYTES

#: Bytes read at once from the source stream.
READ_BYTES = 1 << 20
#: Detection reads at most this much of the file looking for its first records.
HEAD_MAX_BYTES = 64 * 1024 * 1024

Opener = Callable[[], BinaryIO]
T = TypeVar("T")


@dataclass(frozen=True)
class Dialect:
    """What detection decided: the reader's answers for the whole file."""

    encoding: Encoding
    delimiter: str
    header: bool
    names: list[str]


@dataclass(frozen=True)
class Chunk:
    """Data rows ``start`` .. ``start + len(frame) - 1`` (0-based, header excluded); all fields text."""

    start: int
    frame: pd.DataFrame


class RetryAsCp1252(Exception):
    """A byte deep in a file detected as UTF-8 does not decode: the whole-file reader would read it as cp1252."""


def failer(source: str) -> Callable[[str], InvalidCsvError]:
    prefix = f"{source}: " if source else ""
    return lambda problem: InvalidCsvError(prefix + problem)


def read_head(stream: BinaryIO) -> bytes:
    """The first bytes of ``stream`` up to a record boundary after ``SAMPLE_ROWS`` + 1 lines (or all of it)."""
    head = bytearray()
    while len(head) < HEAD_MAX_BYTES:
        block = stream.read(READ_BYTES)
        if not block:
            return bytes(head)
        head += block
        if head.count(b"\n") > SAMPLE_ROWS + 1:
            break
    cut = head.rfind(b"\n") + 1
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) and cut % 2:
        cut += 1  # UTF-16: the newline's second byte
    return bytes(head[:cut] or head)


def detect_dialect(head: bytes, delimiter: str | None, source: str, encoding: Encoding | None = None) -> Dialect:
    """The reader's detection on the first records; the same refusals and messages."""
    fail = failer(source)
    detected = detect_encoding(head, fail)
    encoding = encoding or detected
    check_is_table(encoding, head, fail)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise fail(f"delimiter {delimiter!r} is not one of {', '.join(map(repr, DELIMITERS))}")
    if delimiter is None:
        delimiter = _detect_delimiter(encoding, head, fail)
    rows, error = first_records(encoding, head, delimiter, SAMPLE_ROWS, fail, SAMPLE_CELLS)
    if error is not None and len(rows) < 2:
        raise error
    if max((len(row) for row in rows), default=0) < 2:
        raise fail(
            "only one column found; sagedrop needs a label column and at least one feature column "
            f"(delimiter {_show(delimiter)})"
        )
    if len(rows) < 2:
        raise fail(
            "no data rows: the file holds a single line (a header?); at least "
            f"{MIN_DATA_ROWS} data rows are needed to train and evaluate"
        )
    header = _looks_like_header(rows, delimiter)
    width = len(rows[0])
    if header:
        _check_names(rows[0], fail)
        names = [str(name).strip() or f"col_{i}" for i, name in enumerate(rows[0])]
    else:
        names = [f"col_{i}" for i in range(width)]
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise fail(f"duplicate column name(s) {', '.join(map(repr, duplicates))} in the header")
    return Dialect(encoding, delimiter, header, names)


def utf8_blocks(
    stream: BinaryIO, encoding: Encoding, fail, block_bytes: int = READ_BYTES
) -> Iterator[tuple[bytes, int]]:
    """The stream as UTF-8 bytes block by block, each with its line feeds counted.

    Binary data and undecodable bytes fail as the reader fails. UTF-8 passes through as read (once
    decoded, to know it is), without its byte-order mark; another encoding is decoded and encoded.
    """
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    offset = 0
    lines = 0
    while True:
        block = stream.read(block_bytes)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as error:
            if encoding == UTF8:
                raise RetryAsCp1252 from None
            raise fail(
                f"not UTF-8 or Windows-1252 text (undecodable byte at offset {offset + error.start:,})"
            ) from None
        if encoding != UTF8:
            data = text.encode("utf-8")
        else:
            data = block[len(codecs.BOM_UTF8) :] if offset == 0 and block.startswith(codecs.BOM_UTF8) else block
        offset += len(block)
        if encoding.codec == "utf-16" or _controls_in(data):
            _check_controls(text, lines, fail)
        count = _count(data, b"\n")
        lines += count
        if data:
            yield data, count
        if not block:
            return


def _count(data: bytes, byte: bytes) -> int:
    """How often ``byte`` (one ASCII byte) occurs in ``data``: numpy counts several times faster than bytes.count."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == ord(byte)))


# Bytes that are no control character (tab, line feed and carriage return are not counted as ones).
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 0x20 and b not in (9, 10, 13)) and b != 0x7F)


def _check_controls(text: str, lines: int, fail) -> None:
    """The reader's binary checks on one block of text (``lines``: the lines before it)."""
    if "\x00" in text:
        line = lines + text.count("\n", 0, text.index("\x00")) + 1
        raise fail(f"binary data: a NUL byte on line {line:,}; a CSV is text and never holds one")
    first = detect._CONTROL.search(text)
    if first is not None and len(detect._CONTROL.findall(text)) > max(2, len(text) // 100):
        line = lines + text.count("\n", 0, first.start()) + 1
        raise fail(f"binary data (control characters from line {line:,} on), not a CSV text file")


def _controls_in(block: bytes) -> bool:
    """Whether ``block`` holds a control character (or NUL): the rare case that needs a closer look."""
    return bool(block.translate(None, _NOT_CONTROL))


def record_chunks(blocks: Iterator[tuple[bytes, int]], chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(first line, data) of chunks of about ``chunk_bytes`` UTF-8 bytes, each ending at a record boundary.

    ``blocks``: UTF-8 bytes, each with its line feeds counted (``utf8_blocks``). A line feed or quote
    byte is never part of another character in UTF-8, so records are found in the bytes.
    """
    pending: list[bytes] = []
    size = 0
    quotes = 0  # quote characters in ``pending``: odd means the data ends inside a quoted field
    newlines = 0  # line feeds in ``pending``
    line = 1
    for block, count in blocks:
        pending.append(block)
        size += len(block)
        quotes += _count(block, b'"')
        newlines += count
        if size < chunk_bytes:
            continue
        data = b"".join(pending)
        cut = _boundary(data, quotes)
        if cut <= 0:
            pending, size = [data], len(data)
            continue
        yield line, data[:cut]
        rest = data[cut:]
        rest_newlines = rest.count(b"\n")
        line += newlines - rest_newlines
        pending, size, quotes, newlines = [rest], len(rest), rest.count(b'"'), rest_newlines
    data = b"".join(pending)
    if data.decode("utf-8").strip():
        yield line, data


def _boundary(data: bytes, quotes: int) -> int:
    """The end of the last whole record in ``data`` (after its newline), 0 when there is none."""
    cut = data.rfind(b"\n")
    while cut >= 0:
        # quotes after the newline; the data before it must hold an even number
        if (quotes - data.count(b'"', cut)) % 2 == 0:
            return cut + 1
        cut = data.rfind(b"\n", 0, cut)
    return 0


def chunks(opener: Opener, dialect: Dialect, source: str, chunk_bytes: int = STREAM_CHUNK_BYTES) -> Iterator[Chunk]:
    """Every data row of the upload, chunk by chunk, all fields text (stripped later), blank lines skipped."""
    fail = failer(source)
    width = len(dialect.names)
    start = 0
    first = True
    with opener() as stream:
        records = record_chunks(utf8_blocks(stream, dialect.encoding, fail, min(READ_BYTES, chunk_bytes)), chunk_bytes)
        parsed = ((line, _parse(data, dialect.delimiter, width, line, fail)) for line, data in records)
        for _, frame in ahead(parsed):
            if first and dialect.header:
                frame = frame.iloc[1:].reset_index(drop=True)
            first = False
            frame.columns = dialect.names
            if len(frame):
                yield Chunk(start, frame)
                start += len(frame)


def ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of ``items``, the next one made in a thread of its own while the caller uses this one.

    pandas parses a chunk mostly without the GIL, so reading and parsing the next chunk overlaps the
    work on this one (one chunk more in memory). The producer's errors reach the caller as they are.
    """
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sagedrop-read-ahead") as pool:
        pending = pool.submit(next, items, done)
        while (item := pending.result()) is not done:
            pending = pool.submit(next, items, done)
            yield item


def _parse(data: bytes, delimiter: str, width: int, line: int, fail) -> pd.DataFrame:
    # pandas reads bytes about a third faster than a StringIO it must encode itself
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            sep=delimiter,
            header=None,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError):
        frame = None
    # pandas pads a short record with empty fields (na_filter is off), so field counts are checked here:
    # without quotes a line is a record and counting delimiters is enough (as the reader's check does)
    if b'"' not in data:
        if _one_whole_record_a_line(frame, data, width):
            return frame
        for offset, record in _odd_records(data, delimiter, width):
            if record.strip() and record.count(delimiter) + 1 != width:
                raise fail(_ragged(line + offset, record.count(delimiter) + 1, width))
        if frame is not None and frame.shape[1] == width:
            return frame
    elif frame is not None and frame.shape[1] == width and _first_ragged(data, delimiter, width, line, fail) is None:
        return frame
    error = _first_ragged(data, delimiter, width, line, fail)
    if error is not None or frame is None or frame.shape[1] != width:
        raise error or fail(f"line {line:,}: not readable as CSV")
    return frame.fillna("")  # short records of blank fields: rows without a label, as the reader has them


def _one_whole_record_a_line(frame: pd.DataFrame | None, data: bytes, width: int) -> bool:
    """Whether pandas' reading of unquoted ``data`` shows that every line is one record of ``width`` fields.

    pandas refuses a record longer than the first, and pads a shorter one with empty fields. So when
    each line became one row (no blank line skipped, no lone carriage return ending a line) and no
    row ends in an empty field, no line needs the field count check. Otherwise it runs.
    """
    if frame is None or frame.shape[1] != width:
        return False
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if len(frame) != lines or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return False
    return not (frame.iloc[:, -1].to_numpy() == "").any()


def _odd_records(data: bytes, delimiter: str, width: int) -> Iterator[tuple[int, str]]:
    """(index, text) of the lines of UTF-8 ``data`` without ``width - 1`` delimiters, in order.

    Counted on the bytes with numpy; the caller checks each line it gets as before (a blank one is
    no record). The same findings as that check on every line of ``data.decode().split("\\n")``.
    """
    if len(delimiter) != 1 or ord(delimiter) > 127:
        yield from enumerate(data.decode("utf-8").split("\n"))
        return
    data = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    starts, ends = np.r_[0, newlines + 1], np.r_[newlines, len(data)]
    delimiters = np.flatnonzero(data == ord(delimiter))
    fields = np.searchsorted(delimiters, ends) - np.searchsorted(delimiters, starts) + 1
    for index in np.flatnonzero(fields != width):
        yield int(index), data[starts[index] : ends[index]].tobytes().decode("utf-8")


def _first_ragged(data: bytes, delimiter: str, width: int, line: int, fail) -> InvalidCsvError | None:
    """The reader's message for the first record of UTF-8 ``data`` whose field count is not ``width``."""
    for record_line, row in detect.records(UTF8, data, delimiter, fail):
        if len(row) != width and any(field.strip() for field in row):
            return fail(_ragged(line + record_line - 1, len(row), width))
    return None


def line_of_data_row(opener: Opener, dialect: Dialect, row: int, source: str) -> int:
    """The line on which data row ``row`` (0-based) starts; reads the upload again (error paths only)."""
    import csv

    index = row + int(dialect.header)
    with opener() as raw, io.TextIOWrapper(raw, encoding=dialect.encoding.codec, newline="") as stream:
        reader = csv.reader(stream, delimiter=dialect.delimiter)
        line, position = 1, 0
        for fields in reader:
            if fields and not (len(fields) == 1 and not fields[0].strip()):
                if position == index:
                    return line
                position += 1
            line = reader.line_num + 1
    return 0
