"""Read what an algorithm container answers: scores per row, whatever the container and format.

**Built-in XGBoost, ``text/csv``** (``aws/sagemaker-xgboost-container``,
``algorithm_mode/serve.py``, ``invocations()``): a real-time answer is
``encoders.encode(preds.tolist(), accept)``, which for CSV is ``sagemaker_containers``'
``_encoders.array_to_csv``: a ``csv.writer`` over ``preds`` made 2-D, so **one row per line** —
``0.0123\\n0.9871\\n`` for ``binary:logistic`` and regression, ``0.1,0.2,0.7\\n0.3,0.3,0.4\\n`` for
``multi:softprob``. Batch transform (``SAGEMAKER_BATCH``) writes ``"\\n".join(map(str, preds))``, so
a softprob row is the *bracketed* Python list ``[0.1, 0.2, 0.7]``. Containers before 2022 answered
one flat line ``0.0123,0.9871`` (``",".join(...)``). All of these are read.

**JSON** — the common inference format of the built-in algorithms: ``{"predictions": [{"score": …},
…]}``, or for ``application/jsonlines`` one ``{"score": …}`` object per line. XGBoost writes it for
``Accept: application/json`` (``serve_utils.encode_predictions_as_json``); Linear Learner answers
only these (no CSV), with ``"score"`` = P(class 1) for ``binary_classifier``, the list of K class
probabilities for ``multiclass_classifier``, the value for ``regressor`` (its ``predicted_label`` is
ignored: the decoder applies its own threshold).

Every reader returns, for n rows: binary — shape ``(n,)``, P(class 1) (a two-column softprob answer
is reduced to its second column); multiclass — ``(n, K)`` class probabilities (a ``multi:softmax``
class index becomes a one-hot row); regression — ``(n,)`` values. Anything else raises
:class:`~sagedrop.errors.InvalidPredictionError`, so a container change shows up as an error rather
than as wrong labels.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from sagedrop.dataset.label import BINARY, MULTICLASS, REGRESSION
from sagedrop.errors import InvalidPredictionError
from sagedrop.inference.media import CSV, JSON, JSONLINES, media_type

PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)

_BRACKETED_ROW = re.compile(rb"\[([^\[\]]*)\]")
_VALUE_SEPARATOR = re.compile(rb"[\s,]+")
# Sums of float32 probabilities drift by ~1e-7; anything further off is not a softprob output.
_PROBABILITY_TOLERANCE = 1e-3


def parse_answer(
    body: bytes | str,
    content_type: str | None,
    problem_type: str,
    class_count: int | None,
    expected_rows: int | None = None,
) -> np.ndarray:
    """Scores from an algorithm container's answer of ``content_type`` (``text/csv`` or JSON)."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    media = media_type(content_type)
    if media == CSV:
        return parse_predictions(data, problem_type, class_count, expected_rows)
    if media == JSON:
        return parse_json_predictions(data, problem_type, class_count, expected_rows)
    if media == JSONLINES:
        return parse_jsonlines_predictions(data, problem_type, class_count, expected_rows)
    raise InvalidPredictionError(f"cannot read an algorithm answer of content type {content_type!r}")


def parse_predictions(body: bytes, problem_type: str, class_count: int | None, expected_rows: int | None) -> np.ndarray:
    """Scores from a ``text/csv`` answer; ``expected_rows`` (when known) is checked."""
    _check_problem_type(problem_type, class_count)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPredictionError(f"response is not UTF-8 text: {_snippet(body)}") from None
    rows, flat = _rows(body)
    values = _to_float(rows, body)
    if flat and problem_type == MULTICLASS and values.shape[0]:
        # One flat line of n*K numbers: the rows were joined without brackets.
        if expected_rows is not None and values.shape[0] == expected_rows * class_count:
            values = values.reshape(expected_rows, class_count)
        elif expected_rows is None and values.shape[0] % class_count == 0:
            values = values.reshape(-1, class_count)
    return _scores(values, problem_type, class_count, expected_rows, body)


def parse_json_predictions(
    body: bytes, problem_type: str, class_count: int | None, expected_rows: int | None = None
) -> np.ndarray:
    """Scores from a ``{"predictions": [{"score": …}, …]}`` answer."""
    _check_problem_type(problem_type, class_count)
    try:
        predictions = json.loads(body)["predictions"]
        scores = [prediction["score"] for prediction in predictions]
    except (ValueError, KeyError, TypeError):
        raise InvalidPredictionError(f'expected {{"predictions": [{{"score": …}}, …]}}: {_snippet(body)}') from None
    return _json_scores(scores, problem_type, class_count, expected_rows, body)


