"""CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs, and the job's thread.

The thread trains for real (``training.train_job`` for XGBoost, ``linear_learner.train_job`` for a
Linear Learner image: ``algorithms.for_training``) and moves the job through SageMaker's
secondary statuses. A stop is read from the store, so StopTrainingJob from another process
sharing the state directory stops the job too.
"""

from __future__ import annotations

import copy
import shutil
import time
from datetime import datetime
from functools import partial

from sagedrop.memory import release_memory

from .algorithms import for_training
from .context import Local, validate_name
from .errors import SageMakerApiError, validation_exception
from .listing import list_call
from .store import Tables, merge_tags, public
from .training import AlgorithmError, TrainingOutcome, TrainingStopped, UserError, scratch_dir
from .training_data import DataDownloadError
from .workers import TRAINING_SCRATCH, Workers, crash_reason

_RUNNING = ("InProgress", "Stopping")
_PHASE_MESSAGES = {
    "Downloading": "Starting the training job. Downloading input data",
    "Training": "Downloading the training image completed. Training in progress.",
    "Uploading": "Uploading generated training model",
}
_SUMMARY_KEYS = (
    "TrainingJobName",
    "TrainingJobArn",
    "CreationTime",
    "TrainingEndTime",
    "LastModifiedTime",
    "TrainingJobStatus",
    "SecondaryStatus",
)


def _transition(job: dict, status: str, message: str, now: datetime) -> None:
    transitions = job.setdefault("SecondaryStatusTransitions", [])
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
    job["SecondaryStatus"] = status
    job["LastModifiedTime"] = now


def _job(tables: Tables, name: str) -> dict:
    job = tables["training_jobs"].get(name)
    if job is None:
        raise validation_exception("Requested resource not found.")
    return job


