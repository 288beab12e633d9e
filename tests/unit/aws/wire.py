"""Make botocore raise the ClientError a service really answers: a raw HTTP error response is
handed to the client at ``before-send``, so botocore's own protocol parser builds the error."""

from __future__ import annotations

import json

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def no_retry_client(service: str):
    return boto3.client(service, region_name=REGION, config=Config(retries={"total_max_attempts": 1}))


def answer_with(client, operation: str, status: int, body: bytes, headers: dict | None = None) -> None:
    """Answer every call of ``operation`` on ``client`` with this HTTP response."""

    def respond(request, **_):
        return AWSResponse(request.url, status, headers or {}, _Body(body))

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-send.{service}.{operation}", respond)


def json_error(error_type: str, message: str) -> bytes:
    """The JSON-protocol error body (SageMaker, CloudWatch Logs, Step Functions)."""
    return json.dumps({"__type": error_type, "message": message}).encode()


def raised(service: str, method: str, operation: str, status: int, body: bytes, **params) -> ClientError:
    """The ClientError ``client.<method>(**params)`` raises when the service answers ``body``."""
    client = no_retry_client(service)
    answer_with(client, operation, status, body)
    try:
        getattr(client, method)(**params)
    except ClientError as error:
        return error
    raise AssertionError(f"{method} did not raise")
