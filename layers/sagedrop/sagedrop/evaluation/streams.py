"""The evaluation's data as streams: labels from the test parts, scores from the endpoint or a transform's output.

Nothing here holds a split's text. The encoded test parts are read line by line for their first
field; the raw test split goes through :func:`sagedrop.predicting.iter_chunks` (the ``csv`` module
over the GetObject stream, so a quoted field may hold delimiters and line breaks) in bounded
InvokeEndpoint requests, at most ``concurrency`` in flight; a transform job's output is read line by
line. What stays is what the metrics need, as compact numpy arrays: the labels (float64, 8 bytes a
row) and the scores (float64: 8 bytes a row, 8 per class for multiclass). That is O(rows) — about
16 bytes a row, some 47 MB for the 2.9 million test rows of a 2 GB bank-like upload — and it is
acceptable because the metrics need every score at once (ROC AUC ranks them all, the curves sort
them, 40-60 bytes a row more while they run): exact metrics cannot be computed from a bounded
summary, and a few bytes a row is a small fraction of the 100 bytes of text each row came from.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO

import numpy as np
import pandas as pd

from sagedrop.errors import FeatureCountMismatchError, InvalidCsvError, InvalidPredictionError
from sagedrop.predicting import Invoke, contract_scores, iter_chunks, predict_chunks, prediction_scores
from sagedrop.problem_types import ProblemType

#: Labels (lines) and transform answers (rows) turned into arrays at once: bounded memory, few numpy calls.
BLOCK_LINES = 65_536


def read_labels(parts: Iterable[IO[str]]) -> np.ndarray:
    """Column 0 of every non-blank line of the label-first test parts, in order (float64).

    The parts are our own headerless numeric CSV (no quotes), so a line is a row. Raises
    FeatureCountMismatchError for a row without feature columns, InvalidCsvError for a non-numeric label.
    """
    blocks: list[np.ndarray] = []
    row = 0
    for part in parts:
        with part:
            while lines := list(islice(part, BLOCK_LINES)):
                labels = []
                for line in lines:
                    if not line.strip():
                        continue
                    row += 1
                    label, sep, rest = line.partition(",")
                    if not sep or not rest.strip():
                        raise FeatureCountMismatchError(f"test row {row} has a label but no feature columns")
                    labels.append(label.strip())
                try:
                    blocks.append(np.array(labels, dtype=float))
                except ValueError as error:
                    raise InvalidCsvError(f"test split has a non-numeric label: {error}") from None
    return np.concatenate(blocks) if blocks else np.empty(0)


def endpoint_scores(
    raw_test: IO[str],
    invoke: Invoke,
    problem_type: str,
    *,
    delimiter: str,
    max_bytes: int,
    max_rows: int,
    concurrency: int,
) -> np.ndarray:
    """Scores of every row of the raw test split (a text stream with its header), from the endpoint, in order."""
    chunks = iter_chunks(raw_test, delimiter=delimiter, max_bytes=max_bytes, max_rows=max_rows)
    parts = [
        contract_scores(answer, problem_type, len(chunk.records))
        for chunk, answer in predict_chunks(chunks, invoke, accept="application/json", concurrency=concurrency)
    ]
    return _joined(parts, problem_type)


def transform_scores(output: IO[str], problem_type: str) -> np.ndarray:
    """Scores from a transform job's output, in order: one joined line per request.

    A line is the request with the label decoder's answer beside it (``JoinSource: Input``):
    ``{"instances": [rows…], "SageMakerOutput": {"predictions": [one a row…]}}``. Each line must
    answer exactly the rows it asked for; AssembleWith Line may leave blank lines between them.
    """
    parts: list[np.ndarray] = []
    answers: list = []
    for number, line in enumerate(output, start=1):
        if not line.strip():
            continue
        answers.extend(_answers(line, number))
        if len(answers) >= BLOCK_LINES:  # a block of rows at a time: few numpy calls, bounded lists
            parts.append(prediction_scores(answers, problem_type))
            answers = []
    if answers:
        parts.append(prediction_scores(answers, problem_type))
    return _joined(parts, problem_type)


def _answers(line: str, number: int) -> list:
    """The predictions of one joined line of the transform output, one for each row it asked for."""
    try:
        document = json.loads(line)
        asked, predictions = document["instances"], document["SageMakerOutput"]["predictions"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidPredictionError(
            f"line {number} of the transform output is not a request joined with the predictions contract: "
            f"{error!r}"
        ) from None
    if not isinstance(predictions, list) or not isinstance(asked, list) or len(predictions) != len(asked):
        count = f"{len(predictions)} rows" if isinstance(predictions, list) else "no list of rows"
        raise InvalidPredictionError(
            f"line {number} of the transform output answers {count} for a request of "
            f"{len(asked) if isinstance(asked, list) else 'no list of'} rows"
        )
    return predictions


def _joined(parts: list[np.ndarray], problem_type: str) -> np.ndarray:
    if parts:
        return np.concatenate(parts)
    return np.empty((0, 0)) if problem_type == ProblemType.MULTICLASS else np.empty(0)


def sample_positions(rows: int, size: int, seed: int) -> np.ndarray:
    """The row positions (0-based, ascending) of the permutation importance's seeded sample of ``rows``."""
    return np.sort(np.random.default_rng(seed).permutation(rows)[:size])


def raw_records(raw_test: IO[str], delimiter: str) -> Iterator[list[str]]:
    """The raw test split's records (the header first), blank lines skipped."""
    for record in csv.reader(raw_test, delimiter=delimiter):
        if record and not (len(record) == 1 and not record[0].strip()):
            yield record


def read_raw_sample(raw_test: IO[str], delimiter: str, positions: np.ndarray) -> pd.DataFrame:
    """The rows of the raw test split at ``positions`` (ascending), as text exactly as written.

    One pass over the stream keeping only the picked records: the sample is the one the whole-file
    reading took (the same seeded positions among the same rows), without holding the file.
    """
    records = raw_records(raw_test, delimiter)
    header = next(records, None)
    if header is None:
        raise InvalidCsvError("the raw test split is empty")
    wanted = iter(int(position) for position in positions)
    target = next(wanted, None)
    picked: list[list[str]] = []
    for index, record in enumerate(records):
        if target is None:
            break
        if index == target:
            picked.append(record)
            target = next(wanted, None)
    if target is not None:
        raise InvalidCsvError(f"the raw test split has fewer rows than the sample's position {target}")
    return pd.DataFrame(picked, columns=header, dtype=object)
