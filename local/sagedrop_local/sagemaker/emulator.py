"""``LocalSageMaker``: the SageMaker control plane and runtime, in-process, doing real work.

Training jobs really train with xgboost in a background thread; endpoints really serve the model
over HTTP on 127.0.0.1. State is persisted as JSON after every change so a later process sees the
resources an earlier one left behind.
"""

from __future__ import annotations

import base64
import copy
import http.client
import io
import json
import re
import secrets
import shutil
import tarfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions
from botocore.response import StreamingBody
from botocore.utils import parse_to_aware_datetime

from . import observability
from .botocore_bridge import BotocoreBridge
from .errors import (
    SageMakerApiError,
    already_exists,
    could_not_find,
    runtime_validation_error,
    validation_exception,
)
from .model_server import ModelLoadError, ModelServer, load_boosters
from .state import StateFile
from .training import (
    AlgorithmError,
    DataDownloadError,
    TrainingStopped,
    UserError,
    failure_reason,
    parse_s3_uri,
    scratch_dir,
    train_job,
)

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
MAX_PAYLOAD_BYTES = 6_291_456
MAX_SERVERLESS_PAYLOAD_BYTES = 4 * 1024 * 1024
_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INTERRUPTED = (
    "InternalServerError: the local SageMaker process that was running this {kind} exited before it finished."
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalSageMaker:
    """An in-process SageMaker for ``boto3`` clients of ``sagemaker`` and ``sagemaker-runtime``.

    Args:
        s3_client: S3 client (moto in practice) used to read channels, write and read model artifacts.
        state_dir: directory holding ``sagemaker-state.json`` and scratch space; created if missing.
        logs_client: optional CloudWatch Logs client; training and endpoint logs are written to it.
        cloudwatch_client: optional CloudWatch client; each invocation puts ``AWS/SageMaker``
            ``Invocations`` (dimensions EndpointName and VariantName) and ``ModelLatency``.
        clock: returns "now" (timezone-aware; naive values are taken as UTC). Used for every
            timestamp the API reports, metric data points and log events.
        startup_seconds: delay before a training job or endpoint starts working, so wait loops loop.
        account_id: account in ARNs and error messages.
    """

    def __init__(
        self,
        s3_client,
        state_dir: Path,
        *,
        logs_client=None,
        cloudwatch_client=None,
        clock: Callable[[], datetime] = _utc_now,
        startup_seconds: float = 1.0,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ):
        self._s3 = s3_client
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._logs = logs_client
        self._cloudwatch = cloudwatch_client
        self._clock = clock
        self.startup_seconds = startup_seconds
        self.account_id = account_id
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._servers: dict[str, dict[str, ModelServer]] = {}
        self._server_locks: dict[str, threading.Lock] = {}
        self._stop_requests: dict[str, str] = {}
        self._state_file = StateFile(self.state_dir / "sagemaker-state.json")
        self._state = self._state_file.load()
        self._mark_interrupted_work()
        self._bridge = BotocoreBridge(self._dispatch)
        self._operations: dict[tuple[str, str], Callable[[dict, str, dict], dict]] = {
            ("sagemaker", "CreateTrainingJob"): self._create_training_job,
            ("sagemaker", "DescribeTrainingJob"): self._describe_training_job,
            ("sagemaker", "StopTrainingJob"): self._stop_training_job,
            ("sagemaker", "ListTrainingJobs"): self._list_training_jobs,
            ("sagemaker", "CreateModel"): self._create_model,
            ("sagemaker", "DescribeModel"): self._describe_model,
            ("sagemaker", "DeleteModel"): self._delete_model,
            ("sagemaker", "ListModels"): self._list_models,
            ("sagemaker", "CreateEndpointConfig"): self._create_endpoint_config,
            ("sagemaker", "DescribeEndpointConfig"): self._describe_endpoint_config,
            ("sagemaker", "DeleteEndpointConfig"): self._delete_endpoint_config,
            ("sagemaker", "ListEndpointConfigs"): self._list_endpoint_configs,
            ("sagemaker", "CreateEndpoint"): self._create_endpoint,
            ("sagemaker", "DescribeEndpoint"): self._describe_endpoint,
            ("sagemaker", "DeleteEndpoint"): self._delete_endpoint,
            ("sagemaker", "ListEndpoints"): self._list_endpoints,
            ("sagemaker", "AddTags"): self._add_tags,
            ("sagemaker", "ListTags"): self._list_tags,
            ("sagemaker", "DeleteTags"): self._delete_tags,
            ("sagemaker-runtime", "InvokeEndpoint"): self._invoke_endpoint,
        }

    # ------------------------------------------------------------------ public API

    def install(self, session) -> None:
        """Serve every ``sagemaker``/``sagemaker-runtime`` client created from ``session`` afterwards.

        ``session`` is a ``boto3.Session`` or a ``botocore.session.Session``. For code that calls
        ``boto3.client(...)``, pass ``boto3._get_default_session()`` (or set up the default session
        first). Clients created before this call keep talking to their original endpoint.
        """
        botocore_session = getattr(session, "_session", session)
        self._bridge.register(botocore_session.get_component("event_emitter"))

    def close(self) -> None:
        """Stop model servers and background threads. State stays on disk for the next process."""
        self._closed.set()
        for thread in list(self._threads):
            thread.join(timeout=10)
        with self._lock:
            servers = [server for variants in self._servers.values() for server in variants.values()]
            self._servers.clear()
        for server in servers:
            server.stop()

    def republish(self, logs_client, cloudwatch_client) -> dict[str, int]:
        """Re-create recorded log groups/events and invocation data points in fresh clients.

        Use in a new process whose moto CloudWatch/Logs start empty, so that e.g. the cleanup sees
        what an earlier process did. Returns counts of what was written.
        """
        with self._lock:
            log_groups = copy.deepcopy(self._state["log_groups"])
            invocations = copy.deepcopy(self._state["invocations"])
        for group_name, group in log_groups.items():
            for stream_name, events in group["streams"].items():
                observability.put_log_events(logs_client, group_name, stream_name, events)
            if not group["streams"]:
                observability.ensure_log_group(logs_client, group_name)
        observability.put_invocation_metrics(cloudwatch_client, invocations)
        return {"log_groups": len(log_groups), "datapoints": len(invocations)}

    def endpoint_url(self, endpoint_name: str, variant_name: str | None = None) -> str | None:
        """The base URL of a running model server (None when it is not running in this process)."""
        with self._lock:
            variants = self._servers.get(endpoint_name) or {}
            server = variants.get(variant_name) if variant_name else next(iter(variants.values()), None)
            return server.url if server else None

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        value = self._clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def _arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"

    def _save(self) -> None:
        with self._lock:
            self._state_file.save(self._state)

    def _spawn(self, target: Callable, *args) -> None:
        thread = threading.Thread(
            target=target, args=args, daemon=True, name=f"local-sagemaker-{target.__name__}"
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _sleep(self, seconds: float, abort: Callable[[], bool]) -> bool:
        """Sleep up to ``seconds``; True when interrupted by ``abort()`` or ``close()``."""
        deadline = time.monotonic() + seconds
        while True:
            if abort() or self._closed.is_set():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._closed.wait(min(remaining, 0.05))

    def _dispatch(self, service: str, operation: str, params: dict, context: dict) -> dict:
        handler = self._operations.get((service, operation))
        if handler is None:
            raise SageMakerApiError(
                "UnknownOperationException", f"The local SageMaker emulator does not implement {operation}."
            )
        region = context.get("client_region") or "us-east-1"
        return handler(params, region, context)

    def _mark_interrupted_work(self) -> None:
        """Work that was running in a process that has gone cannot finish: report it failed."""
        now = self._now()
        for job in self._state["training_jobs"].values():
            if job["TrainingJobStatus"] in ("InProgress", "Stopping"):
                job.update(
                    TrainingJobStatus="Failed",
                    SecondaryStatus="Failed",
                    TrainingEndTime=now,
                    LastModifiedTime=now,
                    FailureReason=_INTERRUPTED.format(kind="training job"),
                )
        for endpoint in self._state["endpoints"].values():
            if endpoint["EndpointStatus"] == "Creating":
                endpoint.update(
                    EndpointStatus="Failed",
                    LastModifiedTime=now,
                    FailureReason=_INTERRUPTED.format(kind="endpoint creation"),
                )

    @staticmethod
    def _validate_name(value: str, field: str) -> None:
        if not _NAME_PATTERN.match(value or ""):
            raise validation_exception(
                f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
            )

    def _store_tags(self, arn: str, tags: list[dict] | None) -> None:
        if tags:
            current = {tag["Key"]: tag["Value"] for tag in self._state["tags"].get(arn, [])}
            current.update({tag["Key"]: tag.get("Value", "") for tag in tags})
            self._state["tags"][arn] = [{"Key": k, "Value": v} for k, v in current.items()]

    def _write_logs(self, group: str, stream: str, lines: list[tuple[datetime, str]]) -> None:
        events = [{"timestamp": int(ts.timestamp() * 1000), "message": message} for ts, message in lines]
        with self._lock:
            recorded = self._state["log_groups"].setdefault(group, {"streams": {}})
            kept = recorded["streams"].setdefault(stream, [])
            kept.extend(events)
            del kept[:-500]  # bounded: enough for republish, not a log archive
            self._save()
        if self._logs is not None:
            observability.put_log_events(self._logs, group, stream, events)

    # ------------------------------------------------------------------ training jobs

    def _create_training_job(self, params: dict, region: str, _context: dict) -> dict:
        name = params["TrainingJobName"]
        self._validate_name(name, "trainingJobName")
        arn = self._arn(region, "training-job", name)
        now = self._now()
        with self._lock:
            if name in self._state["training_jobs"]:
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
                    {
                        "Status": "Starting",
                        "StartTime": now,
                        "StatusMessage": "Launching requested ML instances",
                    }
                ],
            )
            self._state["training_jobs"][name] = job
            self._store_tags(arn, params.get("Tags"))
            self._save()
        self._spawn(self._run_training_job, name)
        return {"TrainingJobArn": arn}

    def _job_or_error(self, name: str) -> dict:
        job = self._state["training_jobs"].get(name)
        if job is None:
            raise validation_exception("Requested resource not found.")
        return job

    def _describe_training_job(self, params: dict, _region: str, _context: dict) -> dict:
        with self._lock:
            return copy.deepcopy(self._job_or_error(params["TrainingJobName"]))

    def _stop_training_job(self, params: dict, _region: str, _context: dict) -> dict:
        name = params["TrainingJobName"]
        with self._lock:
            job = self._job_or_error(name)
            if job["TrainingJobStatus"] != "InProgress":
                raise validation_exception(
                    "The request was rejected because the training job is in status "
                    f"{job['TrainingJobStatus']}."
                )
            self._stop_requests[name] = "Stopped"
            job["TrainingJobStatus"] = "Stopping"
            self._transition(job, "Stopping", "Stopping the training job")
            self._save()
        return {}

    def _list_training_jobs(self, params: dict, _region: str, _context: dict) -> dict:
        keys = (
            "TrainingJobName",
            "TrainingJobArn",
            "CreationTime",
            "TrainingEndTime",
            "LastModifiedTime",
            "TrainingJobStatus",
            "SecondaryStatus",
        )
        page, token = _paginate(
            self._summaries("training_jobs", keys), params, "TrainingJobName", "TrainingJobStatus"
        )
        return {"TrainingJobSummaries": page, **token}

    def _summaries(self, table: str, keys: tuple[str, ...]) -> list[dict]:
        """List* rows, copied under the lock (background threads change the tables)."""
        with self._lock:
            return [
                {key: copy.deepcopy(record[key]) for key in keys if key in record}
                for record in self._state[table].values()
            ]

    def _transition(self, job: dict, status: str, message: str) -> None:
        now = self._now()
        transitions = job.setdefault("SecondaryStatusTransitions", [])
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
        job["SecondaryStatus"] = status
        job["LastModifiedTime"] = now

    def _run_training_job(self, name: str) -> None:
        started = time.monotonic()
        with self._lock:
            job = copy.deepcopy(self._state["training_jobs"][name])
        max_runtime = (job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")

        def stop_reason() -> str | None:
            if self._closed.is_set():
                return "closed"
            if name in self._stop_requests:
                return self._stop_requests[name]
            if max_runtime and time.monotonic() - started > max_runtime:
                return "MaxRuntimeExceeded"
            return None

        if self._sleep(self.startup_seconds, lambda: stop_reason() is not None):
            self._finish_training(name, stop_reason() or "closed", None, None, [])
            return

        log_lines: list[tuple[datetime, str]] = []
        phase_messages = {
            "Downloading": "Starting the training job. Downloading input data",
            "Training": "Downloading the training image completed. Training in progress.",
            "Uploading": "Uploading generated training model",
        }

        def on_phase(status: str) -> None:
            with self._lock:
                live = self._state["training_jobs"][name]
                if live["TrainingJobStatus"] != "InProgress":
                    return
                if status == "Downloading":
                    live["TrainingStartTime"] = self._now()
                self._transition(live, status, phase_messages[status])
                self._save()

        work_dir = scratch_dir(self.state_dir / "training", name)
        try:
            outcome = train_job(
                job,
                self._s3,
                work_dir,
                on_phase=on_phase,
                should_stop=stop_reason,
                log=lambda line: log_lines.append((self._now(), line)),
            )
        except TrainingStopped as stopped:
            self._finish_training(name, str(stopped), None, None, log_lines)
        except (UserError, AlgorithmError, DataDownloadError) as error:
            log_lines.append((self._now(), f"ERROR: {error}"))
            self._finish_training(name, "Failed", failure_reason(error), None, log_lines)
        except Exception as error:  # noqa: BLE001 — any surprise is the algorithm's failure, as in SageMaker
            log_lines.append((self._now(), f"ERROR: {error!r}"))
            self._finish_training(
                name, "Failed", failure_reason(AlgorithmError(repr(error))), None, log_lines
            )
        else:
            self._finish_training(name, "Completed", None, outcome, log_lines)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _finish_training(self, name: str, result: str, reason: str | None, outcome, log_lines) -> None:
        if result == "closed":
            return  # this process is going away; the next one reports the job as interrupted
        with self._lock:
            job = self._state["training_jobs"][name]
            stream_time = job.get("TrainingStartTime") or job["CreationTime"]
        if log_lines:
            # Logs first: a caller that sees the final status can read the whole log.
            stream = f"{name}/algo-1-{int(stream_time.timestamp())}"
            self._write_logs("/aws/sagemaker/TrainingJobs", stream, log_lines)
        now = self._now()
        with self._lock:
            job = self._state["training_jobs"][name]
            self._stop_requests.pop(name, None)
            if result == "Completed":
                job["TrainingJobStatus"] = "Completed"
                self._transition(job, "Completed", "Training job completed")
                job["ModelArtifacts"] = {"S3ModelArtifacts": outcome.model_s3_uri}
                job["FinalMetricDataList"] = [
                    {"MetricName": metric, "Value": value, "Timestamp": now}
                    for metric, value in sorted(outcome.final_metrics.items())
                ]
            elif result == "Failed":
                job["TrainingJobStatus"] = "Failed"
                job["FailureReason"] = reason
                self._transition(job, "Failed", "Training job failed")
            else:  # Stopped or MaxRuntimeExceeded
                job["TrainingJobStatus"] = "Stopped"
                self._transition(
                    job,
                    result,
                    "Training job stopped"
                    if result == "Stopped"
                    else "Training job exceeded MaxRuntimeInSeconds",
                )
            job["SecondaryStatusTransitions"][-1]["EndTime"] = now
            job["TrainingEndTime"] = now
            start = job.get("TrainingStartTime") or job["CreationTime"]
            seconds = max(1, int((now - start).total_seconds()))
            job["TrainingTimeInSeconds"] = seconds
            job["BillableTimeInSeconds"] = seconds
            self._save()

    # ------------------------------------------------------------------ models

    def _create_model(self, params: dict, region: str, _context: dict) -> dict:
        name = params["ModelName"]
        self._validate_name(name, "modelName")
        arn = self._arn(region, "model", name)
        containers = (
            [params["PrimaryContainer"]] if params.get("PrimaryContainer") else params.get("Containers")
        )
        if not containers:
            raise validation_exception("Either PrimaryContainer or Containers must be provided.")
        for container in containers:
            if container.get("ModelDataUrl"):
                self._check_model_data(container["ModelDataUrl"])
        with self._lock:
            if name in self._state["models"]:
                raise already_exists("model", arn)
            model = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            model.setdefault("EnableNetworkIsolation", False)
            model.update(ModelArn=arn, CreationTime=self._now())
            self._state["models"][name] = model
            self._store_tags(arn, params.get("Tags"))
            self._save()
        return {"ModelArn": arn}

    def _check_model_data(self, url: str) -> None:
        bucket, key = parse_s3_uri(url)
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as error:
            raise validation_exception(f"Could not find model data at {url}.") from error

    def _describe_model(self, params: dict, region: str, _context: dict) -> dict:
        name = params["ModelName"]
        with self._lock:
            model = self._state["models"].get(name)
            if model is None:
                raise could_not_find("model", self._arn(region, "model", name))
            return copy.deepcopy(model)

    def _delete_model(self, params: dict, region: str, _context: dict) -> dict:
        name = params["ModelName"]
        with self._lock:
            model = self._state["models"].pop(name, None)
            if model is None:
                raise could_not_find("model", self._arn(region, "model", name))
            self._state["tags"].pop(model["ModelArn"], None)
            self._save()
        return {}

    def _list_models(self, params: dict, _region: str, _context: dict) -> dict:
        summaries = self._summaries("models", ("ModelName", "ModelArn", "CreationTime"))
        page, token = _paginate(summaries, params, "ModelName", None)
        return {"Models": page, **token}

    # ------------------------------------------------------------------ endpoint configs

    def _create_endpoint_config(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointConfigName"]
        self._validate_name(name, "endpointConfigName")
        arn = self._arn(region, "endpoint-config", name)
        variants = params.get("ProductionVariants") or []
        with self._lock:
            if name in self._state["endpoint_configs"]:
                raise already_exists("endpoint configuration", arn)
            for index, variant in enumerate(variants, start=1):
                self._validate_variant(variant, index)
                if variant["ModelName"] not in self._state["models"]:
                    raise could_not_find("model", self._arn(region, "model", variant["ModelName"]))
            config = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            for variant in config["ProductionVariants"]:
                if "ServerlessConfig" not in variant:
                    variant.setdefault("InitialVariantWeight", 1.0)
            config.update(EndpointConfigArn=arn, CreationTime=self._now())
            self._state["endpoint_configs"][name] = config
            self._store_tags(arn, params.get("Tags"))
            self._save()
        return {"EndpointConfigArn": arn}

    @staticmethod
    def _validate_variant(variant: dict, index: int) -> None:
        serverless = variant.get("ServerlessConfig")
        if serverless and variant.get("InstanceType"):
            raise validation_exception(
                "ServerlessConfig and InstanceType cannot both be specified "
                f"for production variant {variant['VariantName']}."
            )
        if not serverless and not variant.get("InstanceType"):
            raise validation_exception(
                f"InstanceType is required for production variant {variant['VariantName']} "
                "unless ServerlessConfig is specified."
            )
        if serverless:
            memory = serverless.get("MemorySizeInMB", 0)
            if memory < 1024 or memory > 6144 or memory % 1024:
                raise validation_exception(
                    f"1 validation error detected: Value '{memory}' at "
                    f"'productionVariants.{index}.member.serverlessConfig.memorySizeInMB' failed to satisfy "
                    "constraint: Member must be one of 1024, 2048, 3072, 4096, 5120, 6144"
                )
            concurrency = serverless.get("MaxConcurrency", 0)
            if not 1 <= concurrency <= 200:
                raise validation_exception(
                    f"1 validation error detected: Value '{concurrency}' at "
                    f"'productionVariants.{index}.member.serverlessConfig.maxConcurrency' failed to satisfy "
                    "constraint: Member must have value less than or equal to 200"
                )

    def _describe_endpoint_config(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointConfigName"]
        with self._lock:
            config = self._state["endpoint_configs"].get(name)
            if config is None:
                raise could_not_find("endpoint configuration", self._arn(region, "endpoint-config", name))
            return copy.deepcopy(config)

    def _delete_endpoint_config(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointConfigName"]
        with self._lock:
            config = self._state["endpoint_configs"].pop(name, None)
            if config is None:
                raise could_not_find("endpoint configuration", self._arn(region, "endpoint-config", name))
            self._state["tags"].pop(config["EndpointConfigArn"], None)
            self._save()
        return {}

    def _list_endpoint_configs(self, params: dict, _region: str, _context: dict) -> dict:
        summaries = self._summaries(
            "endpoint_configs", ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
        )
        page, token = _paginate(summaries, params, "EndpointConfigName", None)
        return {"EndpointConfigs": page, **token}

    # ------------------------------------------------------------------ endpoints

    def _create_endpoint(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointName"]
        self._validate_name(name, "endpointName")
        arn = self._arn(region, "endpoint", name)
        config_name = params["EndpointConfigName"]
        now = self._now()
        with self._lock:
            if name in self._state["endpoints"]:
                raise already_exists("endpoint", arn)
            config = self._state["endpoint_configs"].get(config_name)
            if config is None:
                raise could_not_find(
                    "endpoint configuration", self._arn(region, "endpoint-config", config_name)
                )
            # The endpoint keeps what it was created from, even if config or model are deleted later.
            variants = []
            for variant in config["ProductionVariants"]:
                model = self._state["models"].get(variant["ModelName"])
                if model is None:
                    raise could_not_find("model", self._arn(region, "model", variant["ModelName"]))
                variants.append({"variant": copy.deepcopy(variant), "model": copy.deepcopy(model)})
            self._state["endpoints"][name] = {
                "EndpointName": name,
                "EndpointArn": arn,
                "EndpointConfigName": config_name,
                "EndpointStatus": "Creating",
                "CreationTime": now,
                "LastModifiedTime": now,
                "_region": region,
                "_variants": variants,
                "_log_stream_suffix": f"i-{secrets.token_hex(8)[:17]}",
            }
            self._store_tags(arn, params.get("Tags"))
            self._save()
        self._spawn(self._run_endpoint_creation, name, arn)
        return {"EndpointArn": arn}

    def _run_endpoint_creation(self, name: str, arn: str) -> None:
        def gone() -> bool:
            endpoint = self._state["endpoints"].get(name)
            return endpoint is None or endpoint["EndpointArn"] != arn

        if self._sleep(self.startup_seconds, gone):
            return
        with self._lock:
            endpoint = copy.deepcopy(self._state["endpoints"].get(name))
        if endpoint is None:
            return
        try:
            servers = self._start_model_servers(endpoint)
        except _EndpointStartError as error:
            with self._lock:
                live = self._state["endpoints"].get(name)
                if live is not None and live["EndpointArn"] == arn:
                    live.update(
                        EndpointStatus="Failed", FailureReason=error.reason, LastModifiedTime=self._now()
                    )
                    self._save()
            return
        with self._lock:
            live = self._state["endpoints"].get(name)
            if live is None or live["EndpointArn"] != arn or self._closed.is_set():
                keep = False
            else:
                keep = True
                self._servers[name] = servers
                live.update(EndpointStatus="InService", LastModifiedTime=self._now())
                self._save()
        if not keep:
            for server in servers.values():
                server.stop()

    def _start_model_servers(self, endpoint: dict) -> dict[str, ModelServer]:
        """Download, extract and load each variant's model and start its HTTP server."""
        servers: dict[str, ModelServer] = {}
        try:
            for entry in endpoint["_variants"]:
                variant_name = entry["variant"]["VariantName"]
                stream = f"{variant_name}/{endpoint['_log_stream_suffix']}"
                group = f"/aws/sagemaker/Endpoints/{endpoint['EndpointName']}"
                servers[variant_name] = self._start_variant_server(endpoint, entry, group, stream)
        except _EndpointStartError:
            for server in servers.values():
                server.stop()
            raise
        return servers

    def _start_variant_server(self, endpoint: dict, entry: dict, group: str, stream: str) -> ModelServer:
        variant_name = entry["variant"]["VariantName"]
        model = entry["model"]
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        unhealthy = (
            f"The primary container for production variant {variant_name} did not pass the ping "
            "health check. Please check CloudWatch logs for this endpoint."
        )
        lines = [(self._now(), "Starting the local XGBoost model server (sagedrop local SageMaker)")]
        model_dir = self.state_dir / "endpoints" / endpoint["EndpointName"] / variant_name / "model"
        shutil.rmtree(model_dir, ignore_errors=True)
        model_dir.mkdir(parents=True)
        url = container.get("ModelDataUrl")
        try:
            if not url:
                raise ModelLoadError("No ModelDataUrl: the container found no model in /opt/ml/model")
            bucket, key = parse_s3_uri(url)
            try:
                archive = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except botocore.exceptions.ClientError as error:
                lines.append((self._now(), f"ERROR: {error}"))
                self._write_logs(group, stream, lines)
                raise _EndpointStartError(
                    f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there "
                    "is an object located at the URL and that the role passed to CreateModel has permissions "
                    "to download the model."
                ) from error
            try:
                with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                    tar.extractall(model_dir, filter="data")
            except (tarfile.TarError, OSError, EOFError) as error:
                raise ModelLoadError(f"Model archive {url} could not be extracted: {error}") from error
            for path in sorted(model_dir.iterdir()):
                lines.append((self._now(), f"Loading the model from {path.name}"))
            boosters = load_boosters(model_dir)
        except ModelLoadError as error:
            lines.append((self._now(), f"ERROR: {error}"))
            self._write_logs(group, stream, lines)
            raise _EndpointStartError(unhealthy) from error
        server = ModelServer(boosters).start()
        if not _ping(server.port):
            server.stop()
            raise _EndpointStartError(unhealthy)
        lines.append((self._now(), f"Model loaded successfully; listening at {server.url}"))
        self._write_logs(group, stream, lines)
        return server

    def _public_endpoint(self, endpoint: dict) -> dict:
        public = {key: copy.deepcopy(value) for key, value in endpoint.items() if not key.startswith("_")}
        if endpoint["EndpointStatus"] in ("InService", "Updating", "Deleting"):
            public["ProductionVariants"] = [
                self._variant_summary(entry, endpoint) for entry in endpoint["_variants"]
            ]
        return public

    @staticmethod
    def _variant_summary(entry: dict, endpoint: dict) -> dict:
        variant = entry["variant"]
        container = entry["model"].get("PrimaryContainer") or (entry["model"].get("Containers") or [{}])[0]
        image = container.get("Image", "")
        summary = {
            "VariantName": variant["VariantName"],
            "DeployedImages": [
                {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": endpoint["CreationTime"]}
            ],
        }
        if "ServerlessConfig" in variant:
            summary.update(
                CurrentWeight=1.0,
                DesiredWeight=1.0,
                CurrentServerlessConfig=copy.deepcopy(variant["ServerlessConfig"]),
                DesiredServerlessConfig=copy.deepcopy(variant["ServerlessConfig"]),
            )
        else:
            weight = float(variant.get("InitialVariantWeight", 1.0))
            count = variant.get("InitialInstanceCount", 1)
            summary.update(
                CurrentWeight=weight,
                DesiredWeight=weight,
                CurrentInstanceCount=count,
                DesiredInstanceCount=count,
            )
        return summary

    def _describe_endpoint(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointName"]
        with self._lock:
            endpoint = self._state["endpoints"].get(name)
            if endpoint is None:
                raise could_not_find("endpoint", self._arn(region, "endpoint", name))
            return self._public_endpoint(endpoint)

    def _delete_endpoint(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointName"]
        with self._lock:
            endpoint = self._state["endpoints"].pop(name, None)
            if endpoint is None:
                raise could_not_find("endpoint", self._arn(region, "endpoint", name))
            self._state["tags"].pop(endpoint["EndpointArn"], None)
            servers = self._servers.pop(name, {})
            self._save()
        for server in servers.values():
            server.stop()
        return {}

    def _list_endpoints(self, params: dict, _region: str, _context: dict) -> dict:
        keys = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
        page, token = _paginate(self._summaries("endpoints", keys), params, "EndpointName", "EndpointStatus")
        return {"Endpoints": page, **token}

    # ------------------------------------------------------------------ tags

    def _resource_exists(self, arn: str) -> bool:
        arn = arn.lower()
        records = [
            (self._state["training_jobs"], "TrainingJobArn"),
            (self._state["models"], "ModelArn"),
            (self._state["endpoint_configs"], "EndpointConfigArn"),
            (self._state["endpoints"], "EndpointArn"),
        ]
        return any(record[key].lower() == arn for table, key in records for record in table.values())

    def _add_tags(self, params: dict, _region: str, _context: dict) -> dict:
        arn = params["ResourceArn"]
        with self._lock:
            if not self._resource_exists(arn):
                raise validation_exception(f"Resource {arn} does not exist.")
            self._store_tags(arn, params.get("Tags") or [])
            if len(self._state["tags"].get(arn, [])) > 50:
                raise SageMakerApiError("ResourceLimitExceeded", "A resource can have at most 50 tags.")
            self._save()
        return {"Tags": copy.deepcopy(params.get("Tags") or [])}

    def _list_tags(self, params: dict, _region: str, _context: dict) -> dict:
        arn = params["ResourceArn"]
        with self._lock:
            if not self._resource_exists(arn):
                raise validation_exception(f"Resource {arn} does not exist.")
            tags = copy.deepcopy(self._state["tags"].get(arn, []))
        start = _decode_token(params.get("NextToken"))
        size = params.get("MaxResults") or 50
        result: dict[str, Any] = {"Tags": tags[start : start + size]}
        if start + size < len(tags):
            result["NextToken"] = _encode_token(start + size)
        return result

    def _delete_tags(self, params: dict, _region: str, _context: dict) -> dict:
        arn = params["ResourceArn"]
        with self._lock:
            if not self._resource_exists(arn):
                raise validation_exception(f"Resource {arn} does not exist.")
            remove = set(params.get("TagKeys") or [])
            self._state["tags"][arn] = [t for t in self._state["tags"].get(arn, []) if t["Key"] not in remove]
            self._save()
        return {}

    # ------------------------------------------------------------------ runtime

    def _invoke_endpoint(self, params: dict, region: str, context: dict) -> dict:
        name = params["EndpointName"]
        body = _read_body(params.get("Body", b""))
        with self._lock:
            endpoint = self._state["endpoints"].get(name)
            if endpoint is None or endpoint["EndpointStatus"] != "InService":
                raise runtime_validation_error(f"Endpoint {name} of account {self.account_id} not found.")
            entries = {entry["variant"]["VariantName"]: entry for entry in endpoint["_variants"]}
        variant_name = params.get("TargetVariant") or next(iter(entries))
        if variant_name not in entries:
            raise runtime_validation_error(f"Variant {variant_name} not found for endpoint {name}.")
        serverless = "ServerlessConfig" in entries[variant_name]["variant"]
        limit = MAX_SERVERLESS_PAYLOAD_BYTES if serverless else MAX_PAYLOAD_BYTES
        if len(body) > limit:
            raise runtime_validation_error(f"Request {context.get('sagedrop_request_id')} has oversize body.")
        server = self._running_server(name, variant_name)
        headers = {"Content-Type": params.get("ContentType") or "application/octet-stream"}
        if params.get("Accept"):
            headers["Accept"] = params["Accept"]
        started = time.perf_counter()
        status, response_type, payload = _post(server.port, body, headers)
        latency_us = int((time.perf_counter() - started) * 1_000_000)
        self._record_invocation(name, variant_name, latency_us)
        if status != 200:
            text = payload.decode("utf-8", errors="replace")
            side = "client" if status < 500 else "server"
            log_stream_arn = (
                f"arn:aws:logs:{region}:{self.account_id}:log-group:/aws/sagemaker/Endpoints/{name}"
            )
            raise SageMakerApiError(
                "ModelError",
                f'Received {side} error ({status}) from primary with message "{text}". See '
                f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:"
                f"group=/aws/sagemaker/Endpoints/{name} in account {self.account_id} for more information.",
                status_code=424,
                extra={"OriginalStatusCode": status, "OriginalMessage": text, "LogStreamArn": log_stream_arn},
            )
        return {
            "Body": StreamingBody(io.BytesIO(payload), len(payload)),
            "ContentType": response_type,
            "InvokedProductionVariant": variant_name,
        }

    def _running_server(self, name: str, variant_name: str) -> ModelServer:
        """The variant's server; started lazily for an endpoint an earlier process left InService."""
        with self._lock:
            lock = self._server_locks.setdefault(name, threading.Lock())
        with lock:
            with self._lock:
                running = self._servers.get(name)
                endpoint = copy.deepcopy(self._state["endpoints"].get(name))
            if running is None:
                try:
                    running = self._start_model_servers(endpoint)
                except _EndpointStartError as error:
                    raise SageMakerApiError(
                        "ServiceUnavailable",
                        f"Endpoint {name} is unavailable: {error.reason}",
                        status_code=503,
                    ) from error
                with self._lock:
                    self._servers[name] = running
            return running[variant_name]

    def _record_invocation(self, name: str, variant_name: str, latency_us: int) -> None:
        point = {
            "EndpointName": name,
            "VariantName": variant_name,
            "Timestamp": self._now(),
            "ModelLatency": latency_us,
        }
        with self._lock:
            self._state["invocations"].append(point)
            self._save()
        if self._cloudwatch is not None:
            observability.put_invocation_metrics(self._cloudwatch, [point])


class _EndpointStartError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read_body(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return bytes(body)


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # SageMaker's 60 s limit
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", "text/csv"), response.read()
    finally:
        connection.close()


def _ping(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise validation_exception("Invalid pagination token.") from error


def _as_datetime(value: Any) -> datetime:
    return parse_to_aware_datetime(value)


def _paginate(
    items: list[dict], params: dict, name_key: str, status_key: str | None
) -> tuple[list[dict], dict]:
    """Filter, sort and page a List* call the way the SageMaker list APIs define their parameters."""
    if params.get("NameContains"):
        needle = params["NameContains"].lower()
        items = [item for item in items if needle in item[name_key].lower()]
    if status_key and params.get("StatusEquals"):
        items = [item for item in items if item.get(status_key) == params["StatusEquals"]]
    for param, key, keep in (
        ("CreationTimeBefore", "CreationTime", lambda a, b: a < b),
        ("CreationTimeAfter", "CreationTime", lambda a, b: a > b),
        ("LastModifiedTimeBefore", "LastModifiedTime", lambda a, b: a < b),
        ("LastModifiedTimeAfter", "LastModifiedTime", lambda a, b: a > b),
    ):
        if params.get(param) is not None:
            bound = _as_datetime(params[param])
            items = [item for item in items if key in item and keep(item[key], bound)]
    sort_by = params.get("SortBy") or "CreationTime"
    sort_key = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key}.get(
        sort_by
    ) or "CreationTime"
    descending = (params.get("SortOrder") or "Descending") == "Descending"
    items = sorted(items, key=lambda item: (item.get(sort_key), item[name_key]), reverse=descending)
    start = _decode_token(params.get("NextToken"))
    size = min(params.get("MaxResults") or 10, 100)
    page = copy.deepcopy(items[start : start + size])
    token = {"NextToken": _encode_token(start + size)} if start + size < len(items) else {}
    return page, token
