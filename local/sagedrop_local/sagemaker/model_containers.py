"""Bringing a model's containers up: download and unpack each ``ModelDataUrl``, start its server, ping it.

One entry point for endpoints and transform jobs, :func:`start_model`, for every kind of model:

* one built-in algorithm container (XGBoost, Linear Learner): the model is read into memory by
  ``algorithms.model_server_for`` and its files removed at once;
* one script-mode container (the serverless form of sagedrop's model): ``script_mode``;
* an inference pipeline (``Containers``): each container as above, the script-mode ones started
  side by side, behind an ``inference_pipeline.PipelineServer``.

What a script-mode container runs stays unpacked in ``scratch`` (its code is imported from there)
until its server stops. A container that cannot be loaded or does not answer ``/ping`` raises
:class:`ContainerStartError` naming it, the caller words the FailureReason.
"""

from __future__ import annotations

import http.client
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import botocore.exceptions

from .algorithms import model_server_for
from .artifacts import UnsafeArchive, extract_model
from .context import Local
from .inference_pipeline import (
    INTERMEDIATE_PAYLOAD_MAX_BYTES,
    PipelineServer,
    Stage,
    container_names,
    is_pipeline,
)
from .model_server import ModelLoadError
from .script_mode import ScriptContainer, runs_own_code
from .training_data import parse_s3_uri


class ModelDataUnavailable(Exception):
    """The model artifact cannot be downloaded; ``reason`` is SageMaker's FailureReason for it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class ContainerStartError(Exception):
    """Containers that could not be loaded or failed their health check (``failed``: their names)."""

    def __init__(self, failed: list[str], detail: str):
        super().__init__(detail)
        self.failed = failed
        self.detail = detail


def download_model_data(local: Local, url: str) -> bytes:
    bucket, key = parse_s3_uri(url)
    try:
        return local.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as error:
        raise ModelDataUnavailable(
            f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there "
            "is an object located at the URL and that the role passed to CreateModel has permissions "
            "to download the model.",
            str(error),
        ) from error


@dataclass
class ContainerLogs:
    """Log lines per container; written to CloudWatch Logs by ``flush``, and at once after ``go_live``."""

    local: Local
    group: str
    streams: dict[str, str]  # container name -> log stream
    _pending: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    _live: bool = False

    def line(self, container: str, text: str) -> None:
        entry = (self.local.now(), text)
        if self._live:
            self.local.write_logs(self.group, self.streams[container], [entry])
        else:
            self._pending.setdefault(container, []).append(entry)

    def sink(self, container: str) -> Callable[[str], None]:
        return lambda text: self.line(container, text)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for container, lines in pending.items():
            self.local.write_logs(self.group, self.streams[container], lines)

    def go_live(self) -> None:
        self.flush()
        self._live = True


def ping(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def start_model(
    local: Local,
    model: dict,
    scratch: Path,
    logs: ContainerLogs,
    *,
    intermediate_limit: int | None = INTERMEDIATE_PAYLOAD_MAX_BYTES,
):
    """The model's started, healthy server (``port``, ``invoke``, ``stop``); raises the errors above.

    ``intermediate_limit``: the largest answer a pipeline's container may pass on (None: no limit).
    """
    names = container_names(model)
    containers = model["Containers"] if is_pipeline(model) else [model["PrimaryContainer"]]
    scratch.mkdir(parents=True, exist_ok=True)
    archives: dict[str, bytes] = {}  # one download per URL: a pipeline's stages often share a tarball
    servers: list = []
    started: list = []
    try:
        for name, container in zip(names, containers, strict=True):
            servers.append(_load(local, name, container, scratch, archives, logs))
        for server in servers:
            if isinstance(server, ScriptContainer):
                server.launch()
        failed = []
        for name, server in zip(names, servers, strict=True):
            try:
                started.append(server.start())
            except ModelLoadError as error:
                logs.line(name, f"ERROR: {error}")
                failed.append(name)
        if not failed:
            failed = [name for name, server in zip(names, servers, strict=True) if not ping(server.port)]
        if failed:
            raise ContainerStartError(failed, f"{', '.join(failed)} did not pass the ping health check")
        if not is_pipeline(model):
            front = servers[0]
        else:
            stages = [Stage(name, server) for name, server in zip(names, servers, strict=True)]
            front = PipelineServer(stages, intermediate_limit=intermediate_limit)
            front.start()
    except BaseException:
        for server in servers:
            _discard(server, any(server is done for done in started))
        logs.flush()
        raise
    for name, server in zip(names, servers, strict=True):
        logs.line(name, f"Model loaded successfully; listening at {server.url}")
    logs.go_live()
    return front


def _discard(server, started: bool) -> None:
    """Stop a server; one never started only closes its socket (``shutdown`` would wait for ever)."""
    if started or isinstance(server, ScriptContainer):
        server.stop()
    else:
        server._httpd.server_close()


def _load(local: Local, name: str, container: dict, scratch: Path, archives: dict[str, bytes], logs: ContainerLogs):
    """The container's server, not started: a ScriptContainer on its unpacked model, or a built-in one."""
    own_code = runs_own_code(container)
    kind = "script-mode" if own_code else "built-in algorithm"
    logs.line(name, f"Starting the local {kind} container for {container.get('Image')} (sagedrop local SageMaker)")
    url = container.get("ModelDataUrl")
    if not url:
        logs.line(name, "ERROR: No ModelDataUrl: the container found no model in /opt/ml/model")
        raise ContainerStartError([name], "no ModelDataUrl")
    if url not in archives:
        archives[url] = download_model_data(local, url)
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch))
    try:
        try:
            extract_model(archives[url], folder)
        except (UnsafeArchive, tarfile.TarError, OSError, EOFError) as error:
            raise ModelLoadError(f"Model archive {url} could not be extracted: {error}") from error
        if own_code:
            return ScriptContainer(
                folder,
                container.get("Environment"),
                logs.sink(name),
                image=container.get("Image"),
                interpreters=local.interpreters,
            )
        server = model_server_for(container, folder)
    except ModelLoadError as error:
        logs.line(name, f"ERROR: {error}")
        _remove(folder)
        raise ContainerStartError([name], str(error)) from error
    _remove(folder)  # the built-in servers hold their model in memory
    return server


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


