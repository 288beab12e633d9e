"""Turn the test split into InvokeEndpoint request bodies.

The test split is a label-first, headerless, numeric CSV (``runs/<run-id>/data/test/*.csv``). The
endpoint wants the same rows *without* the label, in bodies of at most 6,291,456 bytes (the
SageMaker hard limit; we stay under 5 MB). Rows are kept byte for byte — no float round trip — so
what the model sees is exactly what preprocessing wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from sagedrop.errors import FeatureCountMismatchError, InvalidCsvError
from sagedrop.limits import EVALUATION_BATCH_BYTES as DEFAULT_MAX_BYTES
from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES as SAGEMAKER_MAX_PAYLOAD_BYTES


def _lines(rows: Iterable[bytes] | bytes) -> Iterator[bytes]:
    """Lines with their line ending; an iterable's items get a ``\\n`` when they lack one."""
    if isinstance(rows, bytes | bytearray | memoryview):
        yield from bytes(rows).splitlines(keepends=True)
        return
    for row in rows:
        if not isinstance(row, bytes | bytearray | memoryview):
            raise TypeError(f"batch_rows wants bytes rows, got {type(row).__name__}")
        row = bytes(row)
        # Without the newline, two rows of an iterable would fuse into one in the request body.
        yield row if row.endswith(b"\n") else row + b"\n"


def batch_rows(rows: Iterable[bytes] | bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[bytes]:
    """Yield request bodies of whole CSV lines, each at most ``max_bytes`` long.

    ``rows`` is either one CSV document (``bytes``; the bodies concatenate back to it exactly) or
    an iterable of lines (a missing trailing ``\\n`` is added to each). A line is never split; a
    single line longer than ``max_bytes`` raises :class:`~sagedrop.errors.InvalidCsvError`.
    """
    if not 0 < max_bytes <= SAGEMAKER_MAX_PAYLOAD_BYTES:
        raise ValueError(f"max_bytes must be in 1..{SAGEMAKER_MAX_PAYLOAD_BYTES}, got {max_bytes}")
    chunk: list[bytes] = []
    size = 0
    for number, line in enumerate(_lines(rows), start=1):
        if len(line) > max_bytes:
            raise InvalidCsvError(
                f"row {number} is {len(line):,} bytes, more than one InvokeEndpoint request may "
                f"carry ({max_bytes:,} bytes)"
            )
        if size + len(line) > max_bytes:
            yield b"".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield b"".join(chunk)


def _data_lines(csv: bytes) -> list[bytes]:
    """Non-blank lines without their line ending (blank lines would become NaN rows or errors)."""
    return [line for line in csv.splitlines() if line.strip()]


def features_only(test_csv: bytes, feature_count: int | None = None) -> tuple[np.ndarray, bytes]:
    """Split a label-first headerless CSV into (labels, features CSV).

    Returns the labels as a float array and the remaining columns, unchanged, one ``\\n``-terminated
    line per row. Blank lines are dropped. With ``feature_count`` every row is checked as in
    :func:`check_feature_count`.
    """
    labels: list[bytes] = []
    features: list[bytes] = []
    for number, line in enumerate(_data_lines(test_csv), start=1):
        label, sep, rest = line.partition(b",")
        if not sep or not rest.strip():
            raise FeatureCountMismatchError(f"test row {number} has a label but no feature columns")
        labels.append(label.strip())
        features.append(rest + b"\n")
    try:
        y = np.array([float(value) for value in labels], dtype=float)
    except ValueError as error:
        raise InvalidCsvError(f"test split has a non-numeric label: {error}") from None
    body = b"".join(features)
    if feature_count is not None:
        check_feature_count(body, feature_count)
    return y, body


def check_feature_count(features_csv: bytes, feature_count: int) -> int:
    """Check every row has ``feature_count`` columns; return the number of rows.

    The XGBoost container does not reject a row with one column fewer than the model was trained
    on (``serve_utils.predict`` accepts ``model == data + 1`` features), so a shifted schema would
    silently produce wrong predictions. Raises
    :class:`~sagedrop.errors.FeatureCountMismatchError` naming the row.
    """
    rows = 0
    for number, line in enumerate(_data_lines(features_csv), start=1):
        columns = line.count(b",") + 1
        if columns != feature_count:
            raise FeatureCountMismatchError(
                f"row {number} has {columns} feature columns, the model was trained on {feature_count}"
            )
        rows += 1
    return rows
