"""CloudWatch Logs and metrics the way SageMaker emits them (what the nightly cleanup reads)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions

NAMESPACE = "AWS/SageMaker"
_METRICS_PER_CALL = 20  # the classic PutMetricData limit; every CloudWatch accepts it


def ensure_log_group(logs_client, group: str) -> None:
    """Create the log group unless it exists."""
    try:
        logs_client.create_log_group(logGroupName=group)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


def put_log_events(logs_client, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """Create group and stream as needed and append the events (timestamps in ms, sorted)."""
    ensure_log_group(logs_client, group)
    try:
        logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    ordered = sorted(events, key=lambda event: event["timestamp"])
    for start in range(0, len(ordered), 1000):
        batch = ordered[start : start + 1000]
        if batch:
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)


def put_invocation_metrics(cloudwatch_client, invocations: list[dict[str, Any]]) -> None:
    """``Invocations`` (Sum of 1 per request) and ``ModelLatency`` per EndpointName+VariantName."""
    data = []
    for point in invocations:
        dimensions = [
            {"Name": "EndpointName", "Value": point["EndpointName"]},
            {"Name": "VariantName", "Value": point["VariantName"]},
        ]
        data.append(
            {
                "MetricName": "Invocations",
                "Dimensions": dimensions,
                "Timestamp": point["Timestamp"],
                "Value": 1.0,
                "Unit": "None",
            }
        )
        if point.get("ModelLatency") is not None:
            data.append(
                {
                    "MetricName": "ModelLatency",
                    "Dimensions": dimensions,
                    "Timestamp": point["Timestamp"],
                    "Value": float(point["ModelLatency"]),
                    "Unit": "Microseconds",
                }
            )
    for start in range(0, len(data), _METRICS_PER_CALL):
        cloudwatch_client.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + _METRICS_PER_CALL])
