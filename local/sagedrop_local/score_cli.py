"""``sagedrop local score RUN_ID INPUT.csv --out FILE``: scoring by drop, on the local cloud.

The same path as in AWS: the file is uploaded as ``score/<RUN_ID>/<name>.csv``, the template's
EventBridge rule hands the event to the starter, the scoring state machine runs (a Batch Transform
job of the local SageMaker with the run's model, no endpoint), and ``scores/<RUN_ID>/<name>.csv``
is downloaded to FILE. A running ``local up`` serving the state directory is used when there is one.

A local run's bucket lives in memory and ends with its process, so ``sagedrop local run`` keeps what
scoring needs of a run that succeeded (run.json, schema.json, the model and the inference tarball)
in the state directory (``runs/<run-id>/``); this command puts it back into the bucket when the
bucket does not have the run. Exit 0 when the scoring SUCCEEDED, 1 with its error in one line
otherwise (an unknown run id: RunNotFoundError; a wrong column: ColumnMismatchError naming it).
Ctrl-C stops the scoring, which the stack's scoring backstop records in status.json (exit 130).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from sagedrop.scoring.keys import SCORE_PREFIX, ScoringTarget, scores_key, status_key
from sagedrop_local.files import read_input, writable_file, writable_folder

KEPT_RUNS = "runs"
#: What of a run scoring reads: the record, the schema (everything else it needs is named in run.json).
_RECORD_FILES = ("run.json", "schema.json")


def _kept_dir(state_dir: Path, run_id: str) -> Path:
    return Path(state_dir) / KEPT_RUNS / run_id


def _run_keys(record: dict, bucket: str) -> list[str]:
    """The keys of a run a scoring reads: run.json, schema.json, the trained model, the inference tarball."""
    prefix = f"s3://{bucket}/"
    uris = [
        (record.get("resources") or {}).get("model_artifact"),
        (record.get("dataset") or {}).get("inference_artifact"),
        (record.get("resources") or {}).get("inference_artifact"),  # the deployed one, threshold packed in
    ]
    keys = [f"runs/{record['run_id']}/{name}" for name in _RECORD_FILES]
    keys += [uri[len(prefix) :] for uri in uris if isinstance(uri, str) and uri.startswith(prefix)]
    return keys


def keep_run(cloud: Any, run_id: str, state_dir: Path) -> Path | None:
    """Copy what scoring needs of a run that succeeded into the state directory; None for any other run."""
    try:
        record = json.loads(cloud.read(f"runs/{run_id}/run.json"))
    except Exception:  # noqa: BLE001 - no record, nothing to keep
        return None
    if record.get("status") != "SUCCEEDED":
        return None
    target = _kept_dir(state_dir, run_id)
    for key in _run_keys(record, cloud.bucket):
        path = target / key.removeprefix(f"runs/{run_id}/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cloud.read(key))
    return target


def restore_run(cloud: Any, run_id: str, state_dir: Path) -> bool:
    """Put a kept run back into the bucket unless it is there; False when there is neither."""
    if cloud.keys(f"runs/{run_id}/run.json"):
        return True
    kept = _kept_dir(state_dir, run_id)
    if not (kept / "run.json").is_file():
        return False
    for path in sorted(p for p in kept.rglob("*") if p.is_file()):
        cloud.put_object(f"runs/{run_id}/{path.relative_to(kept).as_posix()}", path.read_bytes())
    return True


def _read_input(path: Path) -> tuple[bytes, str]:
    data, name = read_input(path)
    return data, name.removesuffix(".csv").removesuffix(".CSV")


def _check_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    return Path(args.input), writable_file(Path(args.out))


def _download(cloud: Any, key: str, destination: Path) -> None:
    """Stream the object to ``destination``, renamed into place at the end (never half a file)."""
    body = cloud.s3.get_object(Bucket=cloud.bucket, Key=key)["Body"]
    with tempfile.NamedTemporaryFile(dir=destination.parent, prefix=f".{destination.name}.", delete=False) as out:
        try:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                out.write(chunk)
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(out.name, 0o666 & ~umask)  # a temporary file is private; the result is an ordinary file
    os.replace(out.name, destination)


def _one_line(final: dict) -> str:
    from sagedrop.pipeline.run_record import describe_failure

    error = describe_failure({"Error": final.get("error"), "Cause": final.get("cause")}) or {}
    return f"{error.get('error')}: {error.get('message')}"


def score_command(args: argparse.Namespace, stream: IO[str]) -> int:
    from sagedrop_local.cli import INTERRUPTED_STATUS, LocalCloud, ProgressPrinter, _cloud, _interrupted_outcome
    from sagedrop_local.interrupt import stop_execution, wakeable_retry_waits

    source, destination = _check_paths(args)
    data, name = _read_input(source)
    state_dir = writable_folder(Path(args.state_dir), "--state-dir", "the local SageMaker's state and the kept runs")
    key = f"{SCORE_PREFIX}{args.run_id}/{name}.csv"
    started = time.perf_counter()
    stream.write(f"sagedrop local score: {source} ({len(data):,} bytes) with run {args.run_id}\n")
    with (
        _cloud(state_dir, state_dir / "score", stream) as cloud,
        wakeable_retry_waits(enabled=isinstance(cloud, LocalCloud)) as wake,
    ):
        if not restore_run(cloud, args.run_id, state_dir):
            stream.write(f"  run {args.run_id} is neither in the bucket nor kept in {state_dir / KEPT_RUNS}\n")
        outcome = cloud.start_scoring(data, key)
        stream.write(f"  uploaded s3://{cloud.bucket}/{key}\n")
        if not outcome.get("started"):
            stream.write(f"sagedrop: no scoring started: {outcome.get('reason')}\n")
            return 2
        try:
            final = cloud.wait(outcome["execution_arn"], on_event=ProgressPrinter(stream))
        except KeyboardInterrupt:
            stream.write(f"\n  interrupted: stopping scoring {outcome['scoring_id']}\n")
            final, backstop = stop_execution(cloud, outcome["execution_arn"], wake, command="score")
            what = _interrupted_outcome(final["status"], backstop, record="status.json")
            stream.write(f"sagedrop: interrupted: scoring {outcome['scoring_id']} {what}\n")
            return INTERRUPTED_STATUS
        if final["status"] != "SUCCEEDED":
            stream.write(f"\nscoring {final['status'].lower()}: {_one_line(final)}\n")
            return 1
        target = ScoringTarget(args.run_id, name)
        _download(cloud, scores_key(target), destination)
        status = json.loads(cloud.read(status_key(target)))
    wall = time.perf_counter() - started
    stream.write(f"\nscored {status.get('rows') or 0:,} rows in {wall:.1f} s: {destination}\n")
    return 0


def add_parser(local_commands: Any, default_state_dir: Path) -> None:
    score = local_commands.add_parser(
        "score",
        help="score a CSV of raw rows with a run's model, as dropping it under score/<run-id>/ does",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("run_id", metavar="RUN_ID", help="the run whose model scores (run.json: run_id)")
    score.add_argument("input", metavar="INPUT.csv", help="rows with the upload's columns and a header line")
    score.add_argument("--out", metavar="FILE", required=True, help="where to write the rows with their predictions")
    score.add_argument(
        "--state-dir",
        metavar="DIR",
        default=str(default_state_dir),
        help="the local SageMaker's state and the kept runs (default: %(default)s)",
    )
    score.set_defaults(handler=score_command)
