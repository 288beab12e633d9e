"""What a command does with a local cloud, through boto3 clients: in-process (``cloud.LocalCloud``)
or over HTTP to a running ``local up`` (``server.client.RemoteCloud``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from sagedrop_local.s3_objects import LOCAL_TRANSFER

REGION = "us-east-1"

#: Waiting between two reads of a running execution, as a multiple of how long the last read took.
HISTORY_SHARE = 9


def default_state_dir() -> Path:
    return Path.home() / ".sagedrop" / "local"


class CloudClient:
    """What a command does with a local cloud through boto3 clients: in-process or over HTTP.

    Subclasses set the clients (``s3``, ``sfn``, ``_sqs``, ``_lambda``), ``bucket``,
    ``state_machine_arn``, ``scoring_state_machine_arn``, ``function_arns`` (logical id -> ARN) and
    ``_inbox_url``.
    """

    s3: Any
    sfn: Any
    _sqs: Any
    _lambda: Any
    bucket: str
    state_machine_arn: str
    scoring_state_machine_arn: str
    function_arns: dict[str, str]
    _inbox_url: str

    @property
    def inbox_url(self) -> str:
        """The SQS queue subscribed to the run notification topic (stands in for the e-mail)."""
        return self._inbox_url

    def client(self, service: str) -> Any:
        raise NotImplementedError

    def start_run(self, data: bytes, key: str) -> dict:
        """Upload a CSV; returns the starter's outcome: ``run_id``, ``execution_arn``, ``started``, ``reason``."""
        raise NotImplementedError

    def start_scoring(self, data: bytes, key: str) -> dict:
        """Upload a CSV under ``score/``; returns the starter's outcome (``scoring_id``, ``execution_arn``, …)."""
        raise NotImplementedError

    def start_run_from(self, source: BinaryIO, key: str) -> dict:
        """``start_run`` reading the CSV from a stream (a large file is never held whole): same outcome."""
        raise NotImplementedError

    def upload_csv(self, source: BinaryIO, key: str) -> tuple[str | None, str, int]:
        """Upload from a stream as a user's client does (boto3's managed upload: multipart above 8 MiB,
        a few parts in memory at a time); returns the object's version id, ETag and size."""
        self.s3.upload_fileobj(source, self.bucket, key, ExtraArgs={"ContentType": "text/csv"}, Config=LOCAL_TRANSFER)
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        return head.get("VersionId"), head["ETag"].strip('"'), int(head["ContentLength"])

    def put_object(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> dict:
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def invoke(self, logical_id: str, event: dict) -> dict:
        """Invoke a function of the stack through the Lambda API, as EventBridge or Scheduler would."""
        response = self._lambda.invoke(FunctionName=self.function_arns[logical_id], Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise RuntimeError(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        return payload

    def publish(self, event: dict) -> list[tuple[str, dict]]:
        """Put an event on the default bus: every rule whose pattern matches hands it to its functions.

        The rules are the template's (``LocalCloud`` creates them on moto's EventBridge, which a
        running ``local up`` shares). moto matches events to rules but delivers to no Lambda target,
        so this does the delivery: (function logical id, its response) per target reached.
        """
        from moto.events.models import EventPattern

        events = self.client("events")
        by_arn = {arn: logical_id for logical_id, arn in self.function_arns.items()}
        delivered = []
        for page in events.get_paginator("list_rules").paginate():
            for rule in page["Rules"]:
                if rule.get("State") != "ENABLED" or not rule.get("EventPattern"):
                    continue
                if not EventPattern.load(rule["EventPattern"]).matches_event(event):
                    continue
                for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                    logical_id = by_arn.get(target["Arn"])
                    if logical_id is None:
                        continue
                    try:
                        delivered.append((logical_id, self.invoke(logical_id, event)))
                    except RuntimeError as error:  # the function failed: Lambda logs it, EventBridge is done
                        delivered.append((logical_id, {"error": str(error)}))
        return delivered

    def history(self, execution_arn: str) -> list[dict]:
        events: list[dict] = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def wait(
        self,
        execution_arn: str,
        on_event: Callable[[dict], None] | None = None,
        timeout_seconds: float = 3600,
        poll_seconds: float = 0.2,
    ) -> dict:
        """Block until the execution ends, passing each new history event to ``on_event``.

        Each read returns the whole history (the local executor ignores paging), so the pause after
        a read is at least HISTORY_SHARE times the read: progress stays a small share of the run.
        """
        seen = 0
        deadline = time.monotonic() + timeout_seconds
        while True:
            started = time.monotonic()
            description = self.sfn.describe_execution(executionArn=execution_arn)
            if on_event:
                events = self.history(execution_arn)
                for event in events[seen:]:
                    on_event(event)
                seen = len(events)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout_seconds} s")
            time.sleep(max(poll_seconds, HISTORY_SHARE * (time.monotonic() - started)))

    def notifications(self, mentioning: str | None = None) -> list[dict]:
        """Messages the run notification topic published, taken from the local inbox.

        With ``mentioning``, only the messages containing that text are taken (a long-running
        ``local up`` has the messages of every run in its inbox); the others stay.
        """
        messages = []
        while True:
            batch = self._sqs.receive_message(QueueUrl=self._inbox_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                if mentioning is not None and mentioning not in message["Body"]:
                    continue
                envelope = json.loads(message["Body"])
                messages.append({"subject": envelope.get("Subject"), "message": envelope.get("Message")})
                self._sqs.delete_message(QueueUrl=self._inbox_url, ReceiptHandle=message["ReceiptHandle"])

    def keys(self, prefix: str) -> list[str]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return found

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def download(self, prefix: str, destination: Path) -> list[Path]:
        """Copy every object under ``prefix`` to ``destination`` (the bucket vanishes with the process).

        Each object is streamed to its file by ranges (a run's data parts are hundreds of MB at size).
        """
        written = []
        for key in self.keys(prefix):
            target = destination / key
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(self.bucket, key, str(target), Config=LOCAL_TRANSFER)
            written.append(target)
        return written
