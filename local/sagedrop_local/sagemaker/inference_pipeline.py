"""Inference pipelines: CreateModel with ``Containers``, and serving them as SageMaker's serial pipeline does.

CreateModel takes exactly one of ``PrimaryContainer`` and ``Containers`` (at most 15, each with its
``Image`` and ``ModelDataUrl``); ``InferenceExecutionConfig.Mode`` ``Serial`` is the pipeline
(``Direct``, a multi-container endpoint addressed per container, is not emulated). Hostnames: each
container's ``ContainerHostname``, all or none given; without them a name from the position,
``container-1``, ``container-2``, … (SageMaker documents "a unique name based on the position"
without saying which, so that spelling is this emulation's). A serverless variant cannot host a
model of several containers.

Serving (:class:`PipelineServer`): the caller's request goes to the first container; each answer
(body and Content-Type) is the next container's request; the last container's answer is the
caller's. The caller's ``Accept`` goes to the last container only, so the others answer their own
default (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``) — which is why a featurizer in front of XGBoost
must default to ``text/csv``. A container answering anything but 200 ends the pipeline with its
status and message, and the answer names it (the ``X-Sagedrop-Failed-Container`` header), so
InvokeEndpoint's ModelError says ``from <hostname>`` where a single container says ``from
primary``. An answer between two containers larger than 5 MB ends it too, with the message the
SageMaker documentation gives for it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from sagedrop.limits import PIPELINE_STAGE_MAX_BYTES

from .errors import validation_exception
from .model_server import HttpModelServer
from .script_mode import post

MAX_CONTAINERS = 15
SERIAL = "Serial"
DIRECT = "Direct"
PRIMARY = "primary"
#: The largest answer one container of a pipeline may pass to the next.
INTERMEDIATE_PAYLOAD_MAX_BYTES = PIPELINE_STAGE_MAX_BYTES
#: ``ContainerDefinition.Environment``: per key and value, and all maps of one CreateModel together.
ENVIRONMENT_ENTRY_MAX_BYTES = 1024
ENVIRONMENT_TOTAL_MAX_BYTES = 32 * 1024
FAILED_CONTAINER_HEADER = "X-Sagedrop-Failed-Container"
PIPELINE_ERROR_HEADER = "X-Sagedrop-Pipeline-Error"
_PAYLOAD_LIMIT = "payload-limit"


# --- CreateModel and CreateEndpointConfig ----------------------------------------------------


def containers_of(params: Mapping) -> list[dict]:
    """The containers of a CreateModel request, checked as SageMaker checks them."""
    primary, containers = params.get("PrimaryContainer"), params.get("Containers")
    if primary and containers:
        raise validation_exception("Only one of PrimaryContainer or Containers can be specified, not both.")
    if primary:
        return [primary]
    if not containers:
        raise validation_exception("Either PrimaryContainer or Containers must be provided.")
    if len(containers) > MAX_CONTAINERS:
        raise validation_exception(
            f"1 validation error detected: Value '{len(containers)} containers' at 'containers' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_CONTAINERS}"
        )
    for index, container in enumerate(containers, start=1):
        for key in ("Image", "ModelDataUrl"):
            if not container.get(key):
                raise validation_exception(
                    f"1 validation error detected: Value null at 'containers.{index}.member.{key[0].lower()}{key[1:]}' "
                    "failed to satisfy constraint: Member must not be null"
                )
    _check_hostnames(containers)
    _check_environments(containers)
    if len(containers) > 1 and any(container.get("Mode") == "MultiModel" for container in containers):
        raise validation_exception(
            "More than one container in MultiModel mode is not supported with inference pipeline."
        )
    mode = (params.get("InferenceExecutionConfig") or {}).get("Mode", SERIAL)
    if mode == DIRECT:
        raise validation_exception(
            "InferenceExecutionConfig Mode Direct (a multi-container endpoint) is not emulated by the local "
            "SageMaker; use Serial for an inference pipeline."
        )
    return list(containers)


def _check_hostnames(containers: Sequence[Mapping]) -> None:
    names = [container.get("ContainerHostname") for container in containers]
    if any(names) and not all(names):
        raise validation_exception(
            "If you specify a ContainerHostname for any container of an inference pipeline, you must specify "
            "one for every container."
        )
    given = [name for name in names if name]
    if len(set(given)) != len(given):
        raise validation_exception(f"ContainerHostname values must be unique within a model: {given}.")


def _check_environments(containers: Sequence[Mapping]) -> None:
    total = 0
    for container in containers:
        for key, value in (container.get("Environment") or {}).items():
            sizes = len(str(key).encode()), len(str(value).encode())
            if max(sizes) > ENVIRONMENT_ENTRY_MAX_BYTES:
                raise validation_exception(
                    f"The environment variable {key!r} is longer than {ENVIRONMENT_ENTRY_MAX_BYTES} bytes."
                )
            total += sum(sizes)
    if total > ENVIRONMENT_TOTAL_MAX_BYTES:
        raise validation_exception(
            f"The environment maps of the containers take {total} bytes together, more than "
            f"{ENVIRONMENT_TOTAL_MAX_BYTES // 1024} KB."
        )


def is_pipeline(model: Mapping) -> bool:
    return not model.get("PrimaryContainer") and bool(model.get("Containers"))


def container_names(model: Mapping) -> list[str]:
    """How errors and logs name each container: ``primary``, or the pipeline's hostnames."""
    if not is_pipeline(model):
        return [PRIMARY]
    return [
        container.get("ContainerHostname") or f"container-{index}"
        for index, container in enumerate(model["Containers"], start=1)
    ]


