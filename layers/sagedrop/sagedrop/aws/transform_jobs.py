"""SageMaker Batch Transform calls, with the errors translated as for training and hosting.

The model a transform job runs is created and deleted with the hosting calls it inherits.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from sagedrop.aws.errors import error_code, is_not_found
from sagedrop.aws.sagemaker import SageMakerGateway

#: The error code of CreateTransformJob for a name that a job (of any status) already has.
TAKEN_JOB_NAME = "ResourceInUse"
#: A job in these states still runs (and bills); StopTransformJob ends it.
RUNNING_STATUSES = frozenset({"InProgress"})


class BatchTransformGateway(SageMakerGateway):
    def create_transform_job(self, request: dict) -> bool:
        """True if this call created the job; False if a job of that name exists (a retried step's)."""
        try:
            return self._create_once("create_transform_job", **request)
        except ClientError as error:
            # SageMaker answers a taken job name with ResourceInUse, not with "already exists".
            if error_code(error) == TAKEN_JOB_NAME:
                return False
            raise

    def transform_instance_types(self) -> tuple[str, ...]:
        """The instance types CreateTransformJob accepts (botocore's model: some endpoint types are not)."""
        return tuple(self.client.meta.service_model.shape_for("TransformInstanceType").enum)

    def describe_transform_job(self, name: str) -> dict:
        return self._call("describe_transform_job", TransformJobName=name)

    def stop_transform_job_if_running(self, name: str) -> bool:
        """Stop the job if it runs; True if this call stopped it, False if it had ended or never existed."""
        try:
            status = self.describe_transform_job(name)["TransformJobStatus"]
            if status not in RUNNING_STATUSES:
                return False
            self._call("stop_transform_job", TransformJobName=name)
            return True
        except ClientError as error:
            if is_not_found(error):
                return False
            raise
