"""SageMaker training and hosting calls, with AWS errors translated into named domain errors.

Translation matters because the state machine retries by error *name*: throttling and quota
errors become SageMakerThrottled / SageMakerLimitExceeded (retried with backoff and jitter),
the eventual-consistency miss after CreateEndpointConfig becomes EndpointConfigNotReady.
The pipeline's steps and the nightly cleanup delete hosting resources through the same methods.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from sagedrop.aws.errors import error_code, error_message, is_already_exists, is_not_found, translate
from sagedrop.errors import EndpointConfigNotReady

LOG = logging.getLogger(__name__)


class SageMakerGateway:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, operation: str, **request: Any) -> dict:
        try:
            return getattr(self.client, operation)(**request)
        except ClientError as error:
            raise translate(error) from error

    def _create_once(self, operation: str, **request: Any) -> bool:
        """Create a resource whose name is derived from the run; True if this call created it.

        A retried deploy step finds the resources of its earlier attempt: they belong to the same
        run (same derived name), so "already existing" means done, not failed.
        """
        try:
            self._call(operation, **request)
            return True
        except ClientError as error:
            if is_already_exists(error):
                LOG.info("%s: already exists, reusing it", operation)
                return False
            raise

    def _delete_if_exists(self, operation: str, **request: Any) -> bool:
        """True if this call deleted it, False if it was already gone (running twice, or a race)."""
        try:
            self._call(operation, **request)
            return True
        except ClientError as error:
            if is_not_found(error):
                return False
            raise

    # --- training ------------------------------------------------------------------------------
    def create_training_job(self, request: dict) -> str:
        return self._call("create_training_job", **request)["TrainingJobArn"]

    def describe_training_job(self, name: str) -> dict:
        return self._call("describe_training_job", TrainingJobName=name)

    def training_jobs_in_progress(self, tags: Mapping[str, str], at_most: int | None = None) -> list[str]:
        """Names of the InProgress training jobs carrying every tag in ``tags``, newest first.

        ListTrainingJobs cannot filter by tag, so each InProgress job's tags are read; the account's
        running jobs are few (SageMaker's quotas bound them). Stops once ``at_most`` are found.
        """
        found: list[str] = []
        request: dict[str, Any] = {
            "StatusEquals": "InProgress",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 100,
        }
        while True:
            page = self._call("list_training_jobs", **request)
            for job in page.get("TrainingJobSummaries", []):
                if tags.items() <= self._tags(job["TrainingJobArn"]).items():
                    found.append(job["TrainingJobName"])
                    if at_most is not None and len(found) >= at_most:
                        return found
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        request: dict[str, Any] = {"ResourceArn": arn}
        while True:
            page = self._call("list_tags", **request)
            tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
            if not page.get("NextToken"):
                return tags
            request["NextToken"] = page["NextToken"]

    def stop_training_job_if_running(self, name: str) -> bool:
        try:
            status = self.describe_training_job(name)["TrainingJobStatus"]
            if status != "InProgress":
                return False
            self._call("stop_training_job", TrainingJobName=name)
            return True
        except ClientError as error:
            if is_not_found(error):
                return False
            raise

    # --- processing (the model analysis) ---------------------------------------------------------
    def create_processing_job(self, request: dict) -> str:
        return self._call("create_processing_job", **request)["ProcessingJobArn"]

    def describe_processing_job(self, name: str) -> dict:
        return self._call("describe_processing_job", ProcessingJobName=name)

    def stop_processing_job_if_running(self, name: str) -> bool:
        try:
            if self.describe_processing_job(name)["ProcessingJobStatus"] != "InProgress":
                return False
            self._call("stop_processing_job", ProcessingJobName=name)
            return True
        except ClientError as error:
            if is_not_found(error):
                return False
            raise

    # --- automatic model tuning ---------------------------------------------------------------
    def create_tuning_job(self, request: dict) -> str:
        return self._call("create_hyper_parameter_tuning_job", **request)["HyperParameterTuningJobArn"]

    def describe_tuning_job(self, name: str) -> dict:
        return self._call("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)

    def tuning_job_trials(self, name: str) -> list[dict]:
        """Every training job the tuning job launched (HyperParameterTrainingJobSummary), oldest first."""
        trials: list[dict] = []
        request: dict[str, Any] = {
            "HyperParameterTuningJobName": name,
            "SortBy": "CreationTime",
            "SortOrder": "Ascending",
            "MaxResults": 100,
        }
        while True:
            page = self._call("list_training_jobs_for_hyper_parameter_tuning_job", **request)
            trials.extend(page.get("TrainingJobSummaries", []))
            if not page.get("NextToken"):
                return trials
            request["NextToken"] = page["NextToken"]

    def stop_tuning_job_if_running(self, name: str) -> bool:
        """Stop the tuning job (SageMaker then stops its trials); False when it is not running or gone."""
        try:
            if self.describe_tuning_job(name)["HyperParameterTuningJobStatus"] != "InProgress":
                return False
            self._call("stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
            return True
        except ClientError as error:
            if is_not_found(error):
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
            if error_code(error) == "ValidationException" and "endpoint configuration" in error_message(error).lower():
                raise EndpointConfigNotReady(error_message(error)) from error
            raise

    def describe_endpoint(self, name: str) -> dict:
        return self._call("describe_endpoint", EndpointName=name)

    def delete_endpoint(self, name: str) -> bool:
        return self._delete_if_exists("delete_endpoint", EndpointName=name)

    def delete_endpoint_config(self, name: str) -> bool:
        return self._delete_if_exists("delete_endpoint_config", EndpointConfigName=name)

    def delete_model(self, name: str) -> bool:
        return self._delete_if_exists("delete_model", ModelName=name)

    def delete_hosting(self, endpoint: str, endpoint_config: str, model: str) -> list[str]:
        """Delete an endpoint, its config and its model; what did not exist is skipped quietly.

        Deleting an endpoint does not delete its config or model, so all three go, endpoint
        first (a config in use cannot be removed meaningfully before the endpoint is gone).
        Returns the names actually deleted.
        """
        deleted = []
        for delete, name in (
            (self.delete_endpoint, endpoint),
            (self.delete_endpoint_config, endpoint_config),
            (self.delete_model, model),
        ):
            if delete(name):
                deleted.append(name)
        return deleted