def check_serverless_host(variant: Mapping, model: Mapping) -> None:
    """A serverless variant hosts one container; raise SageMaker's kind of ValidationException otherwise."""
    count = len(model.get("Containers") or [])
    if "ServerlessConfig" in variant and not model.get("PrimaryContainer") and count > 1:
        raise validation_exception(
            f"Serverless inference does not support multi-container models: production variant "
            f"{variant['VariantName']} uses model {model['ModelName']}, which has {count} containers "
            "(an inference pipeline). Use a model with a single container for a serverless endpoint."
        )


# --- serving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One container of a running pipeline: its name and its started server (anything with a ``port``)."""

    name: str
    server: object


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    failed_container: str | None = None
    payload_limit: bool = False

    def headers(self) -> dict[str, str]:
        headers = {FAILED_CONTAINER_HEADER: self.failed_container} if self.failed_container else {}
        if self.payload_limit:
            headers[PIPELINE_ERROR_HEADER] = _PAYLOAD_LIMIT
        return headers


def run_pipeline(
    stages: Sequence[Stage],
    payload: bytes,
    content_type: str | None,
    accept: str | None,
    intermediate_limit: int | None = INTERMEDIATE_PAYLOAD_MAX_BYTES,
) -> Answer:
    """The request through every container in order, as SageMaker's serial pipeline passes it on.

    ``intermediate_limit`` is the endpoints' (a transform job's payload is bounded by MaxPayloadInMB
    and by each container's own request limit instead).
    """
    body, body_type = payload, content_type
    for index, stage in enumerate(stages):
        last = index == len(stages) - 1
        status, body, body_type = post(stage.server.port, body, body_type, accept if last else None)
        if status != HTTPStatus.OK:
            return Answer(status, body, body_type, failed_container=stage.name)
        if not last and intermediate_limit is not None and len(body) > intermediate_limit:
            following = stages[index + 1].name
            message = (
                f"Received response from {stage.name} with status code 200. However, the request payload from "
                f"{stage.name} to {following} is {len(body)} bytes, which has exceeded the maximum limit of "
                f"{intermediate_limit // (1024 * 1024)} MB."
            )
            return Answer(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                message.encode(),
                "text/plain",
                failed_container=following,
                payload_limit=True,
            )
    return Answer(HTTPStatus.OK, body, body_type)


class PipelineServer(HttpModelServer):
    """A pipeline variant's front: ``/invocations`` runs the containers in order. Owns the stage servers."""

    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        intermediate_limit: int | None = INTERMEDIATE_PAYLOAD_MAX_BYTES,
        on_request=None,
    ):
        super().__init__(on_request=on_request)
        self.stages = list(stages)
        self.intermediate_limit = intermediate_limit
        self._stopped = threading.Event()

    def run(self, payload: bytes, content_type: str | None, accept: str | None) -> Answer:
        return run_pipeline(self.stages, payload, content_type, accept, self.intermediate_limit)

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None):
        answer = self.run(payload, content_type, accept)
        return answer.status, answer.body, answer.content_type, answer.headers()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        super().stop()
        for stage in self.stages:
            stage.server.stop()


def model_error_message(status: int, text: str, headers: Mapping[str, str]) -> str:
    """The start of InvokeEndpoint's ModelError message for a container's non-200 answer."""
    if headers.get(PIPELINE_ERROR_HEADER) == _PAYLOAD_LIMIT:
        return text.rstrip(".")
    side = "client" if status < 500 else "server"
    source = headers.get(FAILED_CONTAINER_HEADER) or PRIMARY
    return f'Received {side} error ({status}) from {source} with message "{text}"'
