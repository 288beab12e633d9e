"""InvokeEndpoint, one batch at a time."""

from __future__ import annotations

from typing import Any

from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES, SERVERLESS_INVOKE_MAX_BYTES


class EndpointInvoker:
    def __init__(self, client: Any, endpoint_name: str, *, serverless: bool = False) -> None:
        self.client = client
        self.endpoint_name = endpoint_name
        self.max_bytes = SERVERLESS_INVOKE_MAX_BYTES if serverless else INVOKE_ENDPOINT_MAX_BYTES

    def predict_csv(self, body: bytes) -> bytes:
        """Send features-only CSV rows, return the container's CSV answer."""
        # Refused here with the sizes named, rather than by the service with a bare ValidationError.
        if len(body) > self.max_bytes:
            raise ValueError(f"batch of {len(body)} bytes exceeds InvokeEndpoint's {self.max_bytes}")
        response = self.client.invoke_endpoint(
            EndpointName=self.endpoint_name, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return response["Body"].read()
