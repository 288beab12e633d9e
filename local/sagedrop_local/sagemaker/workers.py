"""Background threads of the local SageMaker, and what happens to work they cannot finish.

A thread that raises never leaves its job or endpoint in progress: ``spawn`` hands the exception
to the caller's ``on_crash``, which records the resource as Failed with the reason. Work left
unfinished by a closed instance or a dead process is reported Failed (``InternalServerError``),
and the scratch files of work that is over are removed.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .store import Tables, owner_is_live
from .training import FAILURE_REASON_LIMIT

LOG = logging.getLogger(__name__)
TRAINING_SCRATCH = "training"
ENDPOINT_SCRATCH = "endpoints"
_INTERRUPTED = (
    "InternalServerError: the local SageMaker process that was running this {kind} exited before it finished."
)


def crash_reason(kind: str, error: BaseException) -> str:
    """FailureReason for an unexpected exception in the local SageMaker itself."""
    text = f"InternalServerError: the local SageMaker failed while {kind}: {type(error).__name__}: {error}"
    return text[:FAILURE_REASON_LIMIT]


class Workers:
    """Starts daemon threads, lets them sleep interruptibly, and stops them all on ``close``."""

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def spawn(self, target: Callable, *args, on_crash: Callable[[BaseException], None]) -> None:
        """Run ``target(*args)`` in a thread; an exception it raises goes to ``on_crash``."""

        def run() -> None:
            try:
                target(*args)
            except Exception as error:  # noqa: BLE001 — every failure must end in a recorded state
                LOG.exception("local SageMaker worker %s failed", target.__name__)
                try:
                    on_crash(error)
                except Exception:  # noqa: BLE001 — nothing left to tell but the log
                    LOG.exception("could not record the failure of %s", target.__name__)

        owner = getattr(target, "__self__", None)  # "local-sagemaker-TrainingJobs._run": which work, in a dump
        what = f"{type(owner).__name__}.{target.__name__}" if owner is not None else target.__name__
        thread = threading.Thread(target=run, daemon=True, name=f"local-sagemaker-{what}")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def sleep(self, seconds: float, abort: Callable[[], bool]) -> bool:
        """Sleep up to ``seconds``; True when interrupted by ``abort()`` or ``close()``."""
        deadline = time.monotonic() + seconds
        while True:
            if abort() or self._closed.is_set():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._closed.wait(min(remaining, 0.05))

    def close(self, timeout: float = 10) -> None:
        self._closed.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=timeout)


def fail_unfinished(tables: Tables, now: datetime, unfinished: Callable[[dict], bool]) -> None:
    """Report Failed every training job and endpoint creation that ``unfinished`` says cannot end."""
    for job in tables["training_jobs"].values():
        if job["TrainingJobStatus"] in ("InProgress", "Stopping") and unfinished(job):
            job.update(
                TrainingJobStatus="Failed",
                SecondaryStatus="Failed",
                TrainingEndTime=now,
                LastModifiedTime=now,
                FailureReason=_INTERRUPTED.format(kind="training job"),
            )
    for endpoint in tables["endpoints"].values():
        if endpoint["EndpointStatus"] == "Creating" and unfinished(endpoint):
            endpoint.update(
                EndpointStatus="Failed",
                LastModifiedTime=now,
                FailureReason=_INTERRUPTED.format(kind="endpoint creation"),
            )


def orphaned(record: dict) -> bool:
    """Work whose owner (an instance, in this or another process) is gone."""
    return not owner_is_live(record.get("_owner"))


def sweep_scratch(state_dir: Path, tables: Tables) -> None:
    """Remove files of work that is over: training scratch of ended jobs, files of deleted endpoints."""
    training = state_dir / TRAINING_SCRATCH
    running = {
        name for name, job in tables["training_jobs"].items() if job["TrainingJobStatus"] in ("InProgress", "Stopping")
    }
    if training.is_dir():
        for folder in training.iterdir():
            # scratch_dir names a folder "<job name>-<random>", and the random part has no '-'
            if folder.name.rsplit("-", 1)[0] not in running:
                shutil.rmtree(folder, ignore_errors=True)
    endpoints = state_dir / ENDPOINT_SCRATCH
    if endpoints.is_dir():
        for folder in endpoints.iterdir():
            if folder.name not in tables["endpoints"]:
                shutil.rmtree(folder, ignore_errors=True)
