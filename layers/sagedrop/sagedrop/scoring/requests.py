"""Staged Batch Transform input: JSON requests of many rows, one a line, for the run's inference pipeline.

A transform job with ``SplitType: Line`` and ``BatchStrategy: SingleRecord`` sends each line as one
request (MultiRecord fails on the serial pipeline, sagemaker-python-sdk#4042). One row a line would
make a million requests of a million rows, each through three containers: hours where a few
thousand requests take minutes. A line is therefore ``{"instances": [{column: value}, …]}``, which
the featurizer reads exactly as the CSV fields the values were (``sagedrop.inference.featurizer``),
holding up to :func:`rows_per_request` rows and up to ``REQUEST_TARGET_BYTES`` of JSON. JSON escapes
line breaks, so a value holding one stays whole. Both staged transforms use it: the evaluation's
(``sagedrop.pipeline.evaluation_transform``) and a scoring's (``sagedrop.scoring.staging``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sagedrop.errors import InvalidCsvError
from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES
from sagedrop.predicting import rows_per_request as rows_whose_features_fit

#: The transform job's MaxPayloadInMB, and what one staged request may hold: an invocation's limit.
MAX_PAYLOAD_IN_MB = INVOKE_ENDPOINT_MAX_BYTES // (1024 * 1024)
MAX_RECORD_BYTES = MAX_PAYLOAD_IN_MB * 1024 * 1024
#: Rows in one request, at most; and the JSON a request is filled up to (it may carry MAX_RECORD_BYTES,
#: but smaller ones keep MaxConcurrentTransforms of them busy).
MAX_ROWS_PER_REQUEST = 1000
REQUEST_TARGET_BYTES = 1024 * 1024

_OPEN, _CLOSE = '{"instances":[', "]}\n"


def rows_per_request(feature_count: int) -> int:
    """MAX_ROWS_PER_REQUEST, or fewer: as many rows as surely fit between two pipeline containers."""
    return min(MAX_ROWS_PER_REQUEST, rows_whose_features_fit(max(1, feature_count)))


def instance_json(instance: dict[str, str]) -> str:
    """One row's JSON object, ASCII only (``ensure_ascii``), so its length is its size in bytes."""
    return json.dumps(instance, separators=(",", ":"))


def request_bytes(instance: str) -> int:
    """The size of a request holding only this row."""
    return len(_OPEN) + len(instance) + len(_CLOSE)


class RequestLines:
    """Fills requests with rows and writes each line through ``write`` once full; ``close`` writes the last."""

    def __init__(
        self,
        write: Callable[[str], None],
        rows_per_line: int,
        target_bytes: int = REQUEST_TARGET_BYTES,
        max_request_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self._write = write
        self._rows_per_line = rows_per_line
        self._target_bytes = target_bytes
        self._max_request_bytes = max_request_bytes
        self._rows: list[str] = []
        self._size = 0

    def add(self, instance: str, where: str) -> None:
        """Add one row (its :func:`instance_json`); a full request is written first.

        Raises InvalidCsvError naming the row (``where``: "line 7") when it alone is over what a
        request may carry: the job would fail on it, so it is refused before the job starts.
        """
        if request_bytes(instance) > self._max_request_bytes:
            raise InvalidCsvError(
                f"{where} is {request_bytes(instance):,} bytes as a request: a transform request carries "
                f"at most {self._max_request_bytes:,}"
            )
        if self._rows and (
            len(self._rows) >= self._rows_per_line or self._size + 1 + len(instance) > self._target_bytes
        ):
            self._flush()
        self._size = (self._size + 1 if self._rows else len(_OPEN) + len(_CLOSE)) + len(instance)
        self._rows.append(instance)

    def close(self) -> None:
        if self._rows:
            self._flush()

    def _flush(self) -> None:
        self._write(_OPEN + ",".join(self._rows) + _CLOSE)
        self._rows = []