# --- endpoints --------------------------------------------------------------------------------


class VariantStartError(Exception):
    """The variant cannot serve; ``reason`` is the endpoint's FailureReason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def needs_containers(model: dict) -> bool:
    """Models this module starts for an endpoint: pipelines and script-mode containers."""
    return is_pipeline(model) or runs_own_code(model.get("PrimaryContainer") or {})


def start_endpoint_variant(local: Local, endpoint: dict, entry: dict, scratch: Path):
    """One production variant's server, its container logs in ``/aws/sagemaker/Endpoints/<endpoint>``.

    Streams: ``<variant>/<instance>`` for one container, ``<variant>/<instance>/<hostname>`` for
    each container of a pipeline (as the SageMaker documentation shows them).
    """
    variant = entry["variant"]["VariantName"]
    model = entry["model"]
    base = f"{variant}/{endpoint['_log_stream_suffix']}"
    names = container_names(model)
    streams = {name: f"{base}/{name}" if is_pipeline(model) else base for name in names}
    logs = ContainerLogs(local, f"/aws/sagemaker/Endpoints/{endpoint['EndpointName']}", streams)
    try:
        return start_model(local, model, scratch, logs)
    except ModelDataUnavailable as error:
        logs.line(names[0], f"ERROR: {error.detail}")
        logs.flush()
        raise VariantStartError(error.reason) from error
    except ContainerStartError as error:
        if not is_pipeline(model):
            reason = f"The primary container for production variant {variant} did not pass the ping health check."
        else:
            which = ", ".join(error.failed)
            reason = f"The container(s) {which} for production variant {variant} did not pass the ping health check."
        raise VariantStartError(f"{reason} Please check CloudWatch logs for this endpoint.") from error
