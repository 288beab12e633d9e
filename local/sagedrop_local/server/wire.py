"""Answer wire requests with this process's own boto3 clients, (de)serialised from botocore's models.

The local SageMaker and the Lambda runtime answer boto3 calls through botocore hooks, in-process.
To serve them over HTTP, a request is matched to its operation and parsed into the parameters a
boto3 call takes, and the result (or error) is written back in the service's protocol, all by
moto's model-driven router, parsers and serialisers (built on botocore's service models, the same
ones the client used to write the request). The call itself goes to a client of the local cloud's
session, so it takes exactly the path an in-process call takes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from botocore.response import StreamingBody
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import Request, determine_request_protocol
from moto.core.routing import get_service_router
from moto.core.serialize import get_serializer_class
from moto.core.utils import get_service_model
from werkzeug.exceptions import NotFound


@dataclass
class WireResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _ServiceError(Exception):
    """A ClientError as moto's serialiser reads errors: ``code``, ``message`` and any modelled members."""

    def __init__(self, response: dict[str, Any]) -> None:
        error = response.get("Error", {})
        super().__init__(error.get("Message", ""))
        self.code = error.get("Code", "InternalFailure")
        self.message = error.get("Message", "")
        for name, value in response.items():
            if name not in ("Error", "ResponseMetadata"):
                setattr(self, name, value)


def _read_streams(result: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.read() if isinstance(value, StreamingBody) else value
        for name, value in result.items()
        if name != "ResponseMetadata"
    }


def _restore_modelled_content_type(operation: Any, result: dict[str, Any], headers: dict[str, Any]) -> None:
    """A blob payload's own type (InvokeEndpoint's ``ContentType``) beats the protocol's default.

    moto's REST serialiser sets the protocol's Content-Type after the modelled headers.
    """
    shape = operation.output_shape
    for name, member in shape.members.items() if shape is not None else ():
        where = member.serialization
        if where.get("location") == "header" and where.get("name", "").lower() == "content-type" and result.get(name):
            for header in [h for h in headers if h.lower() == "content-type"]:
                del headers[header]
            headers["Content-Type"] = result[name]


class InProcessApi:
    """Serves chosen operations of chosen services from the clients of one boto3 session."""

    def __init__(self, session: Any, region: str, services: tuple[str, ...]) -> None:
        # Created here, once: creating clients from one session in many request threads is unsafe.
        self._clients = {service: session.client(service, region_name=region) for service in services}

    @staticmethod
    def operation(service: str, request: Request) -> tuple[Any, dict[str, Any]] | None:
        """The operation model a request is for and its URI parameters, or None when none matches."""
        try:
            return get_service_router(service).match(request)
        except NotFound:
            return None

    def answer(self, service: str, request: Request) -> WireResponse | None:
        """The response to ``request`` from this process's ``service`` client (None: no such operation)."""
        matched = self.operation(service, request)
        if matched is None or service not in self._clients:
            return None
        operation, uri_params = matched
        service_model = get_service_model(service)
        protocol = determine_request_protocol(service_model, request.content_type)
        params = PROTOCOL_PARSERS[protocol](operation).parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.get_data(),
                "url_path": request.path,
                "url_params": uri_params,
            }
        )
        serializer = get_serializer_class(service, protocol)(operation)
        request_id = str(uuid.uuid4())
        try:
            result = getattr(self._clients[service], xform_name(operation.name))(**params)
        except ClientError as error:
            serialized = serializer.serialize(_ServiceError(error.response))
            serialized["status_code"] = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            request_id = error.response.get("ResponseMetadata", {}).get("RequestId") or request_id
        except ParamValidationError as error:
            serialized = serializer.serialize(
                _ServiceError({"Error": {"Code": "ValidationException", "Message": str(error)}})
            )
            serialized["status_code"] = 400
        else:
            request_id = result.get("ResponseMetadata", {}).get("RequestId") or request_id
            serialized = serializer.serialize(_read_streams(result))
            _restore_modelled_content_type(operation, result, serialized["headers"])
        body = serialized["body"]
        headers = {name: str(value) for name, value in serialized["headers"].items()}
        headers["x-amzn-RequestId"] = request_id
        return WireResponse(
            int(serialized["status_code"]), headers, body.encode() if isinstance(body, str) else bytes(body or b"")
        )
