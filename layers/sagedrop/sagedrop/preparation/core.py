"""One preparation: scan the upload, write the data report, the splits and the schema.

The same function runs in the preprocessing Lambda (the store is the run's S3 prefix) and in the
Processing job (a local folder, uploaded to that prefix when the job ends), so both routes write the
same files under the same names. ``data_report.json`` comes first, and also when the data gate stops
the run (DataLeakageError), so that the reason can be read.

The inference tarball (``INFERENCE_FILE``) is built from ``schema.json`` by the Lambda of either
route (``sagedrop.pipeline.preparing.write_inference_tarball``): it packs the serving code from the
layer's source files, which a zip application does not have as files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.parts import DirSink, Sink
from sagedrop.dataset.spill import ChunkSpill
from sagedrop.dataset.stream import Opener
from sagedrop.dataset.streaming import RAW_TEST, Written, scan, write
from sagedrop.errors import DataLeakageError

#: Names relative to the run's prefix (``runs/<run-id>/``); the splits are ``parts.part_name``'s.
SCHEMA_FILE = "schema.json"
DATA_REPORT_FILE = "data_report.json"
INFERENCE_FILE = "inference/model.tar.gz"
RAW_TEST_FILE = RAW_TEST


class Store(Protocol):
    """Where one preparation writes; every method returns the written file's public location."""

    sink: Sink

    def write_json(self, name: str, document: Any) -> str: ...
    def write_bytes(self, name: str, data: bytes, content_type: str) -> str: ...


def json_bytes(document: Any) -> bytes:
    """The JSON files' text (both stores write it, so both routes write the same bytes)."""
    return json.dumps(document, indent=2, sort_keys=False, default=str).encode()


class DirStore:
    """A local folder (the Processing job's output) that will be published under ``public_prefix``."""

    def __init__(self, root: Path, public_prefix: str = "") -> None:
        self.root = Path(root)
        self.public_prefix = public_prefix
        self.sink = DirSink(self.root)

    def write_bytes(self, name: str, data: bytes, content_type: str) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return self.public_prefix + name if self.public_prefix else str(path)

    def write_json(self, name: str, document: Any) -> str:
        return self.write_bytes(name, json_bytes(document), "application/json")


@dataclass(frozen=True)
class Outcome:
    """What the caller needs to describe the prepared data: the schema, the data report, the part
    files of each split and the raw test split's size (the evaluation's route depends on it)."""

    schema: dict[str, Any]
    data_report: dict[str, Any]
    parts: dict[str, list[str]]
    raw_test_bytes: int


def prepare_upload(
    opener: Opener, options: PrepareOptions, source: str, store: Store, scratch: str | None = None
) -> Outcome:
    """Validate and prepare the CSV ``opener`` reads (as a stream); write every file into ``store``.

    Pass 1's reading of the upload is spilled to ``scratch`` (a local folder; the system's temporary
    one when None) for pass 2, within a share of its free space (``sagedrop.dataset.spill``).
    Raises the named errors of bad input (InvalidCsvError, LabelNotFoundError, UnusableLabelError,
    DataLeakageError after writing the data report); the upload itself is only read.
    """
    with ChunkSpill(scratch) as spill:
        try:
            plan = scan(opener, options, source=source, spill=spill)
        except DataLeakageError as error:
            if error.report is None:
                raise
            where = store.write_json(DATA_REPORT_FILE, error.report)
            raise DataLeakageError(f"{error} The data report: {where}", report=error.report) from None
        store.write_json(DATA_REPORT_FILE, plan.data_report)
        written: Written = write(opener, plan, store.sink, spill=spill)
    store.write_json(SCHEMA_FILE, plan.schema)
    return Outcome(
        schema=plan.schema, data_report=plan.data_report, parts=written.parts, raw_test_bytes=written.raw_test_bytes
    )
