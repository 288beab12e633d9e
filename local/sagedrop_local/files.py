"""The files and folders a ``sagedrop`` command is given: each mistake ends it with one line.

Every check raises ``SystemExit("sagedrop: …")`` (exit status 1, the message on stderr): a
directory given as the CSV, a file that cannot be read, a ``.gz`` that is not a whole gzip file,
an output folder that is a file or cannot be written, an output file in a folder that is missing.
"""

from __future__ import annotations

import gzip
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def read_input(path: Path) -> tuple[bytes, str]:
    """The CSV's bytes and its name; a ``.gz`` is decompressed (its name loses the suffix)."""
    if path.is_dir():
        raise SystemExit(f"sagedrop: {path}: is a directory; give the CSV file")
    if not path.exists():
        raise SystemExit(f"sagedrop: {path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SystemExit(f"sagedrop: {path}: cannot be read ({_reason(error)})") from None
    name = path.name
    if name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise SystemExit(
                f"sagedrop: {path}: not a whole gzip file ({error}); give the .csv, or a .csv.gz that gunzip reads"
            ) from None
        name = name[: -len(".gz")]
    return data, name


def open_input(path: Path) -> tuple[Callable[[], BinaryIO], str, int]:
    """An opener of the CSV's bytes, its name and its size, checked as ``read_input`` checks them, never held whole.

    A ``.gz`` is decompressed as it is read (its name loses the suffix); it is read through once
    here, in blocks, so that a broken one stops the command before anything is uploaded, and for
    its decompressed size.
    """
    if path.is_dir():
        raise SystemExit(f"sagedrop: {path}: is a directory; give the CSV file")
    if not path.exists():
        raise SystemExit(f"sagedrop: {path}: no such file")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise SystemExit(f"sagedrop: {path}: cannot be read ({_reason(error)})") from None
    if not path.name.lower().endswith(".gz"):
        return (lambda: path.open("rb")), path.name, path.stat().st_size
    size = 0
    try:
        with gzip.open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                size += len(block)
    except (OSError, EOFError, zlib.error) as error:
        raise SystemExit(
            f"sagedrop: {path}: not a whole gzip file ({error}); give the .csv, or a .csv.gz that gunzip reads"
        ) from None
    return (lambda: gzip.open(path, "rb")), path.name[: -len(".gz")], size


def writable_folder(path: Path, option: str, holds: str) -> Path:
    """``path`` as a folder this process can write in, created when missing."""
    if path.exists() and not path.is_dir():
        raise SystemExit(f"sagedrop: {option} {path}: is a file; {option} names a folder (for {holds})")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SystemExit(f"sagedrop: {option} {path}: cannot create the folder ({_reason(error)})") from None
    _probe(path, option, path)
    return path


def writable_file(path: Path, option: str = "--out") -> Path:
    """``path`` as a file to (over)write: not a folder, in a folder that exists and can be written."""
    if path.is_dir():
        raise SystemExit(f"sagedrop: {option} {path}: is a directory; name the CSV to write")
    if not path.parent.is_dir():
        raise SystemExit(f"sagedrop: {option} {path}: folder {path.parent} does not exist")
    _probe(path.parent, option, path)
    return path


def _probe(folder: Path, option: str, named: Path) -> None:
    # Permission bits do not tell (root ignores them; a read-only mount has none): try to write.
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise SystemExit(f"sagedrop: {option} {named}: cannot write in {folder} ({_reason(error)})") from None
