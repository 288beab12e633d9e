"""``sagedrop``: run the pipeline locally, or clean up what local runs left.

sagedrop local up [--port 4566] [--state-dir DIR]
sagedrop local run PATH.csv [--label COL] [--config FILE.json] [--out DIR] [--keep-endpoint]
sagedrop local cleanup [--dry-run] [--now ISO-TIME]
sagedrop local score RUN_ID INPUT.csv --out FILE [--state-dir DIR]

``run`` and ``cleanup`` use a ``local up`` serving the same state directory when one is running
(no start-up cost); otherwise they build the local cloud in their own process.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO

from sagedrop.pipeline.run_record import state_timings
from sagedrop_local import predict_cli, prepare_cli, score_cli
from sagedrop_local.cloud import REPO_ROOT, LocalCloud
from sagedrop_local.cloud_client import CloudClient, default_state_dir
from sagedrop_local.files import open_input, writable_folder
from sagedrop_local.interrupt import stop_execution, wakeable_retry_waits
from sagedrop_local.terminal import EscapingStream, one_line

#: The exit status of a command ended by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED_STATUS = 130


class ProgressPrinter:
    """One line per finished state, with its time and, for the checks, the status it saw."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.entered: dict[str, datetime] = {}

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            self.entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            name = details["name"]
            started = self.entered.pop(name, event["timestamp"])
            seconds = (event["timestamp"] - started).total_seconds()
            note = self._note(name, details.get("output"))
            self.stream.write(f"  ✓ {name:<34} {seconds:6.1f} s{note}\n")
            self.stream.flush()
        elif kind in {"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}:
            details = event.get("executionFailedEventDetails", {})
            self.stream.write(f"  ✗ {kind}: {details.get('error', '')}\n")

    @staticmethod
    def _note(name: str, output: str | None) -> str:
        section = _check_sections().get(name)
        if not output or section is None:
            return ""
        try:
            state = json.loads(output)
        except ValueError:
            return ""
        part = state.get(section) or {}
        return f"   {part.get('status')} (poll {part.get('polls')})" if part.get("status") else ""


@functools.cache
def _check_sections() -> dict[str, str]:
    """Each wait loop's Check state → the section of the state it writes (its ResultPath), runs and scorings."""
    sections = {}
    for machine in ("pipeline", "scoring"):
        states = json.loads((REPO_ROOT / "statemachine" / f"{machine}.asl.json").read_text())["States"]
        sections |= {
            name: state["ResultPath"].removeprefix("$.")
            for name, state in states.items()
            if name.startswith("Check") and str(state.get("ResultPath", "")).startswith("$.")
        }
    return sections


def _open_csv_argument(path: Path):
    """An opener of the CSV's bytes, its upload name and size; ``.csv.gz`` is decompressed as it is read,
    as the bucket wants ``.csv``; the file is never held whole (it is uploaded as a stream)."""
    opener, name, size = open_input(path)
    if not name.lower().endswith(".csv"):
        name += ".csv"
    return opener, name, size


def load_run_config(path: str | None, *, label: str | None = None, keep_endpoint: bool = False) -> dict | None:
    """The folder's sagedrop.json for a local run: ``--config``'s file with ``--label``/``--keep-endpoint`` over it.

    The file is read exactly as a sagedrop.json in the bucket (a JSON object, no duplicate keys, …);
    anything else raises InvalidConfigError naming ``--config FILE``. None: no file to upload.
    """
    from sagedrop.errors import InvalidConfigError
    from sagedrop.run_config import parse_override

    config: dict = {}
    if path:
        source = f"--config {path}"
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise InvalidConfigError(f"{source}: cannot read the file: {error.strerror or error}") from None
        config = parse_override(data, source)
    if label:
        config["label"] = label
    if keep_endpoint:
        config["keep_endpoint"] = True
    return config or None


def _run_config(args: argparse.Namespace) -> dict | None:
    from sagedrop.errors import InvalidConfigError

    try:
        return load_run_config(args.config, label=args.label, keep_endpoint=args.keep_endpoint)
    except InvalidConfigError as error:
        raise SystemExit(f"sagedrop: {error}") from None


def run_command(args: argparse.Namespace, stream: IO[str]) -> int:
    opener, name, size = _open_csv_argument(Path(args.csv))
    out = writable_folder(Path(args.out), "--out", "run.json, evaluation.json and report.html")
    config = _run_config(args)
    writable_folder(Path(args.state_dir), "--state-dir", "the local SageMaker's state")
    folder = f"incoming/{Path(name).stem}"
    started = time.perf_counter()
    stream.write(f"sagedrop local run: {args.csv} ({size:,} bytes)\n")
    parameters = _stack_parameters(args.parameter or [])
    with (
        _cloud(Path(args.state_dir), out, stream, parameters) as cloud,
        wakeable_retry_waits(enabled=isinstance(cloud, LocalCloud)) as wake,
    ):
        if config is not None:
            cloud.put_object(f"{folder}/sagedrop.json", json.dumps(config).encode(), "application/json")
        with opener() as source:
            outcome = cloud.start_run_from(source, f"{folder}/{name}")
        stream.write(f"  uploaded s3://{cloud.bucket}/{folder}/{name}\n")
        if not outcome.get("started"):
            stream.write(f"sagedrop: no run started: {outcome.get('reason')}\n")
            return 2
        run_id = outcome["run_id"]
        stream.write(f"  run {run_id}\n")
        stopped, backstop = False, None
        try:
            final = cloud.wait(outcome["execution_arn"], on_event=ProgressPrinter(stream))
        except KeyboardInterrupt:
            stream.write(f"\n  interrupted: stopping run {run_id}\n")
            stopped = True
            final, backstop = stop_execution(cloud, outcome["execution_arn"], wake)
        history = cloud.history(outcome["execution_arn"])
        cloud.download(f"runs/{run_id}/", out / "bucket")
        score_cli.keep_run(cloud, run_id, Path(args.state_dir))  # so `local score` finds it later
        notifications = cloud.notifications(mentioning=run_id)
        record = _write_outputs(out, cloud, run_id, final, history, notifications)
        endpoints_left = [e["EndpointName"] for e in cloud.client("sagemaker").list_endpoints()["Endpoints"]]
    if stopped:
        what = _interrupted_outcome(final["status"], backstop)
        stream.write(f"sagedrop: interrupted: run {run_id} {what}; details: {out / 'run.json'}\n")
        return INTERRUPTED_STATUS
    wall = time.perf_counter() - started
    return _summarise(stream, out, record, wall, endpoints_left)


def _interrupted_outcome(status: str, backstop: dict | None, record: str = "run.json") -> str:
    """What stopping the run or scoring did, from the execution's status and the backstop's answer, in a few words."""
    if backstop is None:
        if status == "RUNNING":  # a running local up's state machine, in a Retry's interval
            return "asked to stop; still RUNNING when this command ended (its failure is recorded once it stops)"
        return f"had already ended {status}"
    done = ["aborted", f"recorded in {record}" if backstop.get("recorded") else "not recorded"]
    done += [f"stopped {name}" for name in backstop.get("stopped") or []]
    done += [f"deleted {name}" for name in backstop.get("deleted") or []]
    return ", ".join(done)


def _stack_parameters(assignments: list[str]) -> dict[str, str]:
    """``--parameter NAME=VALUE`` options as stack parameter overrides, checked as CloudFormation checks them."""
    from sagedrop_local.stack import load_template, parameter_problem

    declared = load_template(REPO_ROOT / "template.yaml").get("Parameters", {})
    parameters: dict[str, str] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise SystemExit(f"sagedrop: --parameter {assignment!r}: expected NAME=VALUE")
        if name not in declared:
            raise SystemExit(
                f"sagedrop: --parameter {assignment!r}: template.yaml has no parameter {name!r} "
                f"(it has {', '.join(sorted(declared))})"
            )
        problem = parameter_problem(name, value, declared[name])
        if problem:
            raise SystemExit(f"sagedrop: --parameter: {problem}")
        parameters[name] = value
    return parameters


def _cloud(state_dir: Path, out: Path, stream: IO[str], parameters: dict[str, str] | None = None) -> CloudClient:
    """The ``local up`` serving ``state_dir`` if one is running, else a local cloud in this process."""
    from sagedrop_local.server.discovery import find_running

    running = find_running(state_dir)
    if running is None:
        return LocalCloud(work_dir=out, state_dir=state_dir, parameter_overrides=parameters)
    if parameters:
        raise SystemExit(
            f"sagedrop: --parameter sets the stack of a local cloud this command starts, but the local up at "
            f"{running['url']} serves {state_dir} with its own stack; stop it, or leave out --parameter"
        )
    from sagedrop_local.server.client import RemoteCloud

    stream.write(f"  using the running local up at {running['url']}\n")
    return RemoteCloud(running)


def _write_outputs(
    out: Path, cloud: CloudClient, run_id: str, final: dict, history: list[dict], notifications: list
) -> dict:
    run_dir = out / "bucket" / "runs" / run_id
    for name in ("evaluation.json", "report.html"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, out / name)
    pipeline_record = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else None
    record = {
        "run_id": run_id,
        "status": final["status"],
        "error": final.get("error"),
        "cause": final.get("cause"),
        "execution_arn": final["executionArn"],
        "started_at": final["startDate"].isoformat(),
        "stopped_at": final["stopDate"].isoformat() if final.get("stopDate") else None,
        "states": state_timings(history),
        "history_events": len(history),
        "state_transitions": sum(1 for e in history if e["type"].endswith("StateEntered")),
        "notifications": notifications,
        "pipeline_record": pipeline_record,
        "results": {"bucket_copy": str(run_dir)},
    }
    (out / "run.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def _one_line_reason(record: dict) -> str:
    from sagedrop.pipeline.run_record import describe_failure

    error = (record.get("pipeline_record") or {}).get("error") or describe_failure(
        {"Error": record.get("error"), "Cause": record.get("cause")}
    )
    return one_line(f"{error['error']}: {error['message']}")


def _summarise(stream: IO[str], out: Path, record: dict, wall: float, endpoints_left: list[str]) -> int:
    if record["status"] != "SUCCEEDED":
        stream.write(f"\nrun {record['status'].lower()}: {_one_line_reason(record)}\n")
        stream.write(f"details: {out / 'run.json'}\n")
        return 1
    from sagedrop.evaluation import confusion_table

    evaluation = json.loads((out / "evaluation.json").read_text())
    stream.write("\n" + confusion_table(evaluation) + "\n\n")
    for name, value in evaluation["metrics"].items():
        if isinstance(value, int | float):
            stream.write(f"  {name:<10} {value:.4f}\n")
    for name, value in evaluation.get("baseline", {}).items():
        stream.write(f"  baseline {name}: {value:.4f}\n")
    stream.write(
        f"\nSUCCEEDED in {wall:.1f} s, {record['state_transitions']} state transitions, "
        f"{record['history_events']} history events\n"
    )
    stream.write(f"results: {out / 'evaluation.json'}, {out / 'report.html'}, {out / 'run.json'}\n")
    if endpoints_left:
        stream.write(f"endpoint kept: {', '.join(endpoints_left)} (sagedrop local cleanup removes it once idle)\n")
    return 0


def cleanup_command(args: argparse.Namespace, stream: IO[str]) -> int:
    out = writable_folder(Path(args.out), "--out", "cleanup-report.json")
    writable_folder(Path(args.state_dir), "--state-dir", "the local SageMaker's state")
    event: dict = {"dry_run": bool(args.dry_run)}
    if args.now:
        try:
            datetime.fromisoformat(args.now)
        except ValueError:
            raise SystemExit(f"sagedrop: --now {args.now!r} is not an ISO-8601 time") from None
        event["now"] = args.now
    with _cloud(Path(args.state_dir), out, stream) as cloud:
        if isinstance(cloud, LocalCloud):
            # This process's CloudWatch and Logs are new: replay what earlier runs recorded.
            cloud.sagemaker.republish(cloud.session.client("logs"), cloud.session.client("cloudwatch"))
        summary = cloud.invoke("CleanupEndpointsFunction", event)
        reports = sorted(cloud.keys("cleanup/"))
        if reports:
            (out / "cleanup-report.json").write_bytes(cloud.read(reports[-1]))
        # A running local up's inbox also holds the runs' messages: take this cleanup's summary only.
        notifications = cloud.notifications(mentioning=summary.get("report"))
    # The summary a person gets by e-mail from the topic; the JSON summary when nothing was published.
    stream.write((notifications[-1]["message"] if notifications else json.dumps(summary, indent=2)) + "\n")
    if reports:
        stream.write(f"report: {out / 'cleanup-report.json'}\n")
    return 1 if summary.get("failures") else 0


def up_command(args: argparse.Namespace, stream: IO[str]) -> int:
    from sagedrop_local.server.up import serve

    return serve(Path(args.state_dir), args.port, stream, warm_containers=not args.cold_containers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagedrop",
        description="Turn a CSV into a trained, deployed, evaluated SageMaker XGBoost model.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser(
        "predict",
        help="predict a CSV of raw rows with a deployed endpoint (AWS)",
        description=predict_cli.__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict_cli.add_arguments(predict)
    predict.set_defaults(handler=predict_cli.predict_command)
    prepare_cli.add_parser(commands)
    local = commands.add_parser("local", help="run on the local cloud: no AWS account, no Docker, no Java")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    local_predict = local_commands.add_parser(
        "predict",
        help="predict a CSV of raw rows with an endpoint a local run kept",
        description=predict_cli.__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict_cli.add_arguments(local_predict)
    local_predict.add_argument(
        "--state-dir",
        metavar="DIR",
        default=str(default_state_dir()),
        help="the local SageMaker's state (default: %(default)s)",
    )
    local_predict.set_defaults(handler=predict_cli.local_predict_command)

    up = local_commands.add_parser(
        "up",
        help="serve the local cloud to your own AWS clients until Ctrl-C",
        description="Serve the stack's AWS API (S3, Step Functions, SageMaker, SageMaker runtime, SNS, SQS, "
        "EventBridge, CloudWatch, Logs, Lambda Invoke) on 127.0.0.1 for clients given --endpoint-url. A CSV "
        "uploaded under incoming/ starts a run; local run and local cleanup use this server while it runs.",
    )
    up.add_argument(
        "--port", type=int, default=4566, help="TCP port on 127.0.0.1; 0 picks a free one (default: %(default)s)"
    )
    up.add_argument(
        "--state-dir",
        metavar="DIR",
        default=str(default_state_dir()),
        help="where the local SageMaker keeps endpoints, and the logs go (default: %(default)s)",
    )
    up.add_argument(
        "--cold-containers",
        action="store_true",
        help="start each job's and endpoint's container process when it is needed, not ahead (saves the "
        "memory of three idle Python processes; runs take longer)",
    )
    up.set_defaults(handler=up_command)

    run = local_commands.add_parser(
        "run",
        help="run the whole pipeline on a CSV",
        description="Upload PATH to the local bucket and run the real state machine, handlers and XGBoost "
        "training on it. Exit status 0 when the execution SUCCEEDED, 1 with a one-line reason otherwise.",
    )
    run.add_argument("csv", metavar="PATH", help="the CSV file (.csv or .csv.gz)")
    run.add_argument("--label", metavar="COL", help="the label column (default: y/label/target/class, else the last)")
    run.add_argument("--config", metavar="FILE.json", help="a run configuration, as a folder's sagedrop.json")
    run.add_argument(
        "--out", metavar="DIR", default="out", help="where run.json, evaluation.json, report.html go (default: out)"
    )
    run.add_argument("--keep-endpoint", action="store_true", help="leave the endpoint up after evaluation")
    run.add_argument(
        "--parameter",
        action="append",
        metavar="NAME=VALUE",
        help="a template.yaml parameter for this run's local stack, as sam deploy --parameter-overrides sets it "
        "(repeatable; e.g. LambdaPrepareMaxBytes=0 prepares in the local Processing job)",
    )
    run.add_argument(
        "--state-dir",
        metavar="DIR",
        default=str(default_state_dir()),
        help="where the local SageMaker keeps endpoints between commands (default: %(default)s)",
    )
    run.set_defaults(handler=run_command)

    cleanup = local_commands.add_parser(
        "cleanup",
        help="delete idle endpoints left by local runs",
        description="Run the nightly cleanup handler against the local cloud's endpoints and log groups.",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    cleanup.add_argument(
        "--now", metavar="ISO-TIME", help="evaluate idleness as of this time (e.g. 2026-11-24T03:00:00+00:00)"
    )
    cleanup.add_argument("--out", metavar="DIR", default="out", help="where cleanup-report.json goes (default: out)")
    cleanup.add_argument(
        "--state-dir",
        metavar="DIR",
        default=str(default_state_dir()),
        help="the local SageMaker's state (default: %(default)s)",
    )
    cleanup.set_defaults(handler=cleanup_command)

    score_cli.add_parser(local_commands, default_state_dir())
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; an operator's mistake ends it with one line (exit status 1), Ctrl-C with 130.

    What the command prints goes through :class:`EscapingStream`: the data's control characters
    never reach the terminal.
    """
    from sagedrop_local.sagemaker.state import StateFileCorrupt

    # xgboost's OpenMP threads spin while they wait; beside other busy threads or processes (the
    # state machine, the server, a shared machine) that makes local training many times slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args, EscapingStream(sys.stdout))
    except SystemExit as stop:
        if isinstance(stop.code, str):
            raise SystemExit(one_line(stop.code)) from None
        raise
    except StateFileCorrupt as error:
        raise SystemExit(one_line(f"sagedrop: {error}")) from None
    except KeyboardInterrupt:
        sys.stderr.write("\nsagedrop: interrupted\n")
        return INTERRUPTED_STATUS


if __name__ == "__main__":
    sys.exit(main())
