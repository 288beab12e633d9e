"""A processing job's container, locally: /opt/ml in a scratch folder, S3 in and out, the entrypoint as a process.

SageMaker Processing downloads each ``ProcessingInputs[].S3Input`` to its ``LocalPath`` (under
``/opt/ml/processing/``), runs the image with ``ContainerEntrypoint`` + ``ContainerArguments`` and
the job's ``Environment``, and when the entrypoint exits 0 uploads each output ``LocalPath`` folder
to its ``S3Uri``. Here the container's ``/opt/ml`` is a per-job scratch folder: every ``LocalPath``,
and every ``/opt/ml`` path in the entrypoint, the arguments and the environment values, is rewritten
into it. So a script must take its paths from its arguments or environment (as the same script does
in the cloud, where they are the ``/opt/ml/processing/...`` paths), not hard-code them. A leading
``python``/``python3`` is this interpreter (through ``processing_python``, without the project's
editable install): the images the pipeline processes with (scikit-learn, XGBoost) are a Python with
numpy and pandas, and so is the local one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import botocore.exceptions

from sagedrop_local.s3_objects import LOCAL_TRANSFER

from .training import FAILURE_REASON_LIMIT, UserError
from .training_data import parse_s3_uri
from .warm import Kind, WarmInterpreters, container_environment, preload_for

CONTAINER_ROOT = "/opt/ml"
# SageMaker's FailureReason for a non-zero exit, word for word (aws/sagemaker-spark-container's
# integration test pins it); the cloud leaves stderr in the job's logs only.
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
PROCESSING_ROOT = "/opt/ml/processing"
EXIT_MESSAGE_LIMIT = 1024  # DescribeProcessingJob.ExitMessage: the first 1 KB of /opt/ml/output/message
STDERR_TAIL_LINES = 20
PYTHON_RUNNER = Path(__file__).with_name("processing_python.py")
STOP_GRACE_SECONDS = 5  # SIGTERM first, as SageMaker stops a container; then SIGKILL
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
# "/opt/ml" as a path of its own: at the start of a string or after a separator, not inside a longer name.
_CONTAINER_PATH = re.compile(r"(?<![\w./-])/opt/ml(?=/|$|[^\w.-])")

LogLine = Callable[[str], None]
StopReason = Callable[[], str | None]


class ContainerError(Exception):
    """The job cannot go on; the message is its FailureReason."""


class Interrupted(Exception):  # noqa: N818 — a control-flow signal, not an error
    """A stop (StopProcessingJob, MaxRuntimeInSeconds, the emulator closing) ended the job; args[0] says which."""


def _below(folder: Path, relative: str) -> Path:
    parts = [part for part in PurePosixPath(relative).parts if part != "/"]
    if ".." in parts:
        raise ContainerError(f"ClientError: {relative} leads out of its folder")
    return folder.joinpath(*parts)


def host_path(root: Path, container_path: str) -> Path:
    """Where a container path under /opt/ml lives in the job's scratch folder."""
    return _below(root, str(PurePosixPath(container_path).relative_to(CONTAINER_ROOT)))


def rewrite(text: str, root: Path) -> str:
    """Container paths in a string (an argument, an environment value) as paths in the scratch folder."""
    return _CONTAINER_PATH.sub(lambda _match: str(root), text)


def command(app: dict, root: Path) -> list[str]:
    argv = [rewrite(part, root) for part in [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]]
    if _PYTHON.match(argv[0]):
        return [sys.executable, str(PYTHON_RUNNER), *argv[1:]]
    return argv


def environment(job: dict, root: Path) -> dict[str, str]:
    return container_environment({key: rewrite(value, root) for key, value in (job.get("Environment") or {}).items()})


def runner_kind(image: str | None) -> Kind:
    """The warm process a ``python`` entrypoint of ``image`` runs in (its own process group, as now)."""
    return Kind(switches=(), preload=preload_for(image), new_session=True, errors="replace")


def prepare(job: dict, root: Path) -> None:
    """The folders and files a processing container finds: output folders, /opt/ml/config."""
    for output in (job.get("ProcessingOutputConfig") or {}).get("Outputs", []):
        host_path(root, output["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    (root / "output").mkdir(parents=True, exist_ok=True)  # for /opt/ml/output/message
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "processingjobconfig.json").write_text(json.dumps(job, default=str, indent=1))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))


def _objects(s3, source: dict) -> list[tuple[str, str, str]]:
    """(bucket, key, path under LocalPath) of every object an input names."""
    uri = source["S3Uri"]
    bucket, prefix = parse_s3_uri(uri)
    if source["S3DataType"] == "ManifestFile":
        entries = json.loads(s3.get_object(Bucket=bucket, Key=prefix)["Body"].read())
        base_bucket, base = parse_s3_uri(entries[0]["prefix"])
        return [(base_bucket, base + key, key) for key in entries[1:]]
    directory = prefix[: prefix.rfind("/") + 1]  # a file keeps its path below the prefix's folder
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(bucket, item["Key"], item["Key"][len(directory) :]) for item in page.get("Contents", [])]
    found = [entry for entry in found if not entry[1].endswith("/")]
    if not found:
        raise ContainerError(
            f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure '
            "that the bucket exists in the selected region, that objects exist under that S3 prefix, "
            f'and that the role has "s3:ListBucket" permissions on bucket "{bucket}".'
        )
    return found


