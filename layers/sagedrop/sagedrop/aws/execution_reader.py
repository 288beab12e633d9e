"""Reading an ended execution: what the backstop needs beyond ``Executions`` (its status, input, error)."""

from __future__ import annotations

from sagedrop.aws.stepfunctions import Executions


class ExecutionReader(Executions):
    def describe(self, execution_arn: str) -> dict:
        """DescribeExecution: ``status``, ``input`` and, for most ended executions, ``error`` and ``cause``."""
        return self.client.describe_execution(executionArn=execution_arn)
