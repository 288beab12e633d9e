"""The data gate end to end on the local cloud: a leak fails the run by name in run.json and the
notification, with data_report.json written; acknowledged, the same upload trains and the report shows it."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from tests.integration.conftest import run_to_end

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def with_leak(bank_sample: bytes) -> bytes:
    """The bank sample with a column filled in after the campaign: whether the customer signed."""
    frame = pd.read_csv(io.BytesIO(bank_sample))
    frame.insert(3, "signed_contract", frame["y"].map({"yes": "signed", "no": "none"}))
    return frame.to_csv(index=False).encode()


def test_a_leak_stops_the_run_by_name_and_the_data_report_says_why(cloud, bank_sample):
    data = with_leak(bank_sample)
    key = "incoming/leaky/bank.csv"
    outcome, final = run_to_end(cloud, key, data)
    run = f"runs/{outcome['run_id']}/"
    # Then the execution fails with the gate's error, before any training
    assert final["status"] == "FAILED" and final["error"] == "DataLeakageError"
    record = json.loads(cloud.read(run + "run.json"))
    assert record["status"] == "FAILED" and record["error"]["error"] == "DataLeakageError"
    message = record["error"]["message"]
    assert "column 'signed_contract' alone predicts the label 'y' almost perfectly (ROC AUC 1.0000" in message
    assert '{"data_checks": {"acknowledge": ["signed_contract"]}}' in message
    assert message.endswith(f"s3://{cloud.bucket}/{run}data_report.json")
    assert record["resources"]["training_job"] is None
    # and the notification carries the same sentence
    (notice,) = cloud.notifications(mentioning=outcome["run_id"])
    assert "failed" in notice["subject"] and "DataLeakageError" in notice["message"]
    assert "signed_contract" in notice["message"]
    # and data_report.json says why, while the upload is as it was
    report = json.loads(cloud.read(run + "data_report.json"))
    assert report["checks"]["passed"] is False
    assert [(f["column"], f["status"]) for f in report["checks"]["findings"]] == [("signed_contract", "stops the run")]
    assert cloud.read(key) == data
    assert not any(k.startswith(run + "data/") for k in cloud.keys(run))


def test_acknowledged_the_same_upload_trains_and_the_report_shows_the_finding(cloud, bank_sample):
    config = json.dumps({"data_checks": {"acknowledge": ["signed_contract"]}}).encode()
    outcome, final = run_to_end(cloud, "incoming/leaky-ok/bank.csv", with_leak(bank_sample), config)
    run = f"runs/{outcome['run_id']}/"
    assert final["status"] == "SUCCEEDED", final.get("cause")
    record = json.loads(cloud.read(run + "run.json"))
    assert record["dataset"]["data_report_key"] == run + "data_report.json"
    report = json.loads(cloud.read(run + "data_report.json"))
    assert report["checks"]["passed"] is True and report["checks"]["findings"][0]["acknowledged"] is True
    page = cloud.read(run + "report.html").decode()
    assert "The data gate passed, with 1 acknowledged finding." in page
    assert 'data-section="data-report-columns"' in page and "signed_contract" in page