def download_inputs(s3, inputs: list[dict], root: Path, stop_reason: StopReason, log: LogLine) -> None:
    for item in inputs:
        source = item["S3Input"]
        target = host_path(root, source["LocalPath"])
        target.mkdir(parents=True, exist_ok=True)
        try:
            for bucket, key, relative in _objects(s3, source):
                reason = stop_reason()
                if reason:
                    raise Interrupted(reason)
                destination = _below(target, relative)
                destination.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, key, str(destination))
        except (botocore.exceptions.ClientError, UserError, ValueError, LookupError) as error:
            raise ContainerError(
                f"ClientError: Failed to download data for input {item['InputName']}: {error}"
            ) from error
        log(f"Downloaded {source['S3Uri']} to {source['LocalPath']}")


def upload_outputs(s3, outputs: list[dict], root: Path, log: LogLine) -> None:
    for output in outputs:
        destination = output["S3Output"]
        folder = host_path(root, destination["LocalPath"])
        bucket, prefix = parse_s3_uri(destination["S3Uri"])
        try:
            for file in sorted(path for path in folder.rglob("*") if path.is_file()):
                relative = file.relative_to(folder).as_posix()
                key = f"{prefix.rstrip('/')}/{relative}" if prefix.strip("/") else relative
                s3.upload_file(str(file), bucket, key, Config=LOCAL_TRANSFER)
        except botocore.exceptions.ClientError as error:
            raise ContainerError(f"ClientError: Failed to upload output {output['OutputName']}: {error}") from error
        log(f"Uploaded {destination['LocalPath']} to {destination['S3Uri']}")


def exit_message(root: Path, *, strict: bool = True) -> str | None:
    """The first 1 KB of /opt/ml/output/message, when the container wrote it.

    Text that is not UTF-8 fails the job (a ClientError, as SageMaker documents), unless ``strict``
    is off (a job that is being stopped anyway reports no message then).
    """
    path = root / "output" / "message"
    if not path.is_file():
        return None
    try:
        return path.read_bytes().decode("utf-8")[:EXIT_MESSAGE_LIMIT]
    except UnicodeDecodeError:
        if not strict:
            return None
        raise ContainerError("ClientError: /opt/ml/output/message is not UTF-8 encoded text.") from None


def algorithm_error(code: int, stderr_tail: str) -> str:
    """SageMaker's reason for a non-zero exit, then (locally) the exit code and the end of stderr that fits."""
    head = f"{ALGORITHM_ERROR}. Exit code {code}. Last lines of stderr:\n"
    lines = stderr_tail.splitlines()
    while lines and len(head) + len("\n".join(lines)) > FAILURE_REASON_LIMIT:
        lines.pop(0)  # whole lines from the end: the last one says what went wrong
    return (head + "\n".join(lines))[:FAILURE_REASON_LIMIT]


class ContainerProcess:
    """The entrypoint as a child process (its own process group), its output sent line by line to ``log``."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log: LogLine,
        *,
        image: str | None = None,
        interpreters: WarmInterpreters | None = None,
    ):
        try:
            if interpreters is not None and argv[:2] == [sys.executable, str(PYTHON_RUNNER)] and preload_for(image):
                self._process = interpreters.launch(runner_kind(image), argv[1:], env, cwd, keep_stdin=False)
            else:
                self._process = subprocess.Popen(  # noqa: S603 — the job's own command, as its container would run it
                    argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    errors="replace", start_new_session=True,
                )  # fmt: skip
        except OSError as error:
            raise ContainerError(
                f"ClientError: Cannot start the container's entrypoint {argv[0]!r}: {error}"
            ) from error
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._readers = [
            threading.Thread(target=self._read, args=(self._process.stdout, log, None), daemon=True),
            threading.Thread(target=self._read, args=(self._process.stderr, log, self._stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, log: LogLine, tail: deque | None) -> None:
        for line in stream:
            line = line.rstrip("\n")
            log(line)
            if tail is not None:
                tail.append(line)

    def wait(self, stop_reason: StopReason, poll_seconds: float = 0.1) -> int | str:
        """The exit code, or the stop reason that ended the process first."""
        while True:
            try:
                code = self._process.wait(timeout=poll_seconds)
            except subprocess.TimeoutExpired:
                reason = stop_reason()
                if reason:
                    self.kill()
                    return reason
                continue
            self._join_readers()
            return code

    def kill(self) -> None:
        """SIGTERM to the process group, SIGKILL after the grace period; nothing when it has exited."""
        if self._process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._process.wait()
        self._join_readers()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, sig)

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=STOP_GRACE_SECONDS)

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)
