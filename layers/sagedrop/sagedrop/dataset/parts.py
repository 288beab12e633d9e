"""Where the streamed preparation writes: a sink of named text objects, and splits as capped part files.

A sink opens writers by relative name (``data/train/part-00000.csv``); S3 (multipart, through
``sagedrop.aws.s3_streams``) and a local folder (``sagedrop prepare``) are the two sinks. A writer
left by an exception is aborted, so a failed run leaves no half-written object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from sagedrop.limits import SPLIT_PART_MAX_BYTES


class TextWriter(Protocol):
    def write(self, text: str) -> None: ...
    def close(self) -> int: ...
    def abort(self) -> None: ...


class Sink(Protocol):
    def open(self, name: str, content_type: str) -> TextWriter: ...
    def location(self, name: str) -> str: ...


def part_name(split: str, number: int) -> str:
    return f"data/{split}/part-{number:05d}.csv"


class S3Sink:
    """Objects under ``prefix`` (``runs/<run-id>/``) of a bucket, written by ``ObjectStreams``."""

    def __init__(self, streams: Any, prefix: str) -> None:
        self.streams = streams
        self.prefix = prefix

    def open(self, name: str, content_type: str) -> TextWriter:
        return self.streams.writer(self.prefix + name, content_type)

    def location(self, name: str) -> str:
        return self.streams.uri(self.prefix + name)


class _FileWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.partial.open("w", encoding="utf-8", newline="")
        self.bytes_written = 0

    def write(self, text: str) -> None:
        self.bytes_written += len(text.encode("utf-8"))
        self.file.write(text)

    def close(self) -> int:
        self.file.close()
        self.partial.replace(self.path)
        return self.bytes_written

    def abort(self) -> None:
        self.file.close()
        self.partial.unlink(missing_ok=True)


class DirSink:
    """Files under a local folder (``sagedrop prepare --out DIR``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def open(self, name: str, content_type: str) -> TextWriter:
        return _FileWriter(self.root / name)

    def location(self, name: str) -> str:
        return str(self.root / name)


class PartWriter:
    """One split as ``part-00000.csv``, ``part-00001.csv``, …, each at most ``max_bytes`` (whole lines)."""

    def __init__(self, sink: Sink, split: str, max_bytes: int = SPLIT_PART_MAX_BYTES) -> None:
        self.sink = sink
        self.split = split
        self.max_bytes = max_bytes
        self.names: list[str] = []
        self.rows = 0
        self._writer: TextWriter | None = None
        self._size = 0

    def write(self, text: str, rows: int) -> None:
        """Whole lines (each ending in ``\\n``); a part ends before a line that would take it over the cap."""
        self.rows += rows
        data = text.encode("utf-8")
        while data:
            room = self.max_bytes - self._size
            if room <= 0 and self._writer is not None:  # full (or one line over the cap): the next part
                self._finish()
                continue
            if len(data) <= room:
                piece, data = data, b""
            else:
                cut = data.rfind(b"\n", 0, room) + 1
                if cut == 0 and self._size == 0:  # one line over the cap: a part of its own
                    cut = data.find(b"\n") + 1 or len(data)
                piece, data = data[:cut], data[cut:]
            if piece:
                self._current().write(piece.decode("utf-8"))
                self._size += len(piece)
            if data:
                self._finish()

    def close(self) -> list[str]:
        """Complete the last part; the names of the parts written (none for a split without rows)."""
        self._finish()
        return self.names

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def _current(self) -> TextWriter:
        if self._writer is None:
            name = part_name(self.split, len(self.names))
            self._writer = self.sink.open(name, "text/csv")
            self.names.append(name)
            self._size = 0
        return self._writer

    def _finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._size = 0
