"""Containers that run a model tarball's own code: the scikit-learn image, the XGBoost image in script mode.

Such a container imports the entry point ``SAGEMAKER_PROGRAM`` from ``SAGEMAKER_SUBMIT_DIRECTORY``
(the ``code/`` folder of its unpacked ``model.tar.gz``) and serves its ``model_fn``/``input_fn``/
``predict_fn``/``output_fn``. :class:`ScriptContainer` runs ``script_container.py`` in a Python
process of its own per container, on the unpacked model, with the container's ``Environment``: the
tarball's copy of ``sagedrop`` is what that process imports, never the local SageMaker's, and two
containers of one pipeline never share a module. It has the model servers' interface (``start``,
``stop``, ``port``, ``url``, ``invoke``), so an endpoint or a pipeline stage uses it like any other.
"""

from __future__ import annotations

import contextlib
import http.client
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sagedrop.image_uris import SKLEARN, image_uri

from .algorithms import repository
from .model_server import ModelLoadError
from .warm import Kind, WarmInterpreters, container_environment, preload_for

WORKER_SCRIPT = Path(__file__).with_name("script_container.py")
PROGRAM_VARIABLE = "SAGEMAKER_PROGRAM"
#: The scikit-learn serving image's repository (any region, any version): it always runs user code.
SKLEARN_REPOSITORY = repository(image_uri(SKLEARN, "us-east-1"))
START_TIMEOUT_SECONDS = 120  # model_fn plus the imports of numpy and pandas in a fresh interpreter
CONTAINER_TIMEOUT_SECONDS = 60  # SageMaker's limit on a container's answer

LogLine = Callable[[str], None]


def script_kind(image: str | None) -> Kind:
    """The warm process a container of ``image`` runs in: isolated, as ``python -I`` starts it."""
    return Kind(switches=("-I",), preload=preload_for(image), new_session=False)


def runs_own_code(container: dict) -> bool:
    """True for the scikit-learn image, and for any other image told its entry point (script mode).

    Linear Learner has no script mode; an entry point given to it is ignored, as its image does.
    """
    image = container.get("Image")
    if repository(image) == SKLEARN_REPOSITORY:
        return True
    environment = container.get("Environment") or {}
    return bool(environment.get(PROGRAM_VARIABLE)) and repository(image) != "linear-learner"


def post(port: int, body: bytes, content_type: str | None, accept: str | None) -> tuple[int, bytes, str]:
    """One ``POST /invocations`` to a container on 127.0.0.1: (status, body, content type)."""
    headers = {"Content-Type": content_type or "application/octet-stream"}
    if accept:
        headers["Accept"] = accept
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONTAINER_TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or "text/plain"
    finally:
        connection.close()


class ScriptContainer:
    """One script-mode container: a child process serving ``model_dir`` (removed again on ``stop``)."""

    def __init__(
        self,
        model_dir: Path,
        environment: dict[str, str] | None,
        log: LogLine,
        *,
        image: str | None = None,
        interpreters: WarmInterpreters | None = None,
    ):
        self.model_dir = Path(model_dir)
        self.environment = dict(environment or {})
        self.image = image
        self._interpreters = interpreters
        self._log = log
        self._process: subprocess.Popen | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the container is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process without waiting for it (a pipeline starts its containers side by side)."""
        env = container_environment(self.environment)
        if self._interpreters is not None and preload_for(self.image):
            self._process = self._interpreters.launch(
                script_kind(self.image), [str(WORKER_SCRIPT), str(self.model_dir)], env, self.model_dir, keep_stdin=True
            )
            return
        self._process = subprocess.Popen(  # noqa: S603 — our own interpreter and script
            [sys.executable, "-I", str(WORKER_SCRIPT), str(self.model_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.model_dir,
            text=True,
        )

    def start(self) -> ScriptContainer:
        """Launch (when not yet launched) and wait until the model is loaded; raises ModelLoadError."""
        if self._process is None:
            self.launch()
        process = self._process
        announced: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(process, announced), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(process,), daemon=True).start()
        try:
            line = announced.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            self.stop()
            raise ModelLoadError(f"the container did not load its model within {START_TIMEOUT_SECONDS} s") from None
        if not line.startswith("LISTENING "):
            self.stop()
            raise ModelLoadError(line.removeprefix("FAILED ") or "the container exited while loading its model")
        self._port = int(line.split()[1])
        return self

    def _read_stdout(self, process: subprocess.Popen, announced: queue.Queue) -> None:
        told = False
        for line in process.stdout:
            line = line.rstrip("\n")
            if not told and line.startswith(("LISTENING ", "FAILED ")):
                announced.put(line)
                told = True
            else:
                self._log(line)
        if not told:
            announced.put("")

    def _read_stderr(self, process: subprocess.Popen) -> None:
        for line in process.stderr:
            self._log(line.rstrip("\n"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.model_dir, ignore_errors=True)

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None) -> tuple[int, bytes, str]:
        return post(self.port, payload, content_type, accept)
