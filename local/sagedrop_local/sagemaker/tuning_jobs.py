"""Automatic Model Tuning: Create/Describe/Stop/ListHyperParameterTuningJob(s) and
ListTrainingJobsForHyperParameterTuningJob, with the trials really trained.

A tuning job's thread launches its trials as training jobs of this local SageMaker (the
``training_jobs`` machinery: the same validation, threads, statuses and metrics), named
``<tuning job>-<3 digits>-<8 hex>`` as SageMaker names them, tagged with the tuning job's tags and
showing ``TuningJobArn`` in DescribeTrainingJob; their hyperparameters are the static ones, the
searched ones (``tuning_search``: **not** SageMaker's Bayesian optimiser) and
``_tuning_objective_metric``. At most MaxParallelTrainingJobs run at once, MaxNumberOfTrainingJobs
in all. A trial's objective is the metric of its FinalMetricDataList; the best trial is the
highest (Maximize) or lowest (Minimize) of those that reported it.

InProgress → Completed once every trial has ended and one reported its objective; Failed when none
did ("No training job succeeded after N attempts", SageMaker's wording; like SageMaker it gives up
once its first 5 trials all failed); StopHyperParameterTuningJob: Stopping (its running trials are
stopped) → Stopped. Failed trials count as NonRetryableError (no trial is retried). The counters and
the best trial are computed from the trials whenever the job is read.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
from functools import partial

from .context import Local
from .errors import SageMakerApiError, validation_exception
from .listing import paginate
from .store import Tables, merge_tags, public
from .training import FAILURE_REASON_LIMIT
from .training_jobs import TrainingJobs
from .tuning_search import Search, plan_of
from .tuning_trials import RUNNING, best_of, by_objective, counted, objective_of, trial_summary
from .workers import Workers, crash_reason, orphaned

TABLE = "tuning_jobs"
_POLL_SECONDS = 0.1
GIVE_UP_AFTER = 5  # SageMaker fails a tuning job whose first 5 training jobs all failed
# What a tuning job's TrainingJobDefinition passes on to each CreateTrainingJob.
_DEFINITION_KEYS = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "VpcConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)
_INTERRUPTED = (
    "InternalServerError: the local SageMaker process that was running this tuning job exited before it finished."
)


def _job(tables: Tables, name: str) -> dict:
    job = tables.setdefault(TABLE, {}).get(name)
    if job is None:
        raise SageMakerApiError("ResourceNotFound", f"Amazon SageMaker can't find a tuning job with name {name}")
    return job


def _trials(tables: Tables, name: str) -> list[dict]:
    found = [job for job in tables["training_jobs"].values() if job.get("_tuning_job") == name]
    return sorted(found, key=lambda job: job["_tuning_index"])


class TuningJobs:
    def __init__(self, local: Local, workers: Workers):
        self._local = local
        self._store = local.store
        self._workers = workers
        self._training = TrainingJobs(local, workers)  # stateless: the same machinery as CreateTrainingJob
        with self._store.write() as tables:
            for job in tables.setdefault(TABLE, {}).values():
                if job["HyperParameterTuningJobStatus"] in RUNNING and orphaned(job):
                    self._end(job, "Failed", _INTERRUPTED)

    def operations(self) -> dict:
        return {
            ("sagemaker", "CreateHyperParameterTuningJob"): self.create,
            ("sagemaker", "DescribeHyperParameterTuningJob"): self.describe,
            ("sagemaker", "StopHyperParameterTuningJob"): self.stop,
            ("sagemaker", "ListHyperParameterTuningJobs"): self.list,
            ("sagemaker", "ListTrainingJobsForHyperParameterTuningJob"): self.list_trials,
        }

    def create(self, params: dict, region: str, _context: dict) -> dict:
        plan_of(params)  # every check before anything is made
        name = params["HyperParameterTuningJobName"]
        arn = self._local.arn(region, "hyper-parameter-tuning-job", name)
        now = self._local.now()
        with self._store.write() as tables:
            jobs = tables.setdefault(TABLE, {})
            if name in jobs:
                raise SageMakerApiError(
                    "ResourceInUse",
                    "Hyperparameter tuning job names must be unique within an AWS account and region, and a "
                    f"hyperparameter tuning job with this name already exists ({arn})",
                )
            job = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            config = job["HyperParameterTuningJobConfig"]
            config.setdefault("TrainingJobEarlyStoppingType", "Off")
            # The objective may come with the definition instead: one place to read it from.
            config.setdefault("HyperParameterTuningJobObjective", job["TrainingJobDefinition"].get("TuningObjective"))
            job.update(
                HyperParameterTuningJobArn=arn,
                HyperParameterTuningJobStatus="InProgress",
                CreationTime=now,
                LastModifiedTime=now,
                _region=region,
                _owner=self._store.owner,
            )
            jobs[name] = job
            merge_tags(tables, arn, params.get("Tags"))
        self._workers.spawn(self._run, name, on_crash=partial(self._crashed, name))
        return {"HyperParameterTuningJobArn": arn}

    def _view(self, tables: Tables, name: str) -> dict:
        job = _job(tables, name)
        summaries = [trial_summary(trial, job) for trial in _trials(tables, name)]
        view = {**public(job), **counted(summaries)}
        objective = job["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        best = best_of(summaries, objective["Type"] == "Maximize")
        if best is not None:
            view["BestTrainingJob"] = best
        return view

    def describe(self, params: dict, _region: str, _context: dict) -> dict:
        name = params["HyperParameterTuningJobName"]
        with self._store.read() as tables:
            job = _job(tables, name)
            settled = job["HyperParameterTuningJobStatus"] not in RUNNING or not orphaned(job)
            if settled:
                return self._view(tables, name)
        with self._store.write() as tables:  # its process is gone: it can never finish
            job = _job(tables, name)
            if job["HyperParameterTuningJobStatus"] in RUNNING:
                self._end(job, "Failed", _INTERRUPTED)
            return self._view(tables, name)

    def stop(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.write() as tables:
            job = _job(tables, params["HyperParameterTuningJobName"])
            status = job["HyperParameterTuningJobStatus"]
            if status != "InProgress":
                raise validation_exception(
                    f"The request was rejected because the hyperparameter tuning job is in status {status}."
                )
            job.update(HyperParameterTuningJobStatus="Stopping", LastModifiedTime=self._local.now())
        return {}

    def list(self, params: dict, _region: str, _context: dict) -> dict:
        keys = ("HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus")
        keys += ("CreationTime", "HyperParameterTuningEndTime", "LastModifiedTime")
        with self._store.read() as tables:
            items = []
            for name in tables.setdefault(TABLE, {}):
                view = self._view(tables, name)
                config = view["HyperParameterTuningJobConfig"]
                item = {key: view[key] for key in keys if key in view}
                item.update(
                    Strategy=config["Strategy"],
                    ResourceLimits=config["ResourceLimits"],
                    TrainingJobStatusCounters=view["TrainingJobStatusCounters"],
                    ObjectiveStatusCounters=view["ObjectiveStatusCounters"],
                )
                items.append(item)
        page, token = paginate(items, params, "HyperParameterTuningJobName", "HyperParameterTuningJobStatus")
        return {"HyperParameterTuningJobSummaries": page, **token}

    def list_trials(self, params: dict, _region: str, _context: dict) -> dict:
        name = params["HyperParameterTuningJobName"]
        with self._store.read() as tables:
            job = _job(tables, name)
            items = [trial_summary(trial, job) for trial in _trials(tables, name)]
        if params.get("SortBy") != "FinalObjectiveMetricValue":
            # Name is this API's default order (paginate's is CreationTime).
            page, token = paginate(
                items, {**params, "SortBy": params.get("SortBy") or "Name"}, "TrainingJobName", "TrainingJobStatus"
            )
            return {"TrainingJobSummaries": page, **token}
        return by_objective(items, params)

    # ------------------------------------------------------------------ the job's thread

    def _run(self, name: str) -> None:
        with self._store.read() as tables:
            job = copy.deepcopy(_job(tables, name))
        plan = plan_of(job)
        search = Search(name, plan)
        while not self._workers.closed:
            with self._store.read() as tables:
                status = _job(tables, name)["HyperParameterTuningJobStatus"]
                trials = copy.deepcopy(_trials(tables, name))
            running = [t for t in trials if t["TrainingJobStatus"] in RUNNING]
            if status == "Stopping":
                for trial in running:
                    self._stop_trial(trial)
                if not running:
                    self._finish(name, "Stopped")
                    return
            else:
                scored = [(t["_tuning_point"], objective_of(t, plan.metric)) for t in trials]
                observed = [(point, value) for point, value in scored if value is not None]
                failed = len(trials) - len(running) - len(observed)
                give_up = not observed and failed >= min(GIVE_UP_AFTER, plan.max_jobs)
                if not running and (give_up or len(trials) >= plan.max_jobs):
                    if observed:
                        self._finish(name, "Completed")
                    else:
                        reason = (
                            f"No training job succeeded after {failed} attempts. "
                            "Please take a look at the training job failures to get more details."
                        )
                        self._finish(name, "Failed", reason)
                    return
                launched, active = len(trials), len(running)
                while not give_up and launched < plan.max_jobs and active < plan.max_parallel:
                    self._launch(job, search, launched, observed)
                    launched, active = launched + 1, active + 1
            self._workers.sleep(_POLL_SECONDS, lambda: False)

    def _launch(self, job: dict, search: Search, index: int, observed: list) -> None:
        """Create trial ``index`` as a training job of this local SageMaker."""
        name = job["HyperParameterTuningJobName"]
        definition = job["TrainingJobDefinition"]
        point = search.point(index, observed)
        tuned = search.hyperparameters(point)
        with self._store.read() as tables:
            tags = copy.deepcopy(tables["tags"].get(job["HyperParameterTuningJobArn"], []))
        trial = f"{name}-{index + 1:03d}-{secrets.token_hex(4)}"
        request = {key: copy.deepcopy(definition[key]) for key in _DEFINITION_KEYS if key in definition}
        request.update(
            TrainingJobName=trial,
            HyperParameters={**search.plan.static, **tuned, "_tuning_objective_metric": search.plan.metric},
            Tags=tags,
            # Not CreateTrainingJob parameters: the record keeps them (TuningJobArn is public, as in SageMaker).
            TuningJobArn=job["HyperParameterTuningJobArn"],
            _tuning_job=name,
            _tuning_index=index,
            _tuning_point=point,
            _tuned=tuned,
        )
        self._training.create(request, job["_region"], {})

    def _stop_trial(self, trial: dict) -> None:
        if trial["TrainingJobStatus"] != "InProgress":
            return
        with contextlib.suppress(SageMakerApiError):  # it ended meanwhile
            self._training.stop({"TrainingJobName": trial["TrainingJobName"]}, "", {})

    def _end(self, job: dict, status: str, reason: str | None = None) -> None:
        now = self._local.now()
        job.update(HyperParameterTuningJobStatus=status, HyperParameterTuningEndTime=now, LastModifiedTime=now)
        if reason:
            job["FailureReason"] = reason[:FAILURE_REASON_LIMIT]

    def _finish(self, name: str, status: str, reason: str | None = None) -> None:
        with self._store.write() as tables:
            job = _job(tables, name)
            if job["HyperParameterTuningJobStatus"] in RUNNING:
                self._end(job, status, reason)

    def _crashed(self, name: str, error: BaseException) -> None:
        """The thread raised (the store, a trial's creation): the tuning job failed, its trials are stopped."""
        self._finish(name, "Failed", crash_reason("running this tuning job", error))
        with self._store.read() as tables:
            trials = copy.deepcopy(_trials(tables, name))
        for trial in trials:
            self._stop_trial(trial)
