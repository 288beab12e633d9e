"""Send the test split's features to an endpoint in request-sized chunks and read the answers.

Reading one answer (the XGBoost container's ``text/csv`` layouts, and the JSON of the built-in
algorithms) is :mod:`sagedrop.inference.responses`' job: the label decoder of the deployed model
and the evaluation share it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sagedrop.inference.responses import parse_predictions

from .batching import DEFAULT_MAX_BYTES, batch_rows
from .constants import BINARY, MULTICLASS, REGRESSION


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
