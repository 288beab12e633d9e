"""Bringing endpoints up: download and unpack each variant's model, load it, serve it on 127.0.0.1.

The running servers live in this process only. An endpoint another process left InService gets
its servers started on the first InvokeEndpoint. The unpacked model is read into memory and its
files removed at once, so the state directory keeps no model files.
"""

from __future__ import annotations

import copy
import http.client
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path

from .algorithms import DISPLAY_NAMES, algorithm_of, model_server_for
from .artifacts import UnsafeArchive, extract_model
from .context import Local
from .errors import SageMakerApiError, runtime_validation_error
from .model_containers import (
    ModelDataUnavailable,
    VariantStartError,
    download_model_data,
    needs_containers,
    start_endpoint_variant,
)
from .model_server import HttpModelServer, ModelLoadError
from .workers import ENDPOINT_SCRATCH, Workers, crash_reason


class EndpointStartError(Exception):
    """The endpoint cannot serve; ``reason`` is the FailureReason SageMaker would give."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def ping(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _stop(servers: dict[str, HttpModelServer]) -> None:
    for server in servers.values():
        server.stop()


class EndpointWorker:
    """Starts, finds and stops the model servers of this process's endpoints."""

    def __init__(self, local: Local, workers: Workers):
        self._local = local
        self._store = local.store
        self._workers = workers
        self._servers: dict[str, dict[str, HttpModelServer]] = {}  # guarded by the store's lock
        self._start_locks: dict[str, threading.Lock] = {}

    def url(self, name: str, variant_name: str | None = None) -> str | None:
        with self._store.lock:
            variants = self._servers.get(name) or {}
            server = variants.get(variant_name) if variant_name else next(iter(variants.values()), None)
            return server.url if server else None

    def _is_current(self, name: str, arn: str) -> bool:
        with self._store.read() as tables:
            endpoint = tables["endpoints"].get(name)
            return endpoint is not None and endpoint["EndpointArn"] == arn

    def bring_up(self, name: str, arn: str) -> None:
        """The CreateEndpoint thread: Creating -> InService, or Failed with the reason."""
        if self._workers.sleep(self._local.startup_seconds, lambda: not self._is_current(name, arn)):
            return
        with self._store.read() as tables:
            endpoint = copy.deepcopy(tables["endpoints"].get(name))
        if endpoint is None or endpoint["EndpointArn"] != arn:
            return
        try:
            servers = self._start_servers(endpoint)
        except EndpointStartError as error:
            self.mark_failed(name, arn, error.reason)
            return
        try:
            with self._store.write() as tables:
                live = tables["endpoints"].get(name)
                keep = live is not None and live["EndpointArn"] == arn and not self._workers.closed
                if keep:
                    self._servers[name] = servers
                    live.update(EndpointStatus="InService", LastModifiedTime=self._local.now())
        except BaseException:
            _stop(servers)
            raise
        if not keep:
            _stop(servers)

    def mark_failed(self, name: str, arn: str, reason: str) -> None:
        with self._store.write() as tables:
            live = tables["endpoints"].get(name)
            if live is not None and live["EndpointArn"] == arn and live["EndpointStatus"] == "Creating":
                live.update(EndpointStatus="Failed", FailureReason=reason, LastModifiedTime=self._local.now())

    def crashed(self, name: str, arn: str, error: BaseException) -> None:
        """The thread raised something unexpected: the endpoint failed, with the exception as reason."""
        self.mark_failed(name, arn, crash_reason("creating this endpoint", error))

    def running_server(self, name: str, variant_name: str) -> HttpModelServer:
        """The variant's server; started now for an endpoint an earlier process left InService."""
        with self._store.lock:
            lock = self._start_locks.setdefault(name, threading.Lock())
        with lock:
            with self._store.read() as tables:
                running = self._servers.get(name)
                endpoint = copy.deepcopy(tables["endpoints"].get(name))
            if running is None:
                if endpoint is None:
                    raise runtime_validation_error(f"Endpoint {name} of account {self._local.account_id} not found.")
                try:
                    running = self._start_servers(endpoint)
                except EndpointStartError as error:
                    raise SageMakerApiError(
                        "ServiceUnavailable", f"Endpoint {name} is unavailable: {error.reason}", status_code=503
                    ) from error
                with self._store.lock:
                    self._servers[name] = running
            return running[variant_name]

    def forget(self, name: str) -> None:
        """The endpoint was deleted: stop its servers and remove whatever files it has in the state dir."""
        with self._store.lock:
            servers = self._servers.pop(name, {})
            self._start_locks.pop(name, None)
        _stop(servers)
        shutil.rmtree(self._local.state_dir / ENDPOINT_SCRATCH / name, ignore_errors=True)

    def stop_all(self) -> None:
        with self._store.lock:
            servers = [server for variants in self._servers.values() for server in variants.values()]
            self._servers.clear()
        for server in servers:
            server.stop()

    # ------------------------------------------------------------------ starting servers

    def _start_servers(self, endpoint: dict) -> dict[str, HttpModelServer]:
        servers: dict[str, HttpModelServer] = {}
        try:
            for entry in endpoint["_variants"]:
                servers[entry["variant"]["VariantName"]] = self._start_variant(endpoint, entry)
        except BaseException:
            _stop(servers)
            raise
        return servers

    def _start_variant(self, endpoint: dict, entry: dict) -> HttpModelServer:
        name = endpoint["EndpointName"]
        variant_name = entry["variant"]["VariantName"]
        group = f"/aws/sagemaker/Endpoints/{name}"
        stream = f"{variant_name}/{endpoint['_log_stream_suffix']}"
        model = entry["model"]
        if needs_containers(model):  # a pipeline, or a container running the tarball's own code
            try:
                scratch = self._local.state_dir / ENDPOINT_SCRATCH / name
                return start_endpoint_variant(self._local, endpoint, entry, scratch)
            except VariantStartError as error:
                raise EndpointStartError(error.reason) from error
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        unhealthy = (
            f"The primary container for production variant {variant_name} did not pass the ping "
            "health check. Please check CloudWatch logs for this endpoint."
        )
        algorithm = DISPLAY_NAMES[algorithm_of(container.get("Image"))]
        lines = [(self._local.now(), f"Starting the local {algorithm} model server (sagedrop local SageMaker)")]
        url = container.get("ModelDataUrl")
        scratch = self._local.state_dir / ENDPOINT_SCRATCH / name
        try:
            if not url:
                raise ModelLoadError("No ModelDataUrl: the container found no model in /opt/ml/model")
            archive = self._download(url, group, stream, lines)
            scratch.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=f"{variant_name}-", dir=scratch) as folder:
                try:
                    extract_model(archive, Path(folder))
                except (UnsafeArchive, tarfile.TarError, OSError, EOFError) as error:
                    raise ModelLoadError(f"Model archive {url} could not be extracted: {error}") from error
                for path in sorted(Path(folder).iterdir()):
                    lines.append((self._local.now(), f"Loading the model from {path.name}"))
                server = model_server_for(container, Path(folder))
        except ModelLoadError as error:
            lines.append((self._local.now(), f"ERROR: {error}"))
            self._local.write_logs(group, stream, lines)
            raise EndpointStartError(unhealthy) from error
        server.start()
        if not ping(server.port):
            server.stop()
            raise EndpointStartError(unhealthy)
        lines.append((self._local.now(), f"Model loaded successfully; listening at {server.url}"))
        self._local.write_logs(group, stream, lines)
        return server

    def _download(self, url: str, group: str, stream: str, lines: list) -> bytes:
        try:
            return download_model_data(self._local, url)
        except ModelDataUnavailable as error:
            lines.append((self._local.now(), f"ERROR: {error.detail}"))
            self._local.write_logs(group, stream, lines)
            raise EndpointStartError(error.reason) from error
