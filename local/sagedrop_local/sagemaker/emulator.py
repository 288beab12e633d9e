"""``LocalSageMaker``: the SageMaker control plane and runtime, in-process, doing real work.

Training jobs really train in a background thread (xgboost for the XGBoost image, a numpy linear
model for the Linear Learner image); endpoints really serve the model over HTTP on 127.0.0.1. The
tables are persisted in the state directory after every change, so a later process, or another one
running beside this one, sees the resources this one made.

The parts: ``store`` (tables, the lock, atomic cross-process writes), ``training_jobs``,
``transform_jobs`` (Batch Transform), ``processing_jobs`` (Processing: a script over S3 data),
``hosting`` (models, endpoint configs), ``endpoints``,
``endpoint_worker`` (model servers), ``model_containers`` and ``inference_pipeline`` (models that
run a pipeline of containers or the tarball's own code),
``tuning_jobs`` (Automatic Model Tuning: its trials are training jobs),
``runtime`` (InvokeEndpoint), ``algorithms`` (which emulation an image gets: ``training`` and
``model_server`` for XGBoost, the ``linear_learner*`` modules for Linear Learner), ``tags``,
``listing`` (List* paging), ``workers`` (threads), ``faults`` (injected errors), ``long_poll``
(Describe calls that wait for a status change). This class wires
them and routes each API call to its part.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sagedrop.image_uris import SKLEARN, XGBOOST, image_uri, supported_versions

from . import observability
from .botocore_bridge import BotocoreBridge
from .context import DEFAULT_ACCOUNT_ID, Local, utc_now
from .endpoint_worker import EndpointWorker
from .endpoints import Endpoints
from .errors import SageMakerApiError
from .faults import FaultPlan
from .hosting import Hosting
from .long_poll import Handler, long_polling
from .processing_container import runner_kind
from .processing_jobs import ProcessingJobs
from .runtime import Runtime
from .script_mode import script_kind
from .store import Store
from .tags import Tags
from .training_jobs import TrainingJobs
from .transform_jobs import TransformJobs
from .tuning_jobs import TuningJobs
from .warm import WarmInterpreters
from .workers import Workers, fail_unfinished, orphaned, sweep_scratch


class LocalSageMaker:
    """An in-process SageMaker for ``boto3`` clients of ``sagemaker`` and ``sagemaker-runtime``.

    Args:
        s3_client: S3 client (moto in practice) used to read channels, write and read model artifacts.
        state_dir: directory holding ``sagemaker-state.json`` and scratch space; created if missing.
            Several instances and processes may share it.
        logs_client: optional CloudWatch Logs client; training and endpoint logs are written to it.
        cloudwatch_client: optional CloudWatch client; each invocation puts ``AWS/SageMaker``
            ``Invocations`` (dimensions EndpointName and VariantName) and ``ModelLatency``.
        clock: returns "now" (timezone-aware; naive values are taken as UTC). Used for every
            timestamp the API reports, metric data points and log events.
        startup_seconds: delay before a training job or endpoint starts working, so wait loops loop.
        account_id: account in ARNs and error messages.
        faults: errors to inject (a ``FaultPlan`` or its text, see ``faults``); by default the
            ``SAGEDROP_LOCAL_FAULTS`` environment variable.
        warm_containers: start container processes ahead of need (``warm``); off, each starts cold.
        long_poll_seconds: hold back the Describe of a job in progress or an endpoint being created
            until its status changes, for up to this long (``long_poll``); 0 answers at once.
    """

    def __init__(
        self,
        s3_client,
        state_dir: Path,
        *,
        logs_client=None,
        cloudwatch_client=None,
        clock: Callable[[], datetime] = utc_now,
        startup_seconds: float = 1.0,
        account_id: str = DEFAULT_ACCOUNT_ID,
        faults: FaultPlan | str | None = None,
        warm_containers: bool = False,
        long_poll_seconds: float = 0.0,
    ):
        if isinstance(faults, FaultPlan):
            self.faults = faults
        else:
            self.faults = FaultPlan.from_environment() if faults is None else FaultPlan.parse(faults)
        # Absolute: script-mode containers run with their model folder as the working directory.
        self.state_dir = Path(state_dir).absolute()
        self._store = Store(self.state_dir)
        self._local = Local(
            store=self._store,
            s3=s3_client,
            state_dir=self.state_dir,
            logs=logs_client,
            cloudwatch=cloudwatch_client,
            clock=clock,
            account_id=account_id,
            startup_seconds=startup_seconds,
            interpreters=WarmInterpreters(self.state_dir) if warm_containers else None,
        )
        self._workers = Workers()
        self._endpoint_worker = EndpointWorker(self._local, self._workers)
        self._transform_jobs = TransformJobs(self._local, self._workers)
        parts = (
            TrainingJobs(self._local, self._workers),
            TuningJobs(self._local, self._workers),
            self._transform_jobs,
            ProcessingJobs(self._local, self._workers),
            Hosting(self._local),
            Endpoints(self._local, self._workers, self._endpoint_worker),
            Tags(self._local),
            Runtime(self._local, self._endpoint_worker),
        )
        self._operations: dict[tuple[str, str], Handler] = {}
        for part in parts:
            self._operations.update(part.operations())
        for key, handler in self._operations.items():
            self._operations[key] = long_polling(key[1], handler, self._store, long_poll_seconds)
        self.faults.require_known(operation for _service, operation in self._operations)
        with self._store.write() as tables:
            # Work whose process has gone cannot finish: report it failed, remove its files.
            fail_unfinished(tables, self._local.now(), orphaned)
            sweep_scratch(self.state_dir, tables)
        self._bridge = BotocoreBridge(self._dispatch)

    @property
    def startup_seconds(self) -> float:
        return self._local.startup_seconds

    @startup_seconds.setter
    def startup_seconds(self, value: float) -> None:
        self._local.startup_seconds = value

    @property
    def account_id(self) -> str:
        return self._local.account_id

    def install(self, session) -> None:
        """Serve every ``sagemaker``/``sagemaker-runtime`` client created from ``session`` afterwards.

        ``session`` is a ``boto3.Session`` or a ``botocore.session.Session``. For code that calls
        ``boto3.client(...)``, pass ``boto3._get_default_session()`` (or set up the default session
        first). Clients created before this call keep talking to their original endpoint. A log
        group deleted through the session's Logs clients is forgotten, so ``republish`` will not
        bring it back.
        """
        botocore_session = getattr(session, "_session", session)
        events = botocore_session.get_component("event_emitter")
        self._bridge.register(events)
        self._bridge.watch(
            events,
            "cloudwatch-logs",
            "DeleteLogGroup",
            lambda params: self._local.forget_log_group(params.get("logGroupName", "")),
        )

    def prewarm(self) -> None:
        """Start, in the background, the container processes a run of the pipeline needs first.

        Two scikit-learn serving containers (the inference pipeline's first and last stages) and
        the analysis job's XGBoost Processing container; the next ones start as these are taken.
        """
        if self._local.interpreters is not None:
            self._local.interpreters.prepare(script_kind(image_uri(SKLEARN, "us-east-1")), count=2)
            self._local.interpreters.prepare(runner_kind(image_uri(XGBOOST, "us-east-1", supported_versions()[0])))

    def close(self) -> None:
        """Stop model servers and background threads. State stays on disk for the next process.

        Work this instance could not finish is recorded as failed now, not left in progress.
        """
        if self._local.interpreters is not None:
            self._local.interpreters.close()
        self._workers.close()
        self._endpoint_worker.stop_all()
        owner = self._store.owner
        with self._store.write() as tables:
            fail_unfinished(tables, self._local.now(), lambda record: record.get("_owner") == owner)
        self._transform_jobs.interrupted(lambda record: record.get("_owner") == owner)
        self._store.release()

    def republish(self, logs_client, cloudwatch_client) -> dict[str, int]:
        """Re-create recorded log groups/events and invocation data points in fresh clients.

        Use in a new process whose moto CloudWatch/Logs start empty, so that e.g. the cleanup sees
        what an earlier process did. Returns counts of what was written.
        """
        with self._store.read() as tables:
            log_groups = copy.deepcopy(tables["log_groups"])
            invocations = copy.deepcopy(tables["invocations"])
        for group_name, group in log_groups.items():
            for stream_name, events in group["streams"].items():
                observability.put_log_events(logs_client, group_name, stream_name, events)
            if not group["streams"]:
                observability.ensure_log_group(logs_client, group_name)
        observability.put_invocation_metrics(cloudwatch_client, invocations)
        return {"log_groups": len(log_groups), "datapoints": len(invocations)}

    def endpoint_url(self, endpoint_name: str, variant_name: str | None = None) -> str | None:
        """The base URL of a running model server (None when it is not running in this process)."""
        return self._endpoint_worker.url(endpoint_name, variant_name)

    def _dispatch(self, service: str, operation: str, params: dict, context: dict) -> dict:
        handler = self._operations.get((service, operation))
        if handler is None:
            raise SageMakerApiError(
                "UnknownOperationException", f"The local SageMaker emulator does not implement {operation}."
            )
        fault = self.faults.take(operation)
        if fault is not None:
            raise fault.exception()
        region = context.get("client_region") or "us-east-1"
        return handler(params, region, context)
