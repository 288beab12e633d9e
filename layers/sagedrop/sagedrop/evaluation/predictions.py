"""Read what the SageMaker built-in XGBoost container answers to ``Accept: text/csv``.

What the container writes (``aws/sagemaker-xgboost-container``,
``src/sagemaker_xgboost_container/algorithm_mode/serve.py``, ``invocations()``)::

    if SAGEMAKER_BATCH:
        return_data = "\\n".join(map(str, preds.tolist())) + "\\n"
    else:
        return_data = ",".join(map(str, preds.tolist()))

``preds`` is ``Booster.predict``'s output, so for a real-time endpoint:

* ``binary:logistic`` and ``reg:squarederror`` — one number per row, **comma-separated on one
  line**: ``0.0123,0.9871,0.4``. Batch transform (``SAGEMAKER_BATCH``) writes one per line.
* ``multi:softprob`` — ``preds`` is 2-D, and ``str()`` of a Python list gives **bracketed rows**:
  ``[0.1, 0.2, 0.7],[0.3, 0.3, 0.4]`` (batch transform: one bracketed row per line).
* Plain rows, one per line (``0.1,0.2,0.7\\n0.3,0.3,0.4\\n``; one value per line for binary
  models), are what an older multi-model handler wrote (its test,
  ``test/unit/algorithm_mode/test_handler_service.py``, expects ``b'1.0,1.0\\n1.0,1.0\\n'`` for a
  2x2 array) and what the SageMaker Clarify docs show for XGBoost endpoints. (The current
  ``algorithm_mode/handler_service.py`` uses the same joins as serve.py.)

The parser accepts all of these and checks the row count, so a container change shows up as an
:class:`~sagedrop.errors.InvalidPredictionError` rather than as wrong metrics.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sagedrop.errors import InvalidPredictionError

from .batching import DEFAULT_MAX_BYTES, batch_rows
from .constants import BINARY, MULTICLASS, PROBLEM_TYPES, REGRESSION

_BRACKETED_ROW = re.compile(rb"\[([^\[\]]*)\]")
_SEPARATORS = re.compile(rb"[\s,]*")
_VALUE_SEPARATOR = re.compile(rb"[\s,]+")
# Sums of float32 probabilities drift by ~1e-7; anything further off is not a softprob output.
_PROBABILITY_TOLERANCE = 1e-3


def _snippet(body: bytes) -> str:
    text = body[:120].decode("utf-8", errors="replace")
    return repr(text + ("…" if len(body) > 120 else ""))


def _split_values(row: bytes) -> list[bytes]:
    return [value for value in _VALUE_SEPARATOR.split(row.strip()) if value]


def _rows(body: bytes) -> tuple[list[list[bytes]], bool]:
    """Split a response into rows of value tokens; the flag says the layout was one flat line."""
    text = body.strip()
    if not text:
        return [], False
    if b"[" in text:
        rows = _BRACKETED_ROW.findall(text)
        if _BRACKETED_ROW.sub(b"", text).strip(b" \t\r\n,"):
            raise InvalidPredictionError(f"cannot read bracketed predictions: {_snippet(body)}")
        return [_split_values(row) for row in rows], False
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) == 1:
        return [[value] for value in _split_values(lines[0])], True
    return [_split_values(line) for line in lines], False


def _to_float(rows: list[list[bytes]], body: bytes) -> np.ndarray:
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise InvalidPredictionError(
            f"prediction rows have different widths {sorted(widths)}: {_snippet(body)}"
        )
    try:
        values = np.array([[float(value) for value in row] for row in rows], dtype=float)
    except ValueError:
        raise InvalidPredictionError(f"predictions are not numbers: {_snippet(body)}") from None
    if not np.all(np.isfinite(values)):
        raise InvalidPredictionError(f"predictions contain NaN or infinity: {_snippet(body)}")
    return values.reshape(len(rows), widths.pop() if widths else 0)


def _check_probabilities(values: np.ndarray, what: str) -> None:
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise InvalidPredictionError(
            f"{what} must be probabilities in [0, 1], got values in "
            f"[{values.min():.6g}, {values.max():.6g}] — was the model trained with another objective?"
        )


def parse_predictions(
    body: bytes, problem_type: str, class_count: int | None, expected_rows: int
) -> np.ndarray:
    """Parse one InvokeEndpoint ``text/csv`` response body.

    Returns, for ``expected_rows`` rows:

    * binary classification — shape ``(n,)``, the probability of class 1 (``binary:logistic``;
      a two-column softprob answer is reduced to its second column);
    * multiclass classification — shape ``(n, class_count)``, class probabilities
      (``multi:softprob``); a ``multi:softmax`` answer (one class index per row) is accepted and
      turned into one-hot rows;
    * regression — shape ``(n,)``, the predicted values.

    Raises :class:`~sagedrop.errors.InvalidPredictionError` when the body is not UTF-8 numbers, has
    the wrong number of rows or columns, or is not probabilities where probabilities are due.
    """
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"unknown problem type {problem_type!r}")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPredictionError(f"response is not UTF-8 text: {_snippet(body)}") from None
    rows, flat = _rows(body)

    if problem_type == MULTICLASS:
        return _parse_multiclass(rows, flat, body, class_count, expected_rows)

    values = _to_float(rows, body)
    if values.shape[0] != expected_rows:
        raise InvalidPredictionError(
            f"expected {expected_rows} predictions, the endpoint answered {values.shape[0]}: {_snippet(body)}"
        )
    if values.shape[1] == 2 and problem_type == BINARY:
        values = values[:, 1:]
    if values.shape[0] and values.shape[1] != 1:
        raise InvalidPredictionError(
            f"expected one value per row for {problem_type}, got {values.shape[1]}: {_snippet(body)}"
        )
    predictions = values.reshape(-1)
    if problem_type == BINARY:
        _check_probabilities(predictions, "binary predictions")
    return predictions


def _parse_multiclass(
    rows: list[list[bytes]], flat: bool, body: bytes, class_count: int | None, expected_rows: int
) -> np.ndarray:
    if class_count is None or class_count < 2:
        raise ValueError(f"multiclass predictions need class_count >= 2, got {class_count}")
    values = _to_float(rows, body)
    if flat and values.shape[0] == expected_rows * class_count:
        # One flat line of n*K numbers: the rows were joined without brackets.
        values = values.reshape(expected_rows, class_count)
    if values.shape[0] != expected_rows:
        raise InvalidPredictionError(
            f"expected {expected_rows} rows of {class_count} class probabilities, the endpoint "
            f"answered {values.shape[0]} rows: {_snippet(body)}"
        )
    if values.shape[0] and values.shape[1] == 1:
        # multi:softmax answers the class index itself.
        indexes = values[:, 0]
        if not np.all((indexes == np.round(indexes)) & (indexes >= 0) & (indexes < class_count)):
            raise InvalidPredictionError(
                f"expected {class_count} class probabilities per row or a class index in "
                f"0..{class_count - 1}: {_snippet(body)}"
            )
        return np.eye(class_count)[indexes.astype(int)]
    if values.shape[0] and values.shape[1] != class_count:
        raise InvalidPredictionError(
            f"expected {class_count} class probabilities per row, got {values.shape[1]}: {_snippet(body)}"
        )
    values = values.reshape(expected_rows, class_count)
    _check_probabilities(values, "class probabilities")
    if values.size and not np.allclose(values.sum(axis=1), 1.0, atol=_PROBABILITY_TOLERANCE):
        raise InvalidPredictionError(
            f"class probabilities do not sum to 1 (multi:softprob expected): {_snippet(body)}"
        )
    return values


def count_rows(features_csv: bytes) -> int:
    """Rows in a request body (non-blank lines): the row count its response must have."""
    return sum(1 for line in features_csv.splitlines() if line.strip())


def predict_in_batches(
    features_csv: bytes,
    invoke: Callable[[bytes], bytes],
    problem_type: str,
    class_count: int | None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    concurrency: int = 4,
) -> np.ndarray:
    """Send ``features_csv`` through ``invoke`` in request-sized chunks and parse every answer.

    ``invoke(body) -> response body`` is the one I/O call (``InvokeEndpoint`` with
    ``ContentType`` and ``Accept`` ``text/csv``); up to ``concurrency`` chunks are in flight at once
    and the predictions come back in row order.
    """
    chunks = list(batch_rows(features_csv, max_bytes=max_bytes))

    def one(chunk: bytes) -> np.ndarray:
        return parse_predictions(invoke(chunk), problem_type, class_count, count_rows(chunk))

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        parts = list(pool.map(one, chunks))
    if parts:
        return np.concatenate(parts)
    if problem_type == MULTICLASS:
        return np.empty((0, class_count or 0))
    return np.empty(0)


__all__ = ["BINARY", "MULTICLASS", "REGRESSION", "count_rows", "parse_predictions", "predict_in_batches"]
