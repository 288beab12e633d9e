"""Handler tests: import each function's app.py with its environment set, inside moto, fake context."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.provider import cold_start
from moto import mock_aws

from tests.lambda_handlers import forget, import_fresh
from tests.unit.pipeline.conftest import ACCOUNT, BUCKET, REGION, ROLE_ARN, STACK, TOPIC_ARN

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "DATA_BUCKET": BUCKET,
    "NOTIFICATION_TOPIC_ARN": TOPIC_ARN,
    "SAGEMAKER_ROLE_ARN": ROLE_ARN,
    "STACK_NAME": STACK,
    "XGBOOST_VERSION": "3.0-5",
    "POWERTOOLS_SERVICE_NAME": "sagedrop",
    "POWERTOOLS_METRICS_NAMESPACE": "Sagedrop",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:sagedrop-test-pipeline",
    "POLL_INTERVAL_SECONDS": "1",
    "MAX_POLLS": "5",
}


@pytest.fixture
def environment(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return monkeypatch


@pytest.fixture
def aws(environment):
    with mock_aws():
        yield


@pytest.fixture
def load_handler(aws):
    """Import ``functions.<name>.app`` now (env set, moto active); forget it afterwards."""
    loaded: list[str] = []

    def load(name: str):
        loaded.append(name)
        return import_fresh(name)

    yield load
    for name in loaded:
        forget(name)


@pytest.fixture(autouse=True)
def reset_metrics():
    """Powertools keeps metrics and the cold-start flag at class level; start every test clean."""
    metrics = Metrics()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    cold_start.is_cold_start = True
    yield
    metrics.clear_metrics()


def emf_metrics(stdout: str) -> dict[str, float]:
    """Metric name → value of every CloudWatch EMF document printed to stdout."""
    values: dict[str, float] = {}
    for line in stdout.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Sagedrop"
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                # Powertools writes a metric added once as a one-element list.
                values[metric["Name"]] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return values
