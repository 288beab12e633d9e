"""Answer SageMaker API calls in-process through botocore's public event hooks.

``BaseClient._make_api_call`` emits ``before-parameter-build.<service>.<Op>`` with the caller's
python ``params`` and a per-call ``context`` dict, validates and serialises the request, then emits
``before-call.<service>.<Op>`` with the same ``context``. A ``before-call`` handler that returns
``(http_response, parsed_dict)`` replaces the HTTP request, so botocore never reaches moto's
``before-send`` stubber or the network. Status >= 300 makes botocore raise its usual ClientError.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .errors import SageMakerApiError

SERVICES = ("sagemaker", "sagemaker-runtime")
_PARAMS_KEY = "sagedrop_local_sagemaker_params"


class LocalHttpResponse:
    """The small part of ``botocore.awsrequest.AWSResponse`` that botocore and handlers read."""

    def __init__(self, status_code: int, headers: dict[str, str] | None = None):
        self.status_code = status_code
        self.headers = headers or {}
        self.raw = None
        self.content = b""
        self.text = ""
        self.url = "local://sagemaker"


# (service, operation name, python params, context) -> parsed response dict
Dispatcher = Callable[[str, str, dict[str, Any], dict[str, Any]], dict[str, Any]]


class BotocoreBridge:
    """Registers the two handlers on a botocore event emitter and routes calls to a dispatcher."""

    def __init__(self, dispatcher: Dispatcher):
        self._dispatch = dispatcher

    def register(self, events) -> None:
        """Hook every client created afterwards from the emitter's session."""
        for service in SERVICES:
            events.register(
                f"before-parameter-build.{service}",
                self._remember_params,
                unique_id=f"sagedrop-local-params-{service}",
            )
            events.register(f"before-call.{service}", self._answer, unique_id=f"sagedrop-local-answer-{service}")

    def watch(self, events, service: str, operation: str, on_done: Callable[[dict[str, Any]], None]) -> None:
        """Call ``on_done(params)`` after each call of another service's operation that took effect.

        "Took effect" includes a not-found answer: what was to be deleted is gone either way.
        """

        def after_call(http_response, parsed, context, **_kwargs) -> None:
            code = (parsed or {}).get("Error", {}).get("Code", "")
            if http_response.status_code < 300 or code == "ResourceNotFoundException":
                on_done(context.get(_PARAMS_KEY, {}))

        unique = f"sagedrop-local-watch-{service}-{operation}"
        events.register(
            f"before-parameter-build.{service}.{operation}", self._remember_params, unique_id=f"{unique}-params"
        )
        events.register(f"after-call.{service}.{operation}", after_call, unique_id=f"{unique}-done")

    @staticmethod
    def _remember_params(params, context, **_kwargs) -> None:
        # Keep the caller's python values (datetimes, bytes) rather than the serialised request.
        context[_PARAMS_KEY] = dict(params)

    def _answer(self, model, context, **_kwargs):
        service = model.service_model.service_id.hyphenize()
        operation = model.name
        params = context.get(_PARAMS_KEY, {})
        request_id = str(uuid.uuid4())
        context["sagedrop_request_id"] = request_id
        headers = {"x-amzn-requestid": request_id}
        try:
            parsed = self._dispatch(service, operation, params, context)
        except SageMakerApiError as error:
            body = {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": _metadata(request_id, error.status_code, headers),
                **error.extra,
            }
            return LocalHttpResponse(error.status_code, headers), body
        parsed = dict(parsed)
        parsed["ResponseMetadata"] = _metadata(request_id, 200, headers)
        return LocalHttpResponse(200, headers), parsed


def _metadata(request_id: str, status: int, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": dict(headers),
        "RetryAttempts": 0,
    }
