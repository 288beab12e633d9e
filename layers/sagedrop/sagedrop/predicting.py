"""Send a raw CSV of any size to an endpoint: chunks under the payload limit, a few in flight, in order.

Used by ``sagedrop predict`` / ``sagedrop local predict`` and by the evaluation. The input is read as
a stream of CSV records (the ``csv`` module, so quoted fields may hold delimiters and newlines); each
request body is a whole number of records, at most ``max_bytes`` long, with the input's header line
repeated at its top so the endpoint matches columns by name. Memory holds at most ``concurrency + 1``
chunks, whatever the file's size. Answers come back in input order with the records they belong to.

An endpoint's error message names a row of its own request; :class:`EndpointRejected` gives the row of
the input file as well, so a person can find it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sagedrop.errors import EndpointError, EndpointRejected, InvalidPredictionError
from sagedrop.limits import EVALUATION_BATCH_BYTES, FEATURE_VALUE_MAX_CHARS, PIPELINE_STAGE_MAX_BYTES
from sagedrop.problem_types import ProblemType

#: (body, content_type, accept) -> response body; raises EndpointError for an answer of 4xx/5xx.
Invoke = Callable[[bytes, str, str], bytes]

_ROW_IN_MESSAGE = re.compile(r"\brow (\d+)\b")


@dataclass(frozen=True)
class Chunk:
    """Records ``first_row``..``first_row + len(records) - 1`` of the input (1-based, header excluded)."""

    first_row: int
    header: list[str] | None
    records: list[list[str]]
    body: bytes


def _encode(records: Iterable[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows(records)
    return buffer.getvalue().encode("utf-8")


def rows_per_request(feature_count: int) -> int:
    """Rows whose features surely fit between two pipeline containers, however long each value is."""
    return max(1, PIPELINE_STAGE_MAX_BYTES // (feature_count * FEATURE_VALUE_MAX_CHARS))


def iter_chunks(
    lines: Iterable[str],
    *,
    has_header: bool = True,
    delimiter: str = ",",
    max_bytes: int = EVALUATION_BATCH_BYTES,
    max_rows: int | None = None,
) -> Iterator[Chunk]:
    """Whole records of ``lines`` (a text stream) in bodies of at most ``max_bytes`` and ``max_rows`` records.

    Raises EndpointRejected for a single record that alone exceeds ``max_bytes``.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader, None) if has_header else None
    header_bytes = _encode([header], delimiter) if header else b""
    records: list[list[str]] = []
    size = len(header_bytes)
    first_row = 1
    for row_number, record in enumerate(reader, start=1):
        if not record:  # a blank line is no record
            continue
        record_bytes = len(_encode([record], delimiter))
        if len(header_bytes) + record_bytes > max_bytes:
            raise EndpointRejected(
                f"row {row_number} is {record_bytes:,} bytes: more than one request may carry ({max_bytes:,})"
            )
        if records and (size + record_bytes > max_bytes or (max_rows is not None and len(records) >= max_rows)):
            yield Chunk(first_row, header, records, header_bytes + _encode(records, delimiter))
            records, size, first_row = [], len(header_bytes), row_number
        if not records:
            first_row = row_number
        records.append(record)
        size += record_bytes
    if records:
        yield Chunk(first_row, header, records, header_bytes + _encode(records, delimiter))


def _rejected(chunk: Chunk, error: EndpointError) -> EndpointRejected:
    last = chunk.first_row + len(chunk.records) - 1

    def in_file(match: re.Match) -> str:
        local = int(match.group(1))
        return f"row {local} (row {chunk.first_row + local - 1} of the input)"

    message = _ROW_IN_MESSAGE.sub(in_file, error.message, count=1)
    return EndpointRejected(f"rows {chunk.first_row:,}-{last:,}: the endpoint answered: {message}")


def predict_chunks(
    chunks: Iterable[Chunk],
    invoke: Invoke,
    *,
    content_type: str = "text/csv",
    accept: str = "text/csv",
    concurrency: int = 4,
) -> Iterator[tuple[Chunk, bytes]]:
    """Each chunk with the endpoint's answer, in input order, at most ``concurrency`` requests in flight."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sagedrop-predict") as pool:
        pending: list[tuple[Chunk, Future[bytes]]] = []
        for chunk in chunks:
            pending.append((chunk, pool.submit(invoke, chunk.body, content_type, accept)))
            if len(pending) >= concurrency:
                yield _answer(*pending.pop(0))
        for item in pending:
            yield _answer(*item)


def _answer(chunk: Chunk, future: Future[bytes]) -> tuple[Chunk, bytes]:
    try:
        return chunk, future.result()
    except EndpointError as error:
        raise _rejected(chunk, error) from None


def answer_rows(answer: bytes, expected: int, delimiter: str = ",") -> list[list[str]]:
    """The rows of a ``text/csv`` answer (``predicted_label[,probability]``); their count must match."""
    rows = [row for row in csv.reader(io.StringIO(answer.decode("utf-8")), delimiter=delimiter) if row]
    if len(rows) != expected:
        raise EndpointRejected(f"the endpoint answered {len(rows)} rows for {expected}")
    return rows


def contract_scores(answer: bytes, problem_type: str, expected: int) -> np.ndarray:
    """Scores from the contract's JSON answer: P(class 1) (binary), class probabilities (multiclass), values.

    The order of ``probabilities`` is the answer's ``labels``, which is the label mapping's order, so
    column k is the class the training split encoded as k.
    """
    try:
        rows = json.loads(answer)["predictions"]
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise InvalidPredictionError(f"the endpoint's answer is not the predictions contract: {error!r}") from None
    scores = prediction_scores(rows, problem_type)
    if len(scores) != expected:
        raise InvalidPredictionError(f"the endpoint answered {len(scores)} predictions for {expected} rows")
    return scores


def prediction_scores(rows: list, problem_type: str) -> np.ndarray:
    """The scores of the contract's ``predictions`` rows (see :func:`contract_scores`)."""
    try:
        if problem_type == ProblemType.REGRESSION:
            return np.array([float(row["predicted_label"]) for row in rows], dtype=float)
        scores = np.array([[float(p) for p in row["probabilities"]] for row in rows], dtype=float)
        return scores[:, 1] if problem_type == ProblemType.BINARY else scores
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise InvalidPredictionError(f"the endpoint's answer is not the predictions contract: {error!r}") from None


def predict_raw_csv(
    data: bytes,
    invoke: Invoke,
    problem_type: str,
    *,
    delimiter: str = ",",
    max_bytes: int = EVALUATION_BATCH_BYTES,
    max_rows: int | None = None,
    concurrency: int = 4,
) -> np.ndarray:
    """Scores for every row of a raw CSV with a header (the upload's columns), in row order."""
    text = io.StringIO(data.decode("utf-8"), newline="")
    chunks = iter_chunks(text, delimiter=delimiter, max_bytes=max_bytes, max_rows=max_rows)
    parts = [
        contract_scores(answer, problem_type, len(chunk.records))
        for chunk, answer in predict_chunks(chunks, invoke, accept="application/json", concurrency=concurrency)
    ]
    if not parts:
        raise EndpointRejected("there are no rows to predict")
    return np.concatenate(parts)
