"""The run state: the document statemachine/pipeline.asl.json passes from step to step.

    {
      "run_id": "bank-full-1a2b3c4d5e6f7a8b",
      "source": {"bucket": "...", "key": "incoming/bank-full.csv", "version_id": "...", "etag": "..."},
      "poll": {"interval_seconds": 60, "max_polls": 60},
      "execution_arn": "...",                                 # added by the first Pass state
      "prepared": {"config": {...}, "dataset": {...}},        # preprocess
      "training": {"job_name": "...", "status": "...", "polls": 3, ...},
      "endpoint": {"endpoint_name": "...", "status": "...", "polls": 2, ...},
      "evaluation": {"evaluation_key": "...", "headline": {...}},
      "failure": {"Error": "InvalidCsvError", "Cause": "..."}  # set by a Catch or a failure Pass
    }

Steps read what earlier steps wrote through these helpers, so a malformed document fails with
InvalidEventError naming the missing field instead of a KeyError deep inside a step.
"""

from __future__ import annotations

from typing import Any

from sagedrop.errors import InvalidEventError


def require(document: dict, path: str) -> Any:
    """The value at a dotted ``path`` of the run state, or InvalidEventError naming the path."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise InvalidEventError(f"run state has no '{path}'")
        value = value[part]
    return value


def optional(document: dict, path: str, default: Any = None) -> Any:
    try:
        return require(document, path)
    except InvalidEventError:
        return default
