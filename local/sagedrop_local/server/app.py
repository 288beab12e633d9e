"""The WSGI application of ``sagedrop local up``: one endpoint URL for every AWS client.

A request names its service in its SigV4 credential scope (``…/us-east-1/sagemaker/aws4_request``).
SageMaker, SageMaker runtime and Lambda ``Invoke`` of the stack's functions are answered in-process
(sagedrop_local.server.wire); everything else goes to moto (sagedrop_local.server.moto_app), whose
backends the in-process ``mock_aws`` of the local cloud shares. A successful PutObject, CopyObject
or CompleteMultipartUpload is reported to ``on_object_created`` (S3's "Object Created" event).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from moto.core.request import Request

from sagedrop_local.server.discovery import HEALTH_PATH
from sagedrop_local.server.moto_app import MotoApplication, signing_scope
from sagedrop_local.server.wire import InProcessApi, WireResponse

OBJECT_CREATED_OPERATIONS = {"PutObject", "CopyObject", "CompleteMultipartUpload"}
ObjectCreated = Callable[[str, str, "str | None"], None]  # bucket, key, version id


def _respond(start_response: Callable, response: WireResponse) -> list[bytes]:
    reason = HTTPStatus(response.status).phrase
    headers = {**response.headers, "Content-Length": str(len(response.body))}
    start_response(f"{response.status} {reason}", list(headers.items()))
    return [response.body]


class LocalCloudApp:
    def __init__(
        self,
        api: InProcessApi,
        *,
        function_names: Iterable[str],
        on_object_created: ObjectCreated,
        health: Callable[[], dict],
    ) -> None:
        self._api = api
        self._moto = MotoApplication()
        self._functions = set(function_names)
        self._on_object_created = on_object_created
        self._health = health

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps(self._health()).encode()
            return _respond(start_response, WireResponse(200, {"Content-Type": "application/json"}, body))
        service = (signing_scope(environ) or ("", ""))[1]
        if service == "sagemaker":
            # One signing name, two APIs: the runtime is the one under /endpoints/<name>/.
            runtime = environ.get("PATH_INFO", "").startswith("/endpoints/")
            answered = self._api.answer("sagemaker-runtime" if runtime else "sagemaker", Request(environ))
            if answered is not None:
                return _respond(start_response, answered)
        elif service == "lambda":
            answered = self._invoke_stack_function(Request(environ))
            if answered is not None:
                return _respond(start_response, answered)
        elif service == "s3" and environ.get("REQUEST_METHOD") in ("PUT", "POST"):
            return self._s3_write(environ, start_response)
        return self._moto(environ, start_response)

    def _invoke_stack_function(self, request: Request) -> WireResponse | None:
        """Lambda Invoke of a function of this stack runs its handler; anything else is moto's."""
        matched = self._api.operation("lambda", request)
        if matched is None or matched[0].name != "Invoke":
            return None
        name = matched[1].get("FunctionName", "").split(":$LATEST")[0]
        if name not in self._functions and name.rsplit(":", 1)[-1] not in self._functions:
            return None
        return self._api.answer("lambda", request)

    def _s3_write(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured.update(status=int(status.split()[0]), headers=dict(headers))
            return start_response(status, headers, *args)

        # Routing reads method, path, query and headers only: moto may consume the body meanwhile.
        request = Request(dict(environ))
        body = self._moto(environ, capture)
        if 200 <= captured.get("status", 500) < 300:
            matched = self._api.operation("s3", request)
            if matched is not None and matched[0].name in OBJECT_CREATED_OPERATIONS:
                params = matched[1]
                headers = {name.lower(): value for name, value in captured["headers"].items()}
                self._on_object_created(params["Bucket"], params["Key"], headers.get("x-amz-version-id"))
        return body
