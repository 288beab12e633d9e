"""Pass 1's reading of every chunk, kept on local disk so that pass 2 need not parse the upload again.

Pass 1 parses each chunk and reads its columns' distinct values (``reader._Distinct``): the codes of
every cell and what each distinct value is. Parsing and factorizing are most of a pass, and pass 2
needs exactly that reading again. A spill writes it to a temporary file, a chunk at a time, with
codes in the smallest unsigned type that holds them (one or two bytes a cell for most columns), and
pass 2 reads it back a chunk at a time: memory stays one chunk, the disk holds the codes.

The disk is not unbounded (the preprocessing Lambda's ephemeral storage, a Processing volume): a
spill past its budget is dropped and pass 2 reads the upload again, as it does without a spill.
A Lambda's /tmp also outlives an invocation that timed out, with its spill: a live spill holds a
lock on its file, and a new one removes the files of the folder that nobody holds.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from sagedrop.dataset.reader import _Distinct
from sagedrop.limits import SPILL_DISK_SHARE, SPILL_MAX_BYTES

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so no spill is ever taken for a leftover
    fcntl = None

SPILL_PREFIX = "sagedrop-spill-"

#: (first data row, rows, each column's distinct values) of one chunk
SpilledChunk = tuple[int, int, dict[str, _Distinct]]


def default_budget(folder: str) -> int:
    """SPILL_MAX_BYTES, or less: SPILL_DISK_SHARE of the space free in ``folder``."""
    return int(min(SPILL_MAX_BYTES, shutil.disk_usage(folder).free * SPILL_DISK_SHARE))


class ChunkSpill:
    """A temporary file of spilled chunks; use it as a context manager, which removes the file."""

    def __init__(self, folder: str | None = None, max_bytes: int | None = None) -> None:
        self.folder = folder or tempfile.gettempdir()
        remove_leftover_spills(self.folder)
        self.max_bytes = default_budget(self.folder) if max_bytes is None else max_bytes
        self._file: BinaryIO | None = None
        self._path: str | None = None
        self.complete = False  # every chunk of a finished pass 1 is in the file
        self.dropped = False  # over the budget: pass 2 reads the upload again

    def __enter__(self) -> ChunkSpill:
        return self

    def __exit__(self, *_: object) -> None:
        self._remove()

    def reset(self) -> None:
        """Start again (pass 1 starts again, reading the upload in another text encoding)."""
        self._remove()
        self.complete = self.dropped = False

    def add(self, start: int, rows: int, distincts: dict[str, _Distinct]) -> None:
        if self.dropped:
            return
        try:
            if self._file is None:
                handle, self._path = tempfile.mkstemp(prefix=SPILL_PREFIX, suffix=".pickle", dir=self.folder)
                if fcntl is not None:  # held until the file is closed: this spill is alive
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._file = os.fdopen(handle, "wb")
            compact = {name: _compact(distinct) for name, distinct in distincts.items()}
            pickle.dump((start, rows, compact), self._file, protocol=pickle.HIGHEST_PROTOCOL)
            over = self._file.tell() > self.max_bytes
        except OSError:  # the disk filled up after all (or is not writable): a spill is only a shortcut
            over = True
        if over:
            self._remove()
            self.dropped = True

    def finish(self) -> None:
        """Pass 1 read the whole upload: the spill holds every chunk (unless it was dropped)."""
        if self._file is not None:
            self._file.flush()
        self.complete = not self.dropped

    def chunks(self) -> Iterator[SpilledChunk]:
        """The spilled chunks in order, one at a time, their codes as indexes again."""
        if not self.complete:
            raise RuntimeError("the spill does not hold a finished first pass")
        if self._path is None:
            return
        with open(self._path, "rb") as file:
            while True:
                try:
                    start, rows, compact = pickle.load(file)
                except EOFError:
                    return
                yield start, rows, {name: _restored(*arrays) for name, arrays in compact.items()}

    def _remove(self) -> None:
        file, path = self._file, self._path
        self._file = self._path = None
        if file is not None:
            with contextlib.suppress(OSError):  # its last buffer may not fit on a full disk either
                file.close()
        if path is not None:
            os.unlink(path)


def remove_leftover_spills(folder: str) -> list[str]:
    """Remove the spills in ``folder`` that no live spill holds (its process ended without removing it)."""
    removed = []
    if fcntl is None:
        return removed
    for path in glob.glob(os.path.join(glob.escape(folder), f"{SPILL_PREFIX}*.pickle")):
        try:
            with open(path, "rb") as file:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # refused while a live spill holds it
                os.unlink(path)
            removed.append(path)
        except OSError:  # held, gone already, or not ours to remove
            continue
    return removed


def _compact(distinct: _Distinct) -> tuple[np.ndarray, ...]:
    """What pass 2 reads of a column, as arrays (no object per value), codes in one, two or four bytes."""
    count = len(distinct.stripped)
    kind = np.uint8 if count <= 1 << 8 else np.uint16 if count <= 1 << 16 else np.uint32
    return distinct.codes.astype(kind), distinct.stripped, distinct.missing, distinct.numbers, distinct.refused


def _restored(codes: np.ndarray, *arrays: np.ndarray) -> _Distinct:
    return _Distinct.restored(codes.astype(np.intp), *arrays)
