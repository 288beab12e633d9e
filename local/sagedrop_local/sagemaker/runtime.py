"""InvokeEndpoint: the payload limits, the POST to the variant's model server, and the metrics."""

from __future__ import annotations

import http.client
import io
import time
from email.message import Message
from typing import Any

from botocore.response import StreamingBody

from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES, SERVERLESS_INVOKE_MAX_BYTES

from . import observability
from .context import Local
from .endpoint_worker import EndpointWorker
from .errors import SageMakerApiError, runtime_validation_error
from .inference_pipeline import model_error_message
from .script_mode import CONTAINER_TIMEOUT_SECONDS


def read_body(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return bytes(body)


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes, Message]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONTAINER_TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", "text/csv"), response.read(), response.headers
    finally:
        connection.close()


class Runtime:
    def __init__(self, local: Local, worker: EndpointWorker):
        self._local = local
        self._store = local.store
        self._worker = worker

    def operations(self) -> dict:
        return {("sagemaker-runtime", "InvokeEndpoint"): self.invoke}

    def invoke(self, params: dict, region: str, context: dict) -> dict:
        name = params["EndpointName"]
        account = self._local.account_id
        body = read_body(params.get("Body", b""))
        with self._store.read() as tables:
            endpoint = tables["endpoints"].get(name)
            if endpoint is None or endpoint["EndpointStatus"] != "InService":
                raise runtime_validation_error(f"Endpoint {name} of account {account} not found.")
            variants = {entry["variant"]["VariantName"]: entry["variant"] for entry in endpoint["_variants"]}
        variant_name = params.get("TargetVariant") or next(iter(variants))
        if variant_name not in variants:
            raise runtime_validation_error(f"Variant {variant_name} not found for endpoint {name}.")
        serverless = "ServerlessConfig" in variants[variant_name]
        limit = SERVERLESS_INVOKE_MAX_BYTES if serverless else INVOKE_ENDPOINT_MAX_BYTES
        if len(body) > limit:
            raise runtime_validation_error(f"Request {context.get('sagedrop_request_id')} has oversize body.")
        server = self._worker.running_server(name, variant_name)
        headers = {"Content-Type": params.get("ContentType") or "application/octet-stream"}
        if params.get("Accept"):
            headers["Accept"] = params["Accept"]
        started = time.perf_counter()
        status, response_type, payload, response_headers = post(server.port, body, headers)
        self._record(name, variant_name, int((time.perf_counter() - started) * 1_000_000))
        if status != 200:
            text = payload.decode("utf-8", errors="replace")
            group = f"/aws/sagemaker/Endpoints/{name}"
            raise SageMakerApiError(
                "ModelError",
                f"{model_error_message(status, text, response_headers)}. See "
                f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:"
                f"group={group} in account {account} for more information.",
                status_code=424,
                extra={
                    "OriginalStatusCode": status,
                    "OriginalMessage": text,
                    "LogStreamArn": f"arn:aws:logs:{region}:{account}:log-group:{group}",
                },
            )
        return {
            "Body": StreamingBody(io.BytesIO(payload), len(payload)),
            "ContentType": response_type,
            "InvokedProductionVariant": variant_name,
        }

    def _record(self, name: str, variant_name: str, latency_us: int) -> None:
        """One ``Invocations`` data point (kept for republish) and ModelLatency."""
        point = {
            "EndpointName": name,
            "VariantName": variant_name,
            "Timestamp": self._local.now(),
            "ModelLatency": latency_us,
        }
        with self._store.write() as tables:
            tables["invocations"].append(point)
        if self._local.cloudwatch is not None:
            observability.put_invocation_metrics(self._local.cloudwatch, [point])