class TrainingJobs:
    def __init__(self, local: Local, workers: Workers):
        self._local = local
        self._store = local.store
        self._workers = workers

    def operations(self) -> dict:
        return {
            ("sagemaker", "CreateTrainingJob"): self.create,
            ("sagemaker", "DescribeTrainingJob"): self.describe,
            ("sagemaker", "StopTrainingJob"): self.stop,
            ("sagemaker", "ListTrainingJobs"): self.list,
        }

    def create(self, params: dict, region: str, _context: dict) -> dict:
        name = params["TrainingJobName"]
        validate_name(name, "trainingJobName")
        arn = self._local.arn(region, "training-job", name)
        now = self._local.now()
        with self._store.write() as tables:
            if name in tables["training_jobs"]:
                raise SageMakerApiError(
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and a training job "
                    f"with this name already exists ({arn})",
                )
            job = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            job.setdefault("EnableNetworkIsolation", False)
            job.setdefault("EnableInterContainerTrafficEncryption", False)
            job.setdefault("EnableManagedSpotTraining", False)
            job.update(
                TrainingJobArn=arn,
                TrainingJobStatus="InProgress",
                SecondaryStatus="Starting",
                CreationTime=now,
                LastModifiedTime=now,
                SecondaryStatusTransitions=[
                    {"Status": "Starting", "StartTime": now, "StatusMessage": "Launching requested ML instances"}
                ],
                _owner=self._store.owner,
            )
            tables["training_jobs"][name] = job
            merge_tags(tables, arn, params.get("Tags"))
        self._workers.spawn(self._run, name, on_crash=partial(self._crashed, name))
        return {"TrainingJobArn": arn}

    def describe(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.read() as tables:
            return public(_job(tables, params["TrainingJobName"]))

    def stop(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.write() as tables:
            job = _job(tables, params["TrainingJobName"])
            if job["TrainingJobStatus"] != "InProgress":
                raise validation_exception(
                    f"The request was rejected because the training job is in status {job['TrainingJobStatus']}."
                )
            job["TrainingJobStatus"] = "Stopping"
            _transition(job, "Stopping", "Stopping the training job", self._local.now())
        return {}

    def list(self, params: dict, _region: str, _context: dict) -> dict:
        return list_call(
            self._store, params, "training_jobs", _SUMMARY_KEYS, "TrainingJobSummaries", "TrainingJobStatus"
        )

    # ------------------------------------------------------------------ the job's thread

    def _stop_reason(self, name: str, started: float, max_runtime: int | None) -> str | None:
        if self._workers.closed:
            return "closed"
        with self._store.read() as tables:
            if tables["training_jobs"][name]["TrainingJobStatus"] == "Stopping":
                return "Stopped"
        if max_runtime and time.monotonic() - started > max_runtime:
            return "MaxRuntimeExceeded"
        return None

    def _on_phase(self, name: str, status: str) -> None:
        with self._store.write() as tables:
            live = tables["training_jobs"][name]
            if live["TrainingJobStatus"] != "InProgress":
                return
            if status == "Downloading":
                live["TrainingStartTime"] = self._local.now()
            _transition(live, status, _PHASE_MESSAGES[status], self._local.now())

    def _run(self, name: str) -> None:
        started = time.monotonic()
        with self._store.read() as tables:
            job = public(tables["training_jobs"][name])
        max_runtime = (job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        stop_reason = partial(self._stop_reason, name, started, max_runtime)
        if self._workers.sleep(self._local.startup_seconds, lambda: stop_reason() is not None):
            self._finish(name, stop_reason() or "closed", None, None, [])
            return

        log_lines: list[tuple[datetime, str]] = []
        algorithm = for_training(job)
        work_dir = scratch_dir(self._local.state_dir / TRAINING_SCRATCH, name)
        try:
            outcome = algorithm.train_job(
                job,
                self._local.s3,
                work_dir,
                on_phase=partial(self._on_phase, name),
                should_stop=stop_reason,
                log=lambda line: log_lines.append((self._local.now(), line)),
            )
        except TrainingStopped as stopped:
            ending = (str(stopped), None, None)
        except (UserError, AlgorithmError, DataDownloadError) as error:
            log_lines.append((self._local.now(), f"ERROR: {error}"))
            ending = ("Failed", algorithm.failure_reason(error), None)
        except Exception as error:  # noqa: BLE001 — any surprise in the algorithm is its failure, as in SageMaker
            log_lines.append((self._local.now(), f"ERROR: {error!r}"))
            ending = ("Failed", algorithm.failure_reason(AlgorithmError(repr(error))), None)
        else:
            ending = ("Completed", None, outcome)
        finally:
            # Before the job is seen to end: whoever reads the ended job finds no scratch left behind.
            shutil.rmtree(work_dir, ignore_errors=True)
        release_memory()  # training runs in this process: its data's memory is not kept for the rest of the run
        self._finish(name, *ending, log_lines)

    def _finish(
        self,
        name: str,
        result: str,
        reason: str | None,
        outcome: TrainingOutcome | None,
        log_lines: list[tuple[datetime, str]],
    ) -> None:
        if result == "closed":
            return  # this instance is going away; close() reports the job as interrupted
        if log_lines:
            # Logs first: a caller that sees the final status can read the whole log.
            with self._store.read() as tables:
                job = tables["training_jobs"][name]
                stream_time = job.get("TrainingStartTime") or job["CreationTime"]
            stream = f"{name}/algo-1-{int(stream_time.timestamp())}"
            self._local.write_logs("/aws/sagemaker/TrainingJobs", stream, log_lines)
        now = self._local.now()
        with self._store.write() as tables:
            job = tables["training_jobs"][name]
            if job["TrainingJobStatus"] not in _RUNNING:
                return  # already ended (reported interrupted while this thread was still busy)
            if result == "Completed":
                job["TrainingJobStatus"] = "Completed"
                _transition(job, "Completed", "Training job completed", now)
                job["ModelArtifacts"] = {"S3ModelArtifacts": outcome.model_s3_uri}
                job["FinalMetricDataList"] = [
                    {"MetricName": metric, "Value": value, "Timestamp": now}
                    for metric, value in sorted(outcome.final_metrics.items())
                ]
            elif result == "Failed":
                job["TrainingJobStatus"] = "Failed"
                job["FailureReason"] = reason
                _transition(job, "Failed", "Training job failed", now)
            else:  # Stopped or MaxRuntimeExceeded
                job["TrainingJobStatus"] = "Stopped"
                message = "Training job stopped" if result == "Stopped" else "Training job exceeded MaxRuntimeInSeconds"
                _transition(job, result, message, now)
            self._end(job, now)

    @staticmethod
    def _end(job: dict, now: datetime) -> None:
        job["SecondaryStatusTransitions"][-1]["EndTime"] = now
        job["TrainingEndTime"] = now
        start = job.get("TrainingStartTime") or job["CreationTime"]
        seconds = max(1, int((now - start).total_seconds()))
        job["TrainingTimeInSeconds"] = seconds
        job["BillableTimeInSeconds"] = seconds

    def _crashed(self, name: str, error: BaseException) -> None:
        """The thread raised outside the algorithm (scratch space, the store, logs): the job failed."""
        now = self._local.now()
        with self._store.write() as tables:
            job = tables["training_jobs"].get(name)
            if job is None or job["TrainingJobStatus"] not in _RUNNING:
                return
            job.update(TrainingJobStatus="Failed", FailureReason=crash_reason("running this training job", error))
            _transition(job, "Failed", "Training job failed", now)
            self._end(job, now)
