"""``sagedrop predict`` and ``sagedrop local predict``: a raw CSV of any size through an endpoint.

sagedrop predict ENDPOINT INPUT.csv --out PRED.csv                      (AWS, your credentials)
sagedrop local predict ENDPOINT INPUT.csv --out PRED.csv [--state-dir]  (an endpoint kept locally)

The input is the upload's columns, the label column optional (the endpoint ignores it), with a
header line unless ``--no-header``. It goes in requests under the payload limit, a few in flight
(sagedrop.predicting); the output is the input's columns, then ``predicted_label`` and, for a
classifier, ``probability``. Memory stays bounded by the requests in flight, whatever the file's size.
A bad row ends the command with the endpoint's message, naming the row of the input and the column.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import IO

from sagedrop.aws.runtime import EndpointInvoker
from sagedrop.errors import EndpointRejected, InvalidPredictionError
from sagedrop.limits import DEFAULT_ROWS_PER_REQUEST, SERVERLESS_EVALUATION_BATCH_BYTES
from sagedrop.names import RUN_ID_TAG
from sagedrop.predicting import Invoke, answer_rows, iter_chunks, predict_chunks
from sagedrop.scoring.csvstream import PREDICTION_COLUMNS
from sagedrop_local.files import writable_file, writable_folder


class _Progress:
    """``\\r``-updated share of the input read, on a terminal; nothing when stderr is not one."""

    def __init__(self, stream: IO[str], total_bytes: int) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.live = stream.isatty()

    def update(self, done_bytes: int, rows: int) -> None:
        if self.live:
            self.stream.write(f"\r  {min(done_bytes / self.total, 1):6.1%}  {rows:,} rows")
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


class _CountingReader:
    """The input's lines as text, and how far into the file (in bytes) reading has got."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        self._raw = raw

    def __iter__(self):
        return iter(self._text)

    def position(self) -> int:
        return self._raw.tell()


def predict_file(
    source: Path,
    destination: Path,
    invoke: Invoke,
    *,
    has_header: bool = True,
    max_bytes: int = SERVERLESS_EVALUATION_BATCH_BYTES,
    max_rows: int = DEFAULT_ROWS_PER_REQUEST,
    concurrency: int = 4,
    progress: IO[str] = sys.stderr,
) -> int:
    """Write ``destination`` (input columns + predictions) for ``source``; returns the rows predicted.

    The output is written next to ``destination`` and renamed into place at the end, so a failed
    command never leaves half a file under the name asked for.
    """
    with (
        source.open("rb") as raw,
        tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=destination.parent, prefix=f".{destination.name}.", delete=False
        ) as out,
    ):
        try:
            reader = _CountingReader(raw)
            meter = _Progress(progress, source.stat().st_size)
            writer = csv.writer(out, lineterminator="\n")
            rows = 0
            chunks = iter_chunks(reader, has_header=has_header, max_bytes=max_bytes, max_rows=max_rows)
            for chunk, answer in predict_chunks(chunks, invoke, concurrency=concurrency):
                answers = answer_rows(answer, len(chunk.records))
                if rows == 0:
                    width = len(answers[0]) if answers else 1
                    columns = chunk.header or [f"column_{i + 1}" for i in range(len(chunk.records[0]))]
                    writer.writerow([*columns, *PREDICTION_COLUMNS[:width]])
                writer.writerows(record + answer_row for record, answer_row in zip(chunk.records, answers, strict=True))
                rows += len(chunk.records)
                meter.update(reader.position(), rows)
            meter.close()
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    os.replace(out.name, destination)
    return rows


def _check_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    source, destination = Path(args.input), Path(args.out)
    if not source.is_file():
        raise SystemExit(f"sagedrop: {source}: {'is a directory' if source.is_dir() else 'no such file'}")
    return source, writable_file(destination)


def _run(args: argparse.Namespace, stream: IO[str], runtime_client) -> int:
    source, destination = _check_paths(args)  # again: cheap, and the paths may have changed meanwhile
    invoker = EndpointInvoker(runtime_client, args.endpoint)
    try:
        rows = predict_file(
            source,
            destination,
            invoker.invoke,
            has_header=not args.no_header,
            max_rows=args.rows_per_request,
            concurrency=args.concurrency,
        )
    except (EndpointRejected, InvalidPredictionError) as error:
        stream.write(f"sagedrop: {source}: {error}\n")
        return 1
    except UnicodeDecodeError as error:
        stream.write(f"sagedrop: {source}: not UTF-8 text (byte {error.start:,})\n")
        return 1
    except csv.Error as error:  # a field over the csv module's limit: an unclosed quote
        stream.write(f"sagedrop: {source}: not readable as CSV ({error}; a quote opened and never closed?)\n")
        return 1
    stream.write(f"predicted {rows:,} rows: {destination}\n")
    return 0


def predict_command(args: argparse.Namespace, stream: IO[str]) -> int:
    """Against AWS: the endpoint in your account and region (boto3's usual credentials and region)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sagedrop.aws.clients import RetryPolicy, client

    try:
        return _run(args, stream, client("sagemaker-runtime", retries=RetryPolicy.SELF))
    except (ClientError, BotoCoreError) as error:
        stream.write(f"sagedrop: endpoint {args.endpoint}: {error}\n")
        return 1


def local_predict_command(args: argparse.Namespace, stream: IO[str]) -> int:
    """Against an endpoint kept by a local run (through a running ``local up`` when there is one)."""
    from botocore.exceptions import ClientError

    from sagedrop_local.cli import _cloud

    _check_paths(args)
    writable_folder(Path(args.state_dir), "--state-dir", "the local SageMaker's state")
    with (
        tempfile.TemporaryDirectory(prefix="sagedrop-predict-") as work,
        _cloud(Path(args.state_dir), Path(work), sys.stderr) as cloud,
    ):
        try:
            _restore_endpoint_run(cloud, args.endpoint, Path(args.state_dir))
            return _run(args, stream, cloud.client("sagemaker-runtime"))
        except ClientError as error:
            stream.write(f"sagedrop: endpoint {args.endpoint}: {error.response.get('Error', {}).get('Message')}\n")
            return 1


def _restore_endpoint_run(cloud, endpoint: str, state_dir: Path) -> None:
    """The local bucket lives as long as its process: put back the kept run whose model the endpoint serves."""
    from sagedrop_local.score_cli import restore_run

    sagemaker = cloud.client("sagemaker")
    arn = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}
    if tags.get(RUN_ID_TAG):
        restore_run(cloud, tags[RUN_ID_TAG], state_dir)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows-per-request",
        type=int,
        default=DEFAULT_ROWS_PER_REQUEST,
        metavar="N",
        help="rows per request (default %(default)s; raw rows grow when featurized, and what one container of "
        "the model hands the next is limited)",
    )
    parser.add_argument("endpoint", metavar="ENDPOINT", help="the endpoint's name (run.json: resources.endpoint)")
    parser.add_argument("input", metavar="INPUT.csv", help="rows with the upload's columns (the label may be left out)")
    parser.add_argument(
        "--out", metavar="PRED.csv", required=True, help="where to write the input with its predictions"
    )
    parser.add_argument(
        "--no-header", action="store_true", help="the input has no header line (columns in upload order)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        choices=range(1, 17),
        metavar="N",
        help="requests in flight (1-16, default 4)",
    )
