"""The real handlers behind local Lambda invocations.

moto's Step Functions executor calls Lambda through an ordinary boto3 client; a botocore
``before-call.lambda.Invoke`` hook answers those calls by running the handler module in-process,
with a Lambda context object and, at import (the cold start), exactly the environment the
template gives that function. A raised exception becomes Lambda's ``FunctionError: Unhandled``
payload (``errorType`` = the class name), which Step Functions turns into the error name its
Retry and Catch clauses match, as in the cloud.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from botocore.response import StreamingBody

from sagedrop_local import environ
from sagedrop_local.stack import LocalFunction

STATE_PAYLOAD_LIMIT = 262_144  # Step Functions' limit on a state's input or output
# One invocation at a time: each sees its own function's environment in the process-wide
# os.environ, so two at once (the starter still returning while the execution it started
# invokes the first step) would see each other's variables come and go.
_INVOCATION_LOCK = threading.RLock()


@dataclass
class LocalLambdaContext:
    """The attributes Powertools and handlers read from a Lambda context."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_seconds: float = 900.0
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class Invocation:
    function: str
    seconds: float
    error: str | None


class _HttpOk:
    status_code = 200
    headers: dict[str, str] = {}


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    saved = environ.apply(variables)
    try:
        yield
    finally:
        environ.restore(saved)


@contextlib.contextmanager
def _service_logs_to(stream: IO[str], service: str | None) -> Iterator[None]:
    """For one invocation, the stream handlers of the function's Powertools service logger write to ``stream``.

    Powertools configures a service's logger once per process: a later ``Logger()`` of the same
    service (the next cloud's fresh import of a handler module) keeps the first one's handler, and
    so the stream that was current then, closed once its cloud or test is gone.
    """
    handlers = [
        handler
        for handler in (logging.getLogger(service).handlers if service else [])
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]
    previous = [_swap_stream(handler, stream) for handler in handlers]
    try:
        yield
    finally:
        for handler, before in zip(handlers, previous, strict=True):
            _swap_stream(handler, before)


def _swap_stream(handler: logging.StreamHandler, stream: IO[str]) -> IO[str]:
    """Point ``handler`` at ``stream``; return the stream it had. Not ``setStream``: it flushes the
    stream it had, which may be closed."""
    handler.acquire()
    try:
        before, handler.stream = handler.stream, stream
    finally:
        handler.release()
    return before


class LocalLambdaRuntime:
    def __init__(self, functions: dict[str, LocalFunction], log: IO[str] | None = None) -> None:
        self._by_name = {}
        for function in functions.values():
            self._by_name[function.name] = function
            self._by_name[function.arn] = function
        self._handlers: dict[str, Any] = {}
        self.log = log or io.StringIO()
        self.invocations: list[Invocation] = []

    # --- botocore wiring -----------------------------------------------------------------------
    def install(self, events: Any) -> None:
        """Answer ``lambda.Invoke`` for clients created afterwards from the session owning ``events``."""
        events.register("before-parameter-build.lambda.Invoke", self._remember_params)
        events.register("before-call.lambda.Invoke", self._answer)

    @staticmethod
    def _remember_params(params: dict, context: dict, **_: Any) -> None:
        context["sagedrop_params"] = dict(params)

    def _answer(self, context: dict, **_: Any) -> tuple[_HttpOk, dict]:
        params = context["sagedrop_params"]
        payload = params.get("Payload") or b"{}"
        event = json.loads(payload.read() if hasattr(payload, "read") else payload)
        body, function_error = self.run(params["FunctionName"], event)
        response = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
        }
        if function_error:
            response["FunctionError"] = function_error
        return _HttpOk(), response

    # --- running handlers ------------------------------------------------------------------------
    def function(self, name_or_arn: str) -> LocalFunction:
        base = name_or_arn.split(":$LATEST")[0]
        if base not in self._by_name:
            raise KeyError(f"no function {name_or_arn!r} in template.yaml")
        return self._by_name[base]

    def _handler(self, function: LocalFunction) -> Any:
        """Import on first use (the cold start) under the function's own environment."""
        with _INVOCATION_LOCK:
            if function.logical_id not in self._handlers:
                # A fresh import even if another runtime imported it: module-level settings and
                # clients belong to this cloud's environment and session.
                sys.modules.pop(function.module, None)
                with _environment(function.environment), contextlib.redirect_stdout(self.log):
                    module = importlib.import_module(function.module)
                self._handlers[function.logical_id] = getattr(module, function.attribute)
        return self._handlers[function.logical_id]

    def run(self, name_or_arn: str, event: Any) -> tuple[bytes, str | None]:
        """Run a handler; returns (response payload bytes, FunctionError or None)."""
        function = self.function(name_or_arn)
        context = LocalLambdaContext(function_name=function.name, invoked_function_arn=function.arn)
        started = time.perf_counter()
        error_type = None
        try:
            handler = self._handler(function)
            with (
                _INVOCATION_LOCK,
                _environment(function.environment),
                contextlib.redirect_stdout(self.log),
                _service_logs_to(self.log, function.environment.get("POWERTOOLS_SERVICE_NAME")),
            ):
                result = handler(event, context)
            body = json.dumps(result).encode()
            if len(body) > STATE_PAYLOAD_LIMIT:
                raise OverflowError(
                    f"{function.logical_id} returned {len(body)} bytes; Step Functions allows {STATE_PAYLOAD_LIMIT}"
                )
            return body, None
        except Exception as error:  # noqa: BLE001 - every failure becomes Lambda's error payload
            error_type = type(error).__name__
            document = {
                "errorType": error_type,
                "errorMessage": str(error),
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            return json.dumps(document).encode(), "Unhandled"
        finally:
            self.invocations.append(Invocation(function.logical_id, time.perf_counter() - started, error_type))
            self.log.flush()

    def forget_handlers(self) -> None:
        """Drop imported handler modules so the next cloud gets fresh cold starts and clients."""
        self._handlers.clear()
        for name in [m for m in sys.modules if m == "functions" or m.startswith("functions.")]:
            del sys.modules[name]