def parse_jsonlines_predictions(
    body: bytes, problem_type: str, class_count: int | None, expected_rows: int | None = None
) -> np.ndarray:
    """Scores from an ``application/jsonlines`` answer: one ``{"score": …}`` object per line."""
    _check_problem_type(problem_type, class_count)
    try:
        scores = [json.loads(line)["score"] for line in body.splitlines() if line.strip()]
    except (ValueError, KeyError, TypeError):
        raise InvalidPredictionError(f'expected one {{"score": …}} object per line: {_snippet(body)}') from None
    return _json_scores(scores, problem_type, class_count, expected_rows, body)


def _json_scores(
    scores: list[Any], problem_type: str, class_count: int | None, expected_rows: int | None, body: bytes
) -> np.ndarray:
    widths = {len(score) if isinstance(score, list) else 0 for score in scores}
    if len(widths) > 1:
        raise InvalidPredictionError(f"prediction scores have different shapes: {_snippet(body)}")
    if not all(_is_number(value) for score in scores for value in (score if isinstance(score, list) else [score])):
        raise InvalidPredictionError(f"prediction scores are not numbers: {_snippet(body)}")
    values = np.array(scores, dtype=float).reshape(len(scores), -1) if scores else np.zeros((0, 1))
    if not np.all(np.isfinite(values)):
        raise InvalidPredictionError(f"predictions contain NaN or infinity: {_snippet(body)}")
    return _scores(values, problem_type, class_count, expected_rows, body)


def normalize_scores(predictions: np.ndarray, problem_type: str, class_count: int | None) -> np.ndarray:
    """Scores from an in-process ``Booster.predict`` output, by the same rules as the answers."""
    _check_problem_type(problem_type, class_count)
    values = np.asarray(predictions, dtype=float)
    values = values.reshape(len(values), -1) if values.ndim else values.reshape(1, 1)
    if not np.all(np.isfinite(values)):
        raise InvalidPredictionError("predictions contain NaN or infinity")
    return _scores(values, problem_type, class_count, None, b"")


# --- shared shape rules -------------------------------------------------------------------------


def _check_problem_type(problem_type: str, class_count: int | None) -> None:
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"unknown problem type {problem_type!r}")
    if problem_type == MULTICLASS and (class_count is None or class_count < 2):
        raise ValueError(f"multiclass predictions need class_count >= 2, got {class_count}")


def _scores(
    values: np.ndarray, problem_type: str, class_count: int | None, expected_rows: int | None, body: bytes
) -> np.ndarray:
    """Apply the per-problem shape rules to a 2-D array of numbers (one row per answer row)."""
    rows, width = values.shape
    if expected_rows is not None and rows != expected_rows:
        if problem_type == MULTICLASS:
            expected, answered = f"{expected_rows} rows of {class_count} class probabilities", f"{rows} rows"
        else:
            expected, answered = f"{expected_rows} predictions", str(rows)
        raise InvalidPredictionError(f"expected {expected}, the endpoint answered {answered}: {_snippet(body)}")
    if problem_type == MULTICLASS:
        if rows and width == 1:  # multi:softmax answers the class index itself
            indexes = values[:, 0]
            if not np.all((indexes == np.round(indexes)) & (indexes >= 0) & (indexes < class_count)):
                raise InvalidPredictionError(
                    f"expected {class_count} class probabilities per row or a class index in "
                    f"0..{class_count - 1}: {_snippet(body)}"
                )
            return np.eye(class_count)[indexes.astype(int)]
        if rows and width != class_count:
            raise InvalidPredictionError(
                f"expected {class_count} class probabilities per row, got {width}: {_snippet(body)}"
            )
        values = values.reshape(rows, class_count)
        _check_probabilities(values, "class probabilities")
        if values.size and not np.allclose(values.sum(axis=1), 1.0, atol=_PROBABILITY_TOLERANCE):
            raise InvalidPredictionError(
                f"class probabilities do not sum to 1 (multi:softprob expected): {_snippet(body)}"
            )
        return values
    if width == 2 and problem_type == BINARY:
        values = values[:, 1:]
    if rows and values.shape[1] != 1:
        raise InvalidPredictionError(
            f"expected one value per row for {problem_type}, got {values.shape[1]}: {_snippet(body)}"
        )
    predictions = values.reshape(-1)
    if problem_type == BINARY:
        _check_probabilities(predictions, "binary predictions")
    return predictions


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
        raise InvalidPredictionError(f"prediction rows have different widths {sorted(widths)}: {_snippet(body)}")
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
