"""Run notifications on the SNS topic."""

from __future__ import annotations

from typing import Any

_SUBJECT_LIMIT = 100  # SNS rejects longer e-mail subjects


class Notifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str, attributes: dict[str, str] | None = None) -> str:
        message_attributes = {
            name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items()
        }
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=subject[:_SUBJECT_LIMIT],
            Message=message,
            MessageAttributes=message_attributes,
        )
        return response["MessageId"]
