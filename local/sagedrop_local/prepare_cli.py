"""``sagedrop prepare``: the pipeline's preprocessing on your machine, and the plan of a run, before any cost.

It runs exactly what "Prepare the data" runs (``sagedrop.dataset.streaming``, reading the CSV twice
as a stream, never whole) and writes into DIR what the run would write under ``runs/<run-id>/``:
``data/<split>/part-*.csv``, ``data/raw/test.csv``, ``schema.json`` and ``data_report.json``. It
prints the problem type, the label, each column and what happens to it, where the cloud run would
preprocess, and an estimate of the run's cost and duration. No AWS account is used.
"""

from __future__ import annotations

import argparse
import time
import zlib
from pathlib import Path
from typing import IO

#: Typical durations of a run's steps (bank-full on the default instances), for the estimate only.
TYPICAL_TRAINING_SECONDS = 240
TYPICAL_ENDPOINT_SECONDS = 900
TYPICAL_STATE_TRANSITIONS = 150
#: The preprocessing Lambda's memory (template.yaml's PreprocessFunction).
PREPROCESS_LAMBDA_MB = 3_008
#: CSV the preparation reads per second on one Lambda (both passes), for the duration estimate.
TYPICAL_PREPARE_BYTES_PER_SECOND = 4 * 1024 * 1024


def add_parser(commands: argparse._SubParsersAction) -> None:
    prepare = commands.add_parser(
        "prepare",
        help="run the pipeline's preprocessing locally and print the plan of a run (no cloud)",
        description=__doc__.split("\n\n", 1)[1],
    )
    prepare.add_argument("csv", metavar="INPUT.csv", help="the CSV file (.csv or .csv.gz)")
    prepare.add_argument(
        "--label", metavar="COL", help="the label column (default: y/label/target/class, else the last)"
    )
    prepare.add_argument("--config", metavar="FILE.json", help="a run configuration, as a folder's sagedrop.json")
    prepare.add_argument(
        "--out", metavar="DIR", required=True, help="where the splits, schema.json and data_report.json go"
    )
    prepare.set_defaults(handler=prepare_command)


def prepare_command(args: argparse.Namespace, stream: IO[str]) -> int:
    from sagedrop.dataset.options import PrepareOptions
    from sagedrop.errors import (
        DataLeakageError,
        InvalidConfigError,
        InvalidCsvError,
        LabelNotFoundError,
        UnusableLabelError,
    )
    from sagedrop.preparation.core import DirStore, prepare_upload
    from sagedrop.run_config import resolve_run_config
    from sagedrop_local.cli import load_run_config
    from sagedrop_local.files import open_input, writable_folder

    path = Path(args.csv)
    opener, name, size = open_input(path)
    out = writable_folder(Path(args.out), "--out", "the splits, schema.json and data_report.json")
    source = f"incoming/{Path(name).stem}/{name if name.lower().endswith('.csv') else name + '.csv'}"
    try:
        override = load_run_config(args.config, label=args.label)
        config = resolve_run_config(
            {}, override, source=f"--config {args.config}" if args.config else "the command line"
        )
        started = time.perf_counter()
        # exactly the pipeline's preparation, into a folder instead of the run's S3 prefix
        outcome = prepare_upload(opener, PrepareOptions.of(config), source, DirStore(out))
    except (InvalidConfigError, InvalidCsvError, LabelNotFoundError, UnusableLabelError, DataLeakageError) as error:
        raise SystemExit(f"sagedrop: {error}") from None
    except (OSError, EOFError, zlib.error) as error:
        raise SystemExit(f"sagedrop: {path}: cannot be read ({error})") from None
    seconds = time.perf_counter() - started
    _print_plan(stream, outcome, config, size, seconds, out)
    return 0


def _print_plan(stream: IO[str], outcome, config, size: int, seconds: float, out: Path) -> None:
    from sagedrop.dataset.profile import action_of
    from sagedrop.limits import LAMBDA_PREPROCESS_MAX_BYTES

    schema = outcome.schema
    rows = schema["rows"]
    write = stream.write
    write(f"sagedrop prepare: {schema['source']} ({size:,} bytes) in {seconds:.1f} s\n")
    write(f"  label {schema['label']!r}: {schema['problem_type']}")
    if schema["label_mapping"] is not None:
        write(f", classes {', '.join(map(str, schema['label_mapping']))}")
    write("\n")
    write(
        f"  rows: {rows['input']:,} read, {rows['dropped_missing_label']:,} without a label dropped; "
        f"train {rows['train']:,}, validation {rows['validation']:,}, test {rows['test']:,}\n"
    )
    write(f"  {schema['feature_count']:,} features from {len(schema['source_columns']):,} columns:\n")
    for column, encoding in schema["encodings"].items():
        write(f"    {column!r}: {action_of(encoding)}\n")
    sampled = outcome.data_report.get("sampled")
    if sampled:
        write(f"  data report: from a sample of {sampled['rows']:,} of {sampled['of_rows']:,} rows\n")
    limit = f"{LAMBDA_PREPROCESS_MAX_BYTES / 2**20:,.0f} MiB"
    if size <= LAMBDA_PREPROCESS_MAX_BYTES:
        where = f"the preprocessing Lambda (uploads up to {limit}, the stack's default LambdaPrepareMaxBytes)"
    else:
        where = (
            f"a SageMaker Processing job running the same code on the scikit-learn image (uploads above {limit}, "
            "the stack's default LambdaPrepareMaxBytes)"
        )
    write(f"  in the cloud, preprocessing would run on {where}\n")
    write(_estimate(config, size))
    write(f"  wrote {out}: schema.json, data_report.json, data/raw/test.csv, ")
    write(", ".join(f"{split} {len(parts)} part(s)" for split, parts in outcome.parts.items()) + "\n")


def _estimate(config, size: int) -> str:
    from sagedrop.pricing import LambdaUse, estimate_run_cost

    prepare_seconds = max(1.0, size / TYPICAL_PREPARE_BYTES_PER_SECOND)
    serverless = config.serverless
    cost = estimate_run_cost(
        training_instance_type=config.training_instance_type,
        training_billable_seconds=TYPICAL_TRAINING_SECONDS,
        endpoint_instance_type=None if serverless else config.endpoint_instance_type,
        endpoint_seconds=TYPICAL_ENDPOINT_SECONDS,
        serverless_memory_mb=serverless.memory_size_mb if serverless else None,
        state_transitions=TYPICAL_STATE_TRANSITIONS,
        lambda_invocations=[LambdaUse(prepare_seconds, PREPROCESS_LAMBDA_MB)],
    )
    minutes = (prepare_seconds + TYPICAL_TRAINING_SECONDS + TYPICAL_ENDPOINT_SECONDS) / 60
    total = cost["total_usd"]
    note = "" if cost["complete"] else " (an instance type without a price is left out)"
    return (
        f"  estimated cloud cost of the run: ${total:.2f}{note}, about {minutes:.0f} minutes — an estimate from "
        f"typical durations ({TYPICAL_TRAINING_SECONDS // 60} min training on {config.training_instance_type}, "
        f"{TYPICAL_ENDPOINT_SECONDS // 60} min endpoint) and prices as of {cost['prices_as_of']}\n"
    )
