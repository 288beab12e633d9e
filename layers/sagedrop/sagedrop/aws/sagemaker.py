"""SageMaker calls the pipeline makes, with AWS errors translated into named domain errors.

Translation matters because the state machine retries by error *name*: throttling and quota
errors become SageMakerThrottled / SageMakerLimitExceeded (retried with backoff and jitter),
the eventual-consistency miss after CreateEndpointConfig becomes EndpointConfigNotReady.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from sagedrop.errors import EndpointConfigNotReady, SageMakerLimitExceeded, SageMakerThrottled

LOG = logging.getLogger(__name__)
_THROTTLING = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _error_message(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Message", "")


def _translate(error: ClientError) -> Exception:
    code = _error_code(error)
    if code in _THROTTLING:
        return SageMakerThrottled(_error_message(error) or code)
    if code == "ResourceLimitExceeded":
        return SageMakerLimitExceeded(_error_message(error) or code)
    return error


def _already_exists(error: ClientError) -> bool:
    return _error_code(error) == "ValidationException" and "already existing" in _error_message(error)


def _not_found(error: ClientError) -> bool:
    message = _error_message(error).lower()
    return _error_code(error) in {"ValidationException", "ResourceNotFound"} and (
        "could not find" in message or "not found" in message or "does not exist" in message
    )


class SageMakerGateway:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, operation: str, **request: Any) -> dict:
        try:
            return getattr(self.client, operation)(**request)
        except ClientError as error:
            raise _translate(error) from error

    def _create_once(self, operation: str, **request: Any) -> bool:
        """Create a resource whose name is derived from the run; True if this call created it.

        A retried deploy step finds the resources of its earlier attempt: they belong to the same
        run (same derived name), so "already existing" means done, not failed.
        """
        try:
            self._call(operation, **request)
            return True
        except ClientError as error:
            if _already_exists(error):
                LOG.info("%s: already exists, reusing it", operation)
                return False
            raise

    # --- training ------------------------------------------------------------------------------
    def create_training_job(self, request: dict) -> str:
        return self._call("create_training_job", **request)["TrainingJobArn"]

    def describe_training_job(self, name: str) -> dict:
        return self._call("describe_training_job", TrainingJobName=name)

    def stop_training_job_if_running(self, name: str) -> bool:
        try:
            status = self.describe_training_job(name)["TrainingJobStatus"]
            if status != "InProgress":
                return False
            self._call("stop_training_job", TrainingJobName=name)
            return True
        except ClientError as error:
            if _not_found(error):
                return False
            raise

    # --- hosting -------------------------------------------------------------------------------
    def create_model(self, request: dict) -> bool:
        return self._create_once("create_model", **request)

    def create_endpoint_config(self, request: dict) -> bool:
        return self._create_once("create_endpoint_config", **request)

    def create_endpoint(self, request: dict) -> bool:
        try:
            return self._create_once("create_endpoint", **request)
        except ClientError as error:
            # Right after CreateEndpointConfig the config may not be visible yet.
            if (
                _error_code(error) == "ValidationException"
                and "endpoint configuration" in _error_message(error).lower()
            ):
                raise EndpointConfigNotReady(_error_message(error)) from error
            raise

    def describe_endpoint(self, name: str) -> dict:
        return self._call("describe_endpoint", EndpointName=name)

    def delete_hosting(self, endpoint: str, endpoint_config: str, model: str) -> list[str]:
        """Delete an endpoint, its config and its model; what did not exist is skipped quietly.

        Deleting an endpoint does not delete its config or model, so all three go, endpoint
        first (a config in use cannot be removed meaningfully before the endpoint is gone).
        Returns the names actually deleted.
        """
        deleted = []
        for operation, argument, name in (
            ("delete_endpoint", "EndpointName", endpoint),
            ("delete_endpoint_config", "EndpointConfigName", endpoint_config),
            ("delete_model", "ModelName", model),
        ):
            try:
                self._call(operation, **{argument: name})
                deleted.append(name)
            except ClientError as error:
                if not _not_found(error):
                    raise
        return deleted
