"""InvokeEndpoint, one batch at a time."""

from __future__ import annotations

from typing import Any

from sagedrop.evaluation.batching import SAGEMAKER_MAX_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES


class EndpointInvoker:
    def __init__(self, client: Any, endpoint_name: str) -> None:
        self.client = client
        self.endpoint_name = endpoint_name

    def predict_csv(self, body: bytes) -> bytes:
        """Send features-only CSV rows, return the container's CSV answer."""
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"batch of {len(body)} bytes exceeds InvokeEndpoint's {MAX_PAYLOAD_BYTES}")
        response = self.client.invoke_endpoint(
            EndpointName=self.endpoint_name, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return response["Body"].read()
