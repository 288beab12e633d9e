"""A framework serving container in a process of its own: a model tarball's own code behind HTTP.

Not imported by the local SageMaker: ``script_mode`` runs it as ``python -I script_container.py
MODEL_DIR`` with the container's ``Environment`` in the process environment, as the scikit-learn
image (and the XGBoost image in script mode) runs a model whose ``SAGEMAKER_PROGRAM`` names an entry
point. So it imports nothing of the project, only the standard library and what the tarball's code
imports: ``SAGEMAKER_SUBMIT_DIRECTORY`` (``/opt/ml/model/code``, mapped into MODEL_DIR) goes first
on ``sys.path``, and the project's editable install is taken off the import system, so
``import sagedrop`` there finds the tarball's copy — as in the image, where the project is not
installed. A process per container keeps each copy apart from the others and from the host's own
``sagedrop``.

What ``sagemaker_containers`` (the serving framework of those images) does, and so this does:
``model_fn(MODEL_DIR)`` once at start (a failure fails the ping health check); per request
``output_fn(predict_fn(input_fn(body, content_type), model), accept)``, or ``transform_fn`` when
the module defines it; ``accept`` is the Accept header, or ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``
(else ``application/json``) when there is none or it is ``*/*``. A ``(body, content_type)`` tuple
is the answer with that type, a ``worker.Response`` is sent as it is, anything else goes out with
the accept as its type. An exception in the user's functions is a bare 500 (its traceback goes to
the log). ``sagemaker_containers.beta.framework.worker.Response`` is provided here, since code
written for the image imports it.

The first line on stdout is ``LISTENING <port>`` once the model is loaded, or ``FAILED <reason>``.
The process ends when its stdin closes (the local SageMaker stopped the container or went away).
"""

from __future__ import annotations

import http.server
import importlib
import os
import sys
import threading
import traceback
import types

MODEL_ROOT = "/opt/ml/model"
MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # the framework's default
DEFAULT_ACCEPT = "application/json"  # sagemaker_containers' default when nothing else is set
_ANY = "*/*"


class Response:
    """The part of ``sagemaker_containers``' (Flask's) Response that serving code sets and reads."""

    def __init__(self, response=b"", status=200, headers=None, mimetype=None, content_type=None, **_kwargs):
        self.data = response.encode("utf-8") if isinstance(response, str) else bytes(response or b"")
        self.status_code = int(status)
        self.headers = dict(headers or {})
        self.mimetype = mimetype or (content_type or "text/plain").split(";")[0]

    def get_data(self) -> bytes:
        return self.data


def install_framework_stub() -> None:
    """``from sagemaker_containers.beta.framework import worker`` works, as in the serving images."""
    names = ("sagemaker_containers", "sagemaker_containers.beta", "sagemaker_containers.beta.framework")
    modules = [types.ModuleType(name) for name in names]
    worker = types.ModuleType("sagemaker_containers.beta.framework.worker")
    worker.Response = Response
    for parent, child in zip(modules, [*modules[1:], worker], strict=True):
        parent.__path__ = []
        setattr(parent, child.__name__.rsplit(".", 1)[1], child)
    for module in [*modules, worker]:
        sys.modules[module.__name__] = module


def drop_editable_installs() -> None:
    """Take the host's editable installs (the project's ``sagedrop``) off the import system."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if "__editable__" not in getattr(finder, "__module__", "")]
    sys.path_hooks[:] = [hook for hook in sys.path_hooks if "__editable__" not in getattr(hook, "__module__", "")]
    sys.path[:] = [entry for entry in sys.path if "__editable__" not in entry]


def code_directory(model_dir: str) -> str:
    submit = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", f"{MODEL_ROOT}/code")
    if submit == MODEL_ROOT or submit.startswith(MODEL_ROOT + "/"):
        return os.path.join(model_dir, submit[len(MODEL_ROOT) :].lstrip("/"))
    raise RuntimeError(
        f"SAGEMAKER_SUBMIT_DIRECTORY {submit!r} is not inside {MODEL_ROOT}: the local SageMaker serves code "
        "packed in the model tarball only (an S3 source archive is not emulated)"
    )


class Handlers:
    """The user module's functions, called as the framework calls them."""

    def __init__(self, module: types.ModuleType, model_dir: str):
        self.module = module
        if not hasattr(module, "model_fn"):
            raise RuntimeError(f"{module.__file__} defines no model_fn (the container has no default one)")
        self.model = module.model_fn(model_dir)
        self.transform_fn = getattr(module, "transform_fn", None)
        missing = [name for name in ("input_fn", "predict_fn", "output_fn") if not hasattr(module, name)]
        if self.transform_fn is None and missing:
            raise RuntimeError(
                f"{module.__file__} defines neither transform_fn nor {', '.join(missing)} "
                "(the local SageMaker does not emulate the container's default functions)"
            )
        self.lock = threading.Lock()  # one worker: requests take turns, as with a single gunicorn worker

    def transform(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes, str]:
        with self.lock:
            if self.transform_fn is not None:
                result = self.transform_fn(self.model, body, content_type, accept)
            else:
                data = self.module.input_fn(body, content_type)
                result = self.module.output_fn(self.module.predict_fn(data, self.model), accept)
        if isinstance(result, Response):
            return result.status_code, result.get_data(), result.mimetype
        if isinstance(result, tuple):
            answer, answer_type = result
            return 200, _bytes(answer), answer_type
        return 200, _bytes(result), accept


def _bytes(value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def make_server(handlers: Handlers) -> http.server.ThreadingHTTPServer:
    default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or DEFAULT_ACCEPT

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no wait for a delayed ACK

        def log_message(self, format, *args):  # noqa: A002 — no access log on stderr
            pass

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 — http.server's naming
            self._reply(200 if self.path == "/ping" else 404, b"" if self.path == "/ping" else b"Not Found")

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path != "/invocations":
                self._reply(404, b"Not Found")
                return
            if length > MAX_CONTENT_LENGTH:
                self._reply(413, b"Request Entity Too Large")
                return
            accept = self.headers.get("Accept") or ""
            if not accept.strip() or accept.strip() == _ANY:
                accept = default_accept
            content_type = self.headers.get("Content-Type") or DEFAULT_ACCEPT
            try:
                self._reply(*handlers.transform(body, content_type, accept))
            except Exception:  # noqa: BLE001 — the framework answers any failure with a bare 500
                traceback.print_exc(file=sys.stderr)
                sys.stderr.flush()
                self._reply(500, b"Internal Server Error")

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def main(model_dir: str) -> None:
    try:
        program = os.environ.get("SAGEMAKER_PROGRAM", "")
        if not program:
            raise RuntimeError("SAGEMAKER_PROGRAM is not set: the container has no entry point to serve")
        drop_editable_installs()
        install_framework_stub()
        sys.path.insert(0, code_directory(model_dir))
        module = importlib.import_module(program.removesuffix(".py"))
        server = make_server(Handlers(module, model_dir))
    except BaseException as error:  # noqa: BLE001 — any failure to load is the health check's failure
        traceback.print_exc(file=sys.stderr)
        print(f"FAILED {type(error).__name__}: {' '.join(str(error).split())}", flush=True)
        return
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"LISTENING {server.server_address[1]}", flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe or exits


if __name__ == "__main__":
    main(sys.argv[1])
