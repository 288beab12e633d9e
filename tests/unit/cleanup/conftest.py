"""A moto account builder for cleanup tests: endpoints, configs, models, metrics and log groups of any age.

Ages are real: each resource is created with time-machine moved to ``now - age``, so moto stamps it
with that creation time, and the cleanup is then evaluated as of ``now``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import time_machine
from moto import mock_aws

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.cleanup import CleanupClients, CleanupSettings
from tests.constants import BUCKET, REGION, ROLE_ARN, STACK
from tests.constants import XGBOOST_IMAGE_1_7 as IMAGE

# A fixed evaluation time keeps reports reproducible; time-machine places every creation before it.
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def no_sleep(monkeypatch):
    """Record botocore's retry backoff delays instead of waiting for them, and open adaptive mode's
    client-side token bucket (it waits on a condition variable in real time)."""
    delays: list[float] = []
    monkeypatch.setattr("time.sleep", delays.append)
    monkeypatch.setattr("botocore.retries.bucket.TokenBucket.acquire", lambda self, amount=1, block=True: True)
    return delays


def make_settings(**overrides) -> CleanupSettings:
    values = {
        "data_bucket": BUCKET,
        "notification_topic_arn": f"arn:aws:sns:{REGION}:123456789012:sagedrop-test-runs",
        "stack_name": STACK,
    }
    values.update(overrides)
    return CleanupSettings(**values)


@dataclass
class CallCounter:
    """Counts API calls by operation through botocore's ``before-call`` event."""

    calls: Counter = field(default_factory=Counter)

    def attach(self, *clients) -> CallCounter:
        for each in clients:
            each.meta.events.register("before-call.*.*", self._count)
        return self

    def _count(self, model, **_):
        self.calls[model.name] += 1


class Account:
    """Builds a SageMaker / CloudWatch / Logs world inside moto."""

    def __init__(self, now: datetime = NOW):
        self.now = now
        session = boto3.session.Session(region_name=REGION)
        self.clients = CleanupClients.create(session)
        self.sagemaker = self.clients.sagemaker
        self.cloudwatch = self.clients.cloudwatch
        self.logs = self.clients.logs
        self.clients.s3.create_bucket(Bucket=BUCKET)
        topic_arn = self.clients.sns.create_topic(Name="sagedrop-test-runs")["TopicArn"]
        # An SQS subscription lets tests read what SNS published.
        sqs = client("sqs", retries=RetryPolicy.SELF, session=session)
        self.queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.clients.sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        self.sqs = sqs
        self.metric_data: list[dict] = []

    # --- SageMaker ------------------------------------------------------------------------------------
    def model(self, name: str, *, age: timedelta, stack: str | None = STACK) -> str:
        tags = [{"Key": "sagedrop:stack", "Value": stack}] if stack else []
        with time_machine.travel(self.now - age, tick=False):
            self.sagemaker.create_model(
                ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": IMAGE}, Tags=tags
            )
        return name

    def config(
        self,
        name: str,
        *,
        age: timedelta,
        models: dict[str, str] | None = None,
        stack: str | None = STACK,
        serverless: bool = False,
        instance_type: str = "ml.m5.xlarge",
    ) -> str:
        """``models`` maps variant name → model name (default: AllTraffic → ``<name>-model``)."""
        models = models or {"AllTraffic": f"{name}-model"}
        variants = []
        for variant_name, model_name in models.items():
            variant = {"VariantName": variant_name, "ModelName": model_name}
            if serverless:
                variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
            else:
                variant.update(InitialInstanceCount=1, InstanceType=instance_type, InitialVariantWeight=1.0)
            variants.append(variant)
        tags = [{"Key": "sagedrop:stack", "Value": stack}] if stack else []
        with time_machine.travel(self.now - age, tick=False):
            self.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, Tags=tags)
        return name

    def endpoint(
        self,
        name: str,
        *,
        age: timedelta,
        tags: dict[str, str] | None = None,
        stack: str | None = STACK,
        config: str | None = None,
        variants: tuple[str, ...] = ("AllTraffic",),
        serverless: bool = False,
        instance_type: str = "ml.m5.xlarge",
    ) -> str:
        """An endpoint with its own config and model (unless ``config`` names an existing one)."""
        if config is None:
            config = f"{name}-config"
            for variant in variants:
                self.model(f"{name}-{variant.lower()}-model", age=age, stack=stack)
            self.config(
                config,
                age=age,
                models={v: f"{name}-{v.lower()}-model" for v in variants},
                stack=stack,
                serverless=serverless,
                instance_type=instance_type,
            )
        all_tags = dict(tags or {})
        if stack:
            all_tags["sagedrop:stack"] = stack
        with time_machine.travel(self.now - age, tick=False):
            self.sagemaker.create_endpoint(
                EndpointName=name,
                EndpointConfigName=config,
                Tags=[{"Key": k, "Value": v} for k, v in all_tags.items()],
            )
        return name

    def set_status(self, endpoint_name: str, status: str) -> None:
        """moto creates endpoints InService; tests that need Failed set it on the backend."""
        from moto.sagemaker.models import sagemaker_backends

        sagemaker_backends["123456789012"][REGION].endpoints[endpoint_name].endpoint_status = status

    # --- CloudWatch -----------------------------------------------------------------------------------
    def invocations(self, endpoint: str, value: float, *, ago: timedelta, variant: str = "AllTraffic") -> None:
        self.metric_data.append(
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Value": value,
                "Unit": "None",
                "Timestamp": self.now - ago,
            }
        )

    def flush_metrics(self) -> None:
        with time_machine.travel(self.now, tick=False):
            for start in range(0, len(self.metric_data), 500):
                self.cloudwatch.put_metric_data(
                    Namespace="AWS/SageMaker", MetricData=self.metric_data[start : start + 500]
                )
        self.metric_data = []

    # --- Logs -----------------------------------------------------------------------------------------
    def log_group(
        self,
        name: str,
        *,
        age: timedelta,
        last_event_ago: timedelta | None = None,
        retention_days: int | None = None,
    ) -> str:
        with time_machine.travel(self.now - age, tick=False):
            self.logs.create_log_group(logGroupName=name)
            if retention_days:
                self.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        if last_event_ago is not None:
            moment = self.now - last_event_ago
            with time_machine.travel(moment, tick=False):
                self.logs.create_log_stream(logGroupName=name, logStreamName="stream")
                self.logs.put_log_events(
                    logGroupName=name,
                    logStreamName="stream",
                    logEvents=[{"timestamp": int(moment.timestamp() * 1000), "message": "hello"}],
                )
        return name

    # --- reading back -----------------------------------------------------------------------------------
    def endpoint_names(self) -> set[str]:
        pages = self.sagemaker.get_paginator("list_endpoints").paginate()
        return {e["EndpointName"] for page in pages for e in page["Endpoints"]}

    def config_names(self) -> set[str]:
        pages = self.sagemaker.get_paginator("list_endpoint_configs").paginate()
        return {c["EndpointConfigName"] for page in pages for c in page["EndpointConfigs"]}

    def model_names(self) -> set[str]:
        return {m["ModelName"] for m in self.sagemaker.list_models()["Models"]}

    def log_groups(self) -> dict[str, dict]:
        pages = self.logs.get_paginator("describe_log_groups").paginate()
        return {g["logGroupName"]: g for page in pages for g in page["logGroups"]}

    def notifications(self) -> list[str]:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in response.get("Messages", [])]


@pytest.fixture
def account():
    with mock_aws():
        yield Account()


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def days(value: float) -> timedelta:
    return timedelta(days=value)
