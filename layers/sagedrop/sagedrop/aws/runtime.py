"""InvokeEndpoint, one request at a time; a container's error answer becomes EndpointError."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from sagedrop.aws.errors import error_code, error_message
from sagedrop.errors import EndpointError
from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES, SERVERLESS_INVOKE_MAX_BYTES


class EndpointInvoker:
    def __init__(self, client: Any, endpoint_name: str, *, serverless: bool = False) -> None:
        self.client = client
        self.endpoint_name = endpoint_name
        self.max_bytes = SERVERLESS_INVOKE_MAX_BYTES if serverless else INVOKE_ENDPOINT_MAX_BYTES

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        """The endpoint's answer to ``body``; EndpointError with the container's status and message.

        SageMaker reports a container's 4xx/5xx as ``ModelError`` with ``OriginalStatusCode`` and
        ``OriginalMessage``; the original message is what names the bad row and column.
        """
        # Refused here with the sizes named, rather than by the service with a bare ValidationError.
        if len(body) > self.max_bytes:
            raise ValueError(f"batch of {len(body)} bytes exceeds InvokeEndpoint's {self.max_bytes}")
        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name, ContentType=content_type, Accept=accept, Body=body
            )
        except ClientError as error:
            if error_code(error) != "ModelError":
                raise
            status = error.response.get("OriginalStatusCode")
            message = error.response.get("OriginalMessage") or error_message(error)
            raise EndpointError(message, int(status) if status is not None else None) from error
        return response["Body"].read()

    def predict_csv(self, body: bytes) -> bytes:
        """Send CSV rows, return the CSV answer."""
        return self.invoke(body, "text/csv", "text/csv")
