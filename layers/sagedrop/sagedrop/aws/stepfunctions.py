"""Starting executions and reading them: their history, and an ended one's status, input and error."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from sagedrop.aws.errors import is_already_exists


class Executions:
    def __init__(self, client: Any, state_machine_arn: str | None = None) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, document: dict) -> tuple[str, bool]:
        """Start an execution named ``name``; returns (execution ARN, started now?).

        ``ExecutionAlreadyExists`` means an earlier delivery of the same event already started it.
        """
        try:
            response = self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(document)
            )
            return response["executionArn"], True
        except ClientError as error:
            if not is_already_exists(error):
                raise
            return self.execution_arn(name), False

    def execution_arn(self, name: str) -> str:
        # arn:aws:states:region:account:stateMachine:NAME -> arn:aws:states:region:account:execution:NAME:run
        prefix, _, machine = self.state_machine_arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"

    def history(self, execution_arn: str) -> list[dict]:
        events: list[dict] = []
        for page in self.client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def describe(self, execution_arn: str) -> dict:
        """DescribeExecution: ``status``, ``input`` and, for most ended executions, ``error`` and ``cause``."""
        return self.client.describe_execution(executionArn=execution_arn)
