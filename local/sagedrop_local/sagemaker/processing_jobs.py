"""CreateProcessingJob, DescribeProcessingJob, StopProcessingJob, ListProcessingJobs, and the job's thread.

The thread really runs the job (``processing_container``): inputs downloaded from S3 into the
job's scratch ``/opt/ml``, the entrypoint as a child process (stdout and stderr to the log stream
``<job>/algo-1-<start epoch>`` of ``/aws/sagemaker/ProcessingJobs``), output folders uploaded when
it exits 0. InProgress → Completed; Failed with a FailureReason; Stopping → Stopped. Exceeding
``MaxRuntimeInSeconds`` kills the process and ends the job Stopped, with no FailureReason: the API
reference (ProcessingStoppingCondition) says "After the condition is met, the processing job is
stopped", and users report exactly that (spore-host/spawn issue 106: "stopped with Status: Stopped
and no failure reason"). A non-zero exit is "AlgorithmError: See job logs for more information",
SageMaker's exact text (pinned by aws/sagemaker-spark-container's integration test); the local one
adds the exit code and the last lines of stderr, which the cloud leaves in the logs. ``ExitMessage``
is the first 1 KB of ``/opt/ml/output/message``, as SageMaker reports it. A stop is read from the
store, so StopProcessingJob from another process sharing the state directory stops the job too.
"""

from __future__ import annotations

import copy
import re
import shutil
import time
from datetime import datetime
from functools import partial
from pathlib import Path

from . import processing_container as container
from .context import Local, validate_name
from .errors import SageMakerApiError, validation_exception
from .listing import paginate
from .store import Tables, merge_tags, public
from .training import FAILURE_REASON_LIMIT, scratch_dir
from .workers import _INTERRUPTED, Workers, crash_reason, orphaned

TABLE = "processing_jobs"
SCRATCH = "processing"
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
MAX_RUNTIME_SECONDS = 777600  # ProcessingStoppingCondition.MaxRuntimeInSeconds maximum
_INTERRUPTED_JOB = _INTERRUPTED.format(kind="processing job")
_RUNNING = ("InProgress", "Stopping")
_ENVIRONMENT_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SUMMARY_KEYS = (
    "ProcessingJobName",
    "ProcessingJobArn",
    "CreationTime",
    "ProcessingEndTime",
    "LastModifiedTime",
    "ProcessingJobStatus",
    "FailureReason",
    "ExitMessage",
)


def _job(tables: Tables, name: str) -> dict:
    job = tables.get(TABLE, {}).get(name)
    if job is None:
        raise validation_exception(f"Could not find requested job with name {name}")
    return job


def _local_path(spec: dict, where: str) -> None:
    path = spec.get("LocalPath") or ""
    if not path.startswith(container.PROCESSING_ROOT + "/") or ".." in path.split("/"):
        raise validation_exception(f"{where}.LocalPath {path!r} must be an absolute path under /opt/ml/processing/.")


