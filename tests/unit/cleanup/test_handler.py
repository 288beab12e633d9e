"""The cleanup Lambda end to end against moto, with the sample events from events/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws

from sagedrop.errors import InvalidConfigError, InvalidEventError
from tests.lambda_handlers import import_fresh

from .conftest import BUCKET, STACK, Account, days, hours

EVENTS = Path(__file__).parents[3] / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def cleanup_env(monkeypatch):
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:sagedrop-test-runs")
    monkeypatch.setenv("STACK_NAME", STACK)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sagedrop")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "sagedrop")


@pytest.fixture
def handler(cleanup_env):
    """The app module imported inside moto, so its cold-start clients talk to moto."""
    with mock_aws():
        account = Account()
        yield import_fresh("cleanup_endpoints"), account  # its settings and clients are built now, in moto


@pytest.fixture(autouse=True)
def reset_metrics():
    from aws_lambda_powertools import Metrics

    yield
    Metrics().clear_metrics()


def test_scheduled_event_deletes_idle_endpoints_and_returns_the_summary(handler, lambda_context, capsys):
    app, account = handler
    # Without "now" the handler uses the real clock: age the endpoints relative to it.
    account.now = datetime.now(UTC)
    account.endpoint("idle", age=days(2))
    account.endpoint("new", age=hours(1))

    summary = app.lambda_handler(load_event("cleanup_scheduled.json"), lambda_context)

    assert summary["dry_run"] is False
    assert summary["endpoints_deleted"] == ["idle"]
    assert summary["endpoints_kept"] == 1
    assert summary["failures"] == 0
    assert summary["report"].startswith(f"s3://{BUCKET}/cleanup/")
    assert account.endpoint_names() == {"new"}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["EndpointsDeleted"] in (1.0, [1.0])


def test_dry_run_event_deletes_nothing(handler, lambda_context):
    app, account = handler
    account.endpoint("idle", age=days(2))  # two days before NOW, the time the event asks for

    summary = app.lambda_handler({**load_event("cleanup_dry_run.json"), "now": "2026-03-10T02:00:00Z"}, lambda_context)

    assert summary["dry_run"] is True
    assert summary["evaluated_at"] == "2026-03-10T02:00:00+00:00"
    assert summary["endpoints_deleted"] == ["idle"]  # would delete
    assert account.endpoint_names() == {"idle"}


def test_now_decides_before_and_after_the_window(handler, lambda_context):
    app, account = handler
    account.endpoint("kept-local", age=hours(1))  # created at NOW - 1 h

    before = app.lambda_handler({"dry_run": False, "now": "2026-03-10T02:00:00Z"}, lambda_context)
    after = app.lambda_handler({"dry_run": False, "now": "2026-03-11T06:00:00+00:00"}, lambda_context)

    assert before["endpoints_deleted"] == []
    assert after["endpoints_deleted"] == ["kept-local"]


@pytest.mark.parametrize("event", [{"dry_run": "yes"}, {"now": "yesterday"}, ["not", "an", "object"]])
def test_malformed_event_raises_invalid_event_error(handler, lambda_context, event):
    app, _ = handler
    with pytest.raises(InvalidEventError):
        app.lambda_handler(event, lambda_context)


def test_bad_setting_fails_at_cold_start(cleanup_env, monkeypatch):
    monkeypatch.setenv("CLEANUP_MAX_DELETIONS", "many")
    with mock_aws(), pytest.raises(InvalidConfigError, match="CLEANUP_MAX_DELETIONS"):
        import_fresh("cleanup_endpoints")
