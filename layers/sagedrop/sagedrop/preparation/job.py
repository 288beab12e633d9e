"""The preparation job's entry point: ``python3 prepare.pyz --job FILE --upload DIR --output DIR --outcome DIR``.

Runs in a SageMaker Processing job on the scikit-learn image for uploads above the stack's
LambdaPrepareMaxBytes (see sagedrop.pipeline.preparation_job), the same ``prepare_upload`` the
preprocessing Lambda runs. ``--upload`` is the folder the job's input filled with the one CSV,
``--output`` the folder Processing uploads to ``runs/<run-id>/`` when the job ends (``--public-prefix``
is that S3 prefix, so that messages name the files where the run will have them), ``--outcome`` the
folder uploaded to ``runs/<run-id>/preparation/output/``, which receives ``outcome.json``:

``{"parts": {"train": [...], "validation": [...], "test": [...]}, "raw_test_bytes": N}`` or
``{"error": {"type": "InvalidCsvError", "message": "..."}}``

Bad input is an outcome, not a crash: the job ends Completed (so that its outputs, the data report
among them, are uploaded) and "Check the preparation job" raises the same named error the Lambda
raises. Anything else (a bug, no memory) fails the job, and the run ends with PreparationJobFailed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sagedrop.dataset.options import PrepareOptions
from sagedrop.errors import (
    DataLeakageError,
    InvalidConfigError,
    InvalidCsvError,
    LabelNotFoundError,
    UnusableLabelError,
)
from sagedrop.preparation.core import DirStore, json_bytes, prepare_upload

OUTCOME_FILE = "outcome.json"
#: The named errors of bad input the job reports for the check step to raise again.
RECORDED_ERRORS = (InvalidCsvError, LabelNotFoundError, UnusableLabelError, DataLeakageError, InvalidConfigError)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sagedrop-prepare")
    parser.add_argument("--job", required=True, help="job.json: source, public_prefix and the PrepareOptions")
    parser.add_argument("--upload", required=True, help="folder holding the uploaded CSV (one file)")
    parser.add_argument("--output", required=True, help="folder published as the run's prefix")
    parser.add_argument("--outcome", required=True, help="folder for outcome.json")
    return parser.parse_args(argv)


def upload_file(folder: Path) -> Path:
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    if len(files) != 1:  # the start step copies exactly one object there
        raise RuntimeError(f"expected one uploaded file in {folder}, found {len(files)}")
    return files[0]


def run(arguments: argparse.Namespace) -> dict:
    job = json.loads(Path(arguments.job).read_text(encoding="utf-8"))
    options = PrepareOptions.from_dict(job["options"])
    upload = upload_file(Path(arguments.upload))
    store = DirStore(Path(arguments.output), job.get("public_prefix", ""))
    try:
        # the spill goes beside the upload, on the job's volume, where nothing is published
        outcome = prepare_upload(lambda: upload.open("rb"), options, job["source"], store, str(upload.parent))
    except RECORDED_ERRORS as error:
        return {"error": {"type": type(error).__name__, "message": str(error)}}
    return {"parts": outcome.parts, "raw_test_bytes": outcome.raw_test_bytes}


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    result = run(arguments)
    folder = Path(arguments.outcome)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OUTCOME_FILE).write_bytes(json_bytes(result))
    print(json.dumps(result.get("error") or {"parts": {split: len(names) for split, names in result["parts"].items()}}))
    return 0
