"""A running ``sagedrop local up``, used through boto3 clients as any AWS client would.

with RemoteCloud(find_running(state_dir)) as cloud:
    outcome = cloud.start_run(data, "incoming/bank/bank.csv")   # S3 -> EventBridge -> starter
    final = cloud.wait(outcome["execution_arn"])
"""

from __future__ import annotations

import time
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from sagedrop.names import run_id_for
from sagedrop.scoring.names import scoring_id_for
from sagedrop_local.cloud_client import REGION, CloudClient
from sagedrop_local.server import discovery

EXECUTION_APPEARS_SECONDS = 60.0  # EventBridge delivers within seconds; past this, the starter failed


class RemoteCloud(CloudClient):
    def __init__(self, health: dict[str, Any]) -> None:
        self.url = health["url"]
        self.bucket = health["outputs"]["DataBucketName"]
        self.state_machine_arn = health["outputs"]["PipelineStateMachineArn"]
        self.scoring_state_machine_arn = health["outputs"].get("ScoringStateMachineArn", "")
        self.function_arns = health["functions"]
        self._inbox_url = health["inbox_url"]
        self._session = discovery.session(REGION)
        self.s3 = self.client("s3")
        self.sfn = self.client("stepfunctions")
        self._sqs = self.client("sqs")
        self._lambda = self.client("lambda")

    def __enter__(self) -> RemoteCloud:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def client(self, service: str) -> Any:
        return discovery.client(self._session, service, self.url)

    def start_run(self, data: bytes, key: str) -> dict:
        """Upload the CSV; the server's EventBridge rule starts the run, named by the run id."""
        response = self.put_object(key, data, "text/csv")
        run_id = run_id_for(self.bucket, key, response.get("VersionId"), response["ETag"].strip('"'))
        return self._await_execution(self.state_machine_arn, run_id, key, {"run_id": run_id})

    def start_run_from(self, source: BinaryIO, key: str) -> dict:
        """``start_run`` from a stream: a multipart upload (the server reports CompleteMultipartUpload too)."""
        version_id, etag, _ = self.upload_csv(source, key)
        run_id = run_id_for(self.bucket, key, version_id, etag)
        return self._await_execution(self.state_machine_arn, run_id, key, {"run_id": run_id})

    def start_scoring(self, data: bytes, key: str) -> dict:
        """Upload the CSV under score/; the server's rule starts the scoring, named by the scoring id."""
        response = self.put_object(key, data, "text/csv")
        scoring_id = scoring_id_for(self.bucket, key, response.get("VersionId"), response["ETag"].strip('"'))
        return self._await_execution(
            self.scoring_state_machine_arn, scoring_id, key, {"run_id": None, "scoring_id": scoring_id}
        )

    def _await_execution(self, machine_arn: str, name: str, key: str, outcome: dict) -> dict:
        execution_arn = f"{machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        deadline = time.monotonic() + EXECUTION_APPEARS_SECONDS
        while True:
            try:
                self.sfn.describe_execution(executionArn=execution_arn)
                return {**outcome, "execution_arn": execution_arn, "started": True, "reason": "started"}
            except ClientError as error:
                if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                    raise
            if time.monotonic() > deadline:
                reason = (
                    f"no execution for s3://{self.bucket}/{key} appeared: see the console of local up at {self.url}"
                )
                return {**outcome, "execution_arn": None, "started": False, "reason": reason}
            time.sleep(0.05)