def validate_request(params: dict) -> None:
    """What CreateProcessingJob refuses (and what this emulation cannot run), before anything is made."""
    validate_name(params["ProcessingJobName"], "processingJobName")
    inputs = params.get("ProcessingInputs") or []
    outputs = (params.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for kind, items, key in (("ProcessingInputs", inputs, "InputName"), ("Outputs", outputs, "OutputName")):
        names = [item[key] for item in items]
        if len(set(names)) != len(names):
            raise validation_exception(f"{kind} must have unique {key} values: {names}.")
    for item in inputs:
        source = item.get("S3Input")
        if source is None:
            raise validation_exception(
                "Only S3Input inputs are emulated by the local SageMaker (no DatasetDefinition)."
            )
        _local_path(source, f"ProcessingInputs[{item['InputName']}].S3Input")
        if source.get("S3InputMode", "File") != "File":
            raise validation_exception("S3InputMode Pipe is not emulated by the local SageMaker (File).")
        if source.get("S3CompressionType", "None") != "None":
            raise validation_exception("S3CompressionType Gzip can only be used when S3InputMode is Pipe.")
    paths = [item["S3Input"]["LocalPath"].rstrip("/") for item in inputs]
    if len(set(paths)) != len(paths):  # sagemaker-python-sdk issue 4939: each input needs its own LocalPath
        raise validation_exception(f"Each processing input must have a unique LocalPath: {paths}.")
    for output in outputs:
        if output.get("S3Output") is None:
            raise validation_exception("Only S3Output outputs are emulated by the local SageMaker.")
        _local_path(output["S3Output"], f"Outputs[{output['OutputName']}].S3Output")
    for uri in [item["S3Input"]["S3Uri"] for item in inputs] + [item["S3Output"]["S3Uri"] for item in outputs]:
        if not uri.startswith("s3://"):
            raise validation_exception(f"S3Uri {uri!r} is not an s3:// URI.")
    app = params["AppSpecification"]
    if not app.get("ContainerEntrypoint"):
        raise validation_exception(
            "The local SageMaker runs AppSpecification.ContainerEntrypoint (it has no image entrypoints): set it."
        )
    for key in params.get("Environment") or {}:
        if not _ENVIRONMENT_KEY.match(key):
            raise validation_exception(
                f"1 validation error detected: Value '{key}' at 'environment' failed to satisfy constraint: "
                "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
                "[a-zA-Z_][a-zA-Z0-9_]*]"
            )
    max_runtime = (params.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 1)
    if not 1 <= max_runtime <= MAX_RUNTIME_SECONDS:
        raise validation_exception(f"MaxRuntimeInSeconds must be between 1 and {MAX_RUNTIME_SECONDS}.")
    if (params["ProcessingResources"]["ClusterConfig"].get("InstanceCount") or 1) > 1:
        raise validation_exception("The local SageMaker runs a processing job on one instance (InstanceCount 1).")


def fail_unfinished_processing(tables: Tables, now: datetime, unfinished) -> None:
    """Report Failed every processing job in progress that ``unfinished`` says cannot end."""
    for job in tables.setdefault(TABLE, {}).values():
        if job["ProcessingJobStatus"] in _RUNNING and unfinished(job):
            job.update(
                ProcessingJobStatus="Failed",
                FailureReason=_INTERRUPTED_JOB,
                ProcessingEndTime=now,
                LastModifiedTime=now,
            )


class ProcessingJobs:
    def __init__(self, local: Local, workers: Workers):
        self._local = local
        self._store = local.store
        self._workers = workers
        with self._store.write() as tables:
            # Jobs whose process has gone cannot finish: report them failed, remove their files.
            fail_unfinished_processing(tables, local.now(), orphaned)
            running = {name for name, job in tables[TABLE].items() if job["ProcessingJobStatus"] in _RUNNING}
        scratch = local.state_dir / SCRATCH
        if scratch.is_dir():
            for folder in scratch.iterdir():
                # scratch_dir names a folder "<job name>-<random>", and the random part has no '-'
                if folder.name.rsplit("-", 1)[0] not in running:
                    shutil.rmtree(folder, ignore_errors=True)

    def operations(self) -> dict:
        return {
            ("sagemaker", "CreateProcessingJob"): self.create,
            ("sagemaker", "DescribeProcessingJob"): self.describe,
            ("sagemaker", "StopProcessingJob"): self.stop,
            ("sagemaker", "ListProcessingJobs"): self.list,
        }

    def create(self, params: dict, region: str, _context: dict) -> dict:
        validate_request(params)
        name = params["ProcessingJobName"]
        arn = self._local.arn(region, "processing-job", name)
        now = self._local.now()
        with self._store.write() as tables:
            jobs = tables.setdefault(TABLE, {})
            if name in jobs:
                raise SageMakerApiError(
                    "ResourceInUse",
                    "Processing job names must be unique within an AWS account and region, and a processing job "
                    f"with this name already exists ({arn})",
                )
            job = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            job.update(
                ProcessingJobArn=arn,
                ProcessingJobStatus="InProgress",
                CreationTime=now,
                LastModifiedTime=now,
                _owner=self._store.owner,
            )
            jobs[name] = job
            merge_tags(tables, arn, params.get("Tags"))
        self._workers.spawn(self._run, name, on_crash=partial(self._crashed, name))
        return {"ProcessingJobArn": arn}

    def describe(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.read() as tables:
            return public(_job(tables, params["ProcessingJobName"]))

    def stop(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.write() as tables:
            job = _job(tables, params["ProcessingJobName"])
            if job["ProcessingJobStatus"] != "InProgress":
                raise validation_exception(
                    f"The request was rejected because the processing job is in status {job['ProcessingJobStatus']}."
                )
            job.update(ProcessingJobStatus="Stopping", LastModifiedTime=self._local.now())
        return {}

    def list(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.read() as tables:
            rows = [
                {key: copy.deepcopy(job[key]) for key in _SUMMARY_KEYS if key in job}
                for job in tables.get(TABLE, {}).values()
            ]
        page, token = paginate(rows, params, "ProcessingJobName", "ProcessingJobStatus")
        return {"ProcessingJobSummaries": page, **token}

    # ------------------------------------------------------------------ the job's thread

    def _stop_reason(self, name: str, started: float | None, max_runtime: int | None) -> str | None:
        if self._workers.closed:
            return "closed"
        with self._store.read() as tables:
            if tables[TABLE][name]["ProcessingJobStatus"] == "Stopping":
                return "Stopped"
        if started is not None and max_runtime and time.monotonic() - started > max_runtime:
            return "MaxRuntimeExceeded"
        return None

    def _run(self, name: str) -> None:
        if self._workers.sleep(self._local.startup_seconds, lambda: self._stop_reason(name, None, None) is not None):
            self._finish(name, self._stop_reason(name, None, None) or "closed", None, None, [])
            return
        now = self._local.now()
        with self._store.write() as tables:
            live = tables[TABLE][name]
            live.update(ProcessingStartTime=now, LastModifiedTime=now)
            job = public(live)
        max_runtime = (job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        stop_reason = partial(self._stop_reason, name, time.monotonic(), max_runtime)
        log_lines: list[tuple[datetime, str]] = []
        root = scratch_dir(self._local.state_dir / SCRATCH, name)
        try:
            ending = self._execute(job, root, stop_reason, lambda line: log_lines.append((self._local.now(), line)))
        finally:
            # Before the job is seen to end: whoever reads the ended job finds no scratch left behind.
            shutil.rmtree(root, ignore_errors=True)
        self._finish(name, *ending, log_lines)

    def _execute(self, job: dict, root: Path, stop_reason, log) -> tuple[str, str | None, str | None]:
        """(result, FailureReason, ExitMessage) of running the job in ``root``."""
        try:
            container.prepare(job, root)
            container.download_inputs(self._local.s3, job.get("ProcessingInputs") or [], root, stop_reason, log)
            argv = container.command(job["AppSpecification"], root)
            process = container.ContainerProcess(
                argv,
                container.environment(job, root),
                root,
                log,
                image=job["AppSpecification"].get("ImageUri"),
                interpreters=self._local.interpreters,
            )
            try:
                outcome = process.wait(stop_reason)
            finally:
                process.kill()  # nothing to do once it has exited; a crash of this thread must not leave it running
            if isinstance(outcome, str):
                raise container.Interrupted(outcome)
            message = container.exit_message(root)
            if outcome != 0:
                log(f"The container exited with code {outcome}.")
                tail = process.stderr_tail()
                return "Failed", container.algorithm_error(outcome, tail), message
            outputs = (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []
            container.upload_outputs(self._local.s3, outputs, root, log)
            return "Completed", None, message
        except container.Interrupted as stopped:
            if str(stopped) == "MaxRuntimeExceeded":
                log(f"MaxRuntimeInSeconds ({job['StoppingCondition']['MaxRuntimeInSeconds']}) exceeded: job stopped.")
            return str(stopped), None, container.exit_message(root, strict=False)
        except container.ContainerError as error:
            log(str(error))
            return "Failed", str(error), None

    def _finish(
        self,
        name: str,
        result: str,
        reason: str | None,
        message: str | None,
        log_lines: list[tuple[datetime, str]],
    ) -> None:
        if result == "closed":  # this instance is going away: the job cannot finish
            result, reason = "Failed", _INTERRUPTED_JOB
        if log_lines:
            # Logs first: a caller that sees the final status can read the whole log.
            with self._store.read() as tables:
                job = tables[TABLE][name]
                stream_time = job.get("ProcessingStartTime") or job["CreationTime"]
            self._local.write_logs(LOG_GROUP, f"{name}/algo-1-{int(stream_time.timestamp())}", log_lines)
        now = self._local.now()
        with self._store.write() as tables:
            job = tables[TABLE][name]
            if job["ProcessingJobStatus"] not in _RUNNING:
                return  # already ended (reported interrupted while this thread was still busy)
            status = "Stopped" if result == "MaxRuntimeExceeded" else result
            job.update(ProcessingJobStatus=status, ProcessingEndTime=now, LastModifiedTime=now)
            if reason:
                job["FailureReason"] = reason[:FAILURE_REASON_LIMIT]
            if message is not None:
                job["ExitMessage"] = message

    def _crashed(self, name: str, error: BaseException) -> None:
        """The thread raised outside the container (scratch space, the store, S3 listing): the job failed."""
        now = self._local.now()
        with self._store.write() as tables:
            job = tables.get(TABLE, {}).get(name)
            if job is None or job["ProcessingJobStatus"] not in _RUNNING:
                return
            job.update(
                ProcessingJobStatus="Failed",
                FailureReason=crash_reason("running this processing job", error),
                ProcessingEndTime=now,
                LastModifiedTime=now,
            )
