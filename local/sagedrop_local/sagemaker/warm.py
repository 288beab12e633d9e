"""Container processes started ahead of need, so a job or an endpoint does not wait for imports.

A local container is a fresh Python process (``processing_python``, ``script_container``), and its
first half second goes to importing numpy, pandas and xgboost. That half second sat on the
pipeline's path twice: the endpoint's containers came up just after the state machine's first
check, and the analysis job just after its second, so each cost a whole Wait of one second more.
``WarmInterpreters`` keeps one process per kind that has done those imports and waits for its
command (``warm_python``); ``launch`` hands it the container's argv, environment and folder and
starts the next one for the kind in the background. Each container still gets a process of its own,
with its own environment; only the image's libraries were imported earlier (with the environment
the local SageMaker had then). A kind with nothing ready, or a program whose environment sets what
those libraries read at import, starts cold as before.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from sagedrop.image_uris import SKLEARN, XGBOOST, image_uri, supported_versions
from sagedrop_local import environ

from .algorithms import repository

RUNNER = Path(__file__).with_name("warm_python.py")
#: What every program of an image imports, by the image's repository.
PRELOADS = {
    repository(image_uri(SKLEARN, "us-east-1")): ("numpy", "pandas"),
    repository(image_uri(XGBOOST, "us-east-1", supported_versions()[0])): ("numpy", "pandas", "xgboost"),
}
# What the parent's environment must not pass on: the host's import path is not the image's.
_HOST_ONLY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
#: A replacement starts this long after a process is taken, not while the container it became starts.
REFILL_DELAY_SECONDS = 5.0
#: Variables those libraries (or OpenMP and the BLAS under them) read when imported.
IMPORT_TIME_PREFIXES = ("OMP_", "KMP_", "GOMP_", "OPENBLAS_", "MKL_", "NUMEXPR_", "NPY_", "PANDAS_", "PYTHON")


@dataclass(frozen=True)
class Kind:
    """Processes interchangeable with each other: interpreter switches, preloads, pipes."""

    switches: tuple[str, ...]
    preload: tuple[str, ...]
    new_session: bool
    errors: str | None = None

    def argv(self) -> list[str]:
        return [sys.executable, *self.switches, str(RUNNER), ",".join(self.preload)]


def container_environment(own: dict[str, str] | None = None) -> dict[str, str]:
    """A container's environment: the local SageMaker's, less the host's import path, plus its own."""
    env = {key: value for key, value in environ.snapshot().items() if key not in _HOST_ONLY_VARIABLES}
    env.update(own or {})
    env["PYTHONUNBUFFERED"] = "1"  # log lines in the order they were written
    return env


def preload_for(image: str | None) -> tuple[str, ...]:
    return PRELOADS.get(repository(image), ())


def sets_import_time_variables(before: dict[str, str], after: dict[str, str]) -> bool:
    """True when the program's environment differs from the warm process's in what imports read."""
    names = {name for name in (*before, *after) if name.startswith(IMPORT_TIME_PREFIXES)}
    names.discard("PYTHONUNBUFFERED")  # read at start-up, and set the same for every container
    return any(before.get(name) != after.get(name) for name in names)


class WarmInterpreters:
    """Ready processes by kind; ``close`` ends the ready ones (running ones are their owners')."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._ready: dict[Kind, list[tuple[subprocess.Popen, dict[str, str]]]] = {}
        self._wanted: dict[Kind, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def prepare(self, kind: Kind, count: int = 1, delay: float = 0.0) -> None:
        """Keep ``count`` processes of ``kind`` ready from now on, started in the background after ``delay``."""
        if self._closed:
            return
        with self._lock:
            self._wanted[kind] = max(count, self._wanted.get(kind, 0))
        refill = threading.Timer(delay, self._refill, args=(kind,))
        refill.daemon = True
        refill.name = "local-sagemaker-warm"
        refill.start()

    def launch(
        self, kind: Kind, argv: list[str], env: dict[str, str], cwd: Path, *, keep_stdin: bool
    ) -> subprocess.Popen:
        """``argv`` (a Python script and its arguments) running in a process of ``kind``."""
        ready = None
        with self._lock:
            waiting = self._ready.get(kind) or []
            if waiting:
                ready = waiting.pop(0)
        if ready is not None and (ready[0].poll() is not None or sets_import_time_variables(ready[1], env)):
            _discard(ready[0])
            ready = None
        process = ready[0] if ready is not None else self._spawn(kind, env)
        command = {"argv": argv, "env": env, "cwd": str(cwd), "stdin": "keep" if keep_stdin else "close"}
        process.stdin.write(json.dumps(command) + "\n")
        process.stdin.flush()
        if not keep_stdin:
            process.stdin.close()
        self.prepare(kind, delay=REFILL_DELAY_SECONDS)
        return process

    def ready_pids(self, kind: Kind) -> list[int]:
        """The process ids of the ready processes of ``kind``, next to be taken first."""
        with self._lock:
            return [process.pid for process, _env in self._ready.get(kind, [])]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ready = [entry for entries in self._ready.values() for entry in entries]
            self._ready = {}
        for process, _env in ready:
            _discard(process)

    def _refill(self, kind: Kind) -> None:
        while True:
            with self._lock:
                if self._closed or len(self._ready.get(kind, [])) >= self._wanted.get(kind, 0):
                    return
            env = container_environment()
            process = self._spawn(kind, env)
            with self._lock:
                if not self._closed and len(self._ready.get(kind, [])) < self._wanted.get(kind, 0):
                    self._ready.setdefault(kind, []).append((process, env))
                    continue
            _discard(process)
            return

    def _spawn(self, kind: Kind, env: dict[str, str]) -> subprocess.Popen:
        self._scratch.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(  # noqa: S603 — our own interpreter and runner
            kind.argv(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self._scratch,
            text=True,
            errors=kind.errors,
            start_new_session=kind.new_session,
        )


def _discard(process: subprocess.Popen) -> None:
    """An unused process has run nothing of anyone's: end it now, without waiting for its imports."""
    process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        with contextlib.suppress(OSError):
            stream.close()
