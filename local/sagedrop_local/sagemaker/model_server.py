"""Real HTTP inference servers with the SageMaker container contract; here the one for XGBoost models.

``HttpModelServer`` is the container's HTTP side (``/ping``, ``/invocations``, the payload limit);
each algorithm's server answers ``invoke`` (``linear_learner_serving`` has the Linear Learner's).

``GET /ping`` answers 200 once the model is loaded; ``POST /invocations`` takes ``text/csv`` rows of
features (no label) and answers ``text/csv`` the way the built-in XGBoost container does for a
real-time endpoint: ``",".join(map(str, predictions.tolist()))`` — one line, comma-joined. For
``multi:softprob`` each element is a Python list, so the body reads ``[0.1, 0.9],[0.8, 0.2]``
(the container's own comment calls this "invalid CSV ... retained for backwards compatibility").
"""

from __future__ import annotations

import csv
import threading
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from .lean_xgboost import import_xgboost

xgb = import_xgboost()

MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # the container's default MAX_CONTENT_LENGTH


class ModelLoadError(Exception):
    """The artifact could not be read as an XGBoost model (the endpoint fails its health check)."""


def load_boosters(model_dir: Path) -> list[xgb.Booster]:
    """``serve_utils.get_loaded_booster``: every regular file in the model dir is one booster."""
    boosters = []
    for path in sorted(p for p in model_dir.iterdir() if p.is_file()):
        booster = xgb.Booster()
        try:
            # The container's file has no extension; xgboost guesses UBJSON and says so. Keep quiet.
            with warnings.catch_warnings(), xgb.config_context(verbosity=0):
                warnings.simplefilter("ignore")
                booster.load_model(str(path))
        except xgb.core.XGBoostError as error:
            raise ModelLoadError(f"Model at {path} cannot be loaded:\n{error}") from error
        boosters.append(booster)
    if not boosters:
        raise ModelLoadError(f"No model file found in {model_dir}")
    return boosters


def parse_csv_payload(payload: bytes) -> xgb.DMatrix:
    """``encoder.csv_to_dmatrix``: sniff the delimiter from the first line, floats, blanks missing."""
    text = payload.strip().decode("utf-8")
    lines = text.split("\n")
    try:
        delimiter = csv.Sniffer().sniff(lines[0][:512]).delimiter
    except csv.Error:
        delimiter = ","
    if delimiter.isalnum():
        delimiter = ","
    rows = [[float(cell) if cell.strip() else np.nan for cell in line.rstrip("\r").split(delimiter)] for line in lines]
    return xgb.DMatrix(np.array(rows, dtype=float))


def encode_predictions(predictions: np.ndarray) -> bytes:
    """The container's real-time text/csv encoding (not SAGEMAKER_BATCH)."""
    return ",".join(map(str, predictions.tolist())).encode("utf-8")


class HttpModelServer:
    """The SageMaker container's HTTP side on 127.0.0.1 with an ephemeral port; subclasses answer ``invoke``."""

    def __init__(self, *, on_request=None):
        self._on_request = on_request
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name="local-sagemaker-model-server",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:51234``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpModelServer:
        """Serve in a daemon thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None) -> tuple[int, bytes, str]:
        """(status, body, content type) for one ``POST /invocations``; a fourth element adds headers."""
        raise NotImplementedError

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no wait for a delayed ACK

            def log_message(self, format, *args):  # noqa: A002 — keep test output quiet
                if server._on_request:
                    server._on_request(format % args)

            def _reply(
                self, status: int, body: bytes = b"", content_type: str = "text/plain", headers: dict | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 — http.server's naming
                if self.path == "/ping":
                    self._reply(HTTPStatus.OK)
                else:
                    self._reply(HTTPStatus.NOT_FOUND, b"Not Found")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                if self.path != "/invocations":
                    self._reply(HTTPStatus.NOT_FOUND, b"Not Found")
                    return
                if length > MAX_CONTENT_LENGTH:
                    self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Request Entity Too Large")
                    return
                self._reply(*server.invoke(payload, self.headers.get("Content-Type"), self.headers.get("Accept")))

        return Handler


class ModelServer(HttpModelServer):
    """One endpoint variant's built-in XGBoost inference server."""

    def __init__(self, boosters: list[xgb.Booster], *, on_request=None):
        super().__init__(on_request=on_request)
        self._boosters = boosters
        self._predict_lock = threading.Lock()  # Booster.predict on one booster is not guaranteed thread safe

    def predict(self, matrix: xgb.DMatrix) -> np.ndarray:
        """Average of the boosters' predictions (one booster unless the artifact holds k-fold models)."""
        with self._predict_lock:
            results = [booster.predict(matrix, validate_features=False) for booster in self._boosters]
        return results[0] if len(results) == 1 else np.mean(results, axis=0)

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None) -> tuple[int, bytes, str]:
        if not payload:
            return HTTPStatus.NO_CONTENT, b"", "text/plain"
        content_type = (content_type or "text/csv").split(";")[0].strip().lower()
        if content_type not in ("text/csv", "csv"):
            return (
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-type {content_type} not supported by the local model server. "
                "Supported content-type is text/csv".encode(),
                "text/plain",
            )
        try:
            matrix = parse_csv_payload(payload)
        except Exception as error:  # noqa: BLE001 — the container answers 415 for any parse failure
            return (
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                (
                    "Loading csv data failed with Exception, please ensure data is in csv "
                    f"format:\n {type(error)}\n {error}"
                ).encode(),
                "text/plain",
            )
        try:
            predictions = self.predict(matrix)
        except Exception as error:  # noqa: BLE001
            return HTTPStatus.BAD_REQUEST, f"Unable to evaluate payload provided: {error}".encode(), "text/plain"
        return HTTPStatus.OK, encode_predictions(predictions), "text/csv"
