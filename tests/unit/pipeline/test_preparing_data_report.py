"""Prepare the data writes data_report.json, also when the data gate stops the run; the upload is untouched."""

from __future__ import annotations

import json

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from sagedrop.aws.s3 import DataBucket
from sagedrop.errors import DataLeakageError
from sagedrop.pipeline.preparing import data_report_key, prepare_run
from sagedrop.pipeline.state import PrepareInput, parse_state

from .conftest import BUCKET, RUN_ID, make_settings

KEY = "incoming/shop/customers.csv"


def upload() -> bytes:
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {"age": rng.integers(18, 90, n), "plan": rng.choice(["basic", "pro"], n), "y": rng.choice(["no", "yes"], n)}
    )
    frame["refund_issued"] = np.where(frame["y"] == "yes", "refund", "none")  # known only afterwards: a leak
    return frame.to_csv(index=False).encode()


@pytest.fixture
def bucket():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield DataBucket(s3, BUCKET)


def run(bucket: DataBucket, config: dict | None = None):
    if config is not None:
        bucket.write_bytes("incoming/shop/sagedrop.json", json.dumps(config).encode(), "application/json")
    version = bucket.client.put_object(Bucket=BUCKET, Key=KEY, Body=upload())["VersionId"]
    state = {
        "run_id": RUN_ID,
        "source": {"bucket": BUCKET, "key": KEY, "version_id": version},
        "poll": {"interval_seconds": 1, "max_polls": 5},
    }
    return prepare_run(parse_state(state, PrepareInput), bucket, make_settings())


def test_a_leak_stops_preparation_after_the_data_report_is_written(bucket):
    with pytest.raises(DataLeakageError) as caught:
        run(bucket)
    message = str(caught.value)
    assert "column 'refund_issued' alone predicts the label 'y'" in message
    assert message.endswith(f"The data report: s3://{BUCKET}/{data_report_key(RUN_ID)}")
    report = bucket.read_json(data_report_key(RUN_ID))
    assert report["checks"]["passed"] is False
    assert [f["column"] for f in report["checks"]["findings"]] == ["refund_issued"]
    # nothing for training was written, and the upload is as it was
    written = {o["Key"] for o in bucket.client.list_objects_v2(Bucket=BUCKET, Prefix="runs/").get("Contents", [])}
    assert written == {data_report_key(RUN_ID)}
    assert bucket.read_bytes(KEY) == upload()
    assert len(bucket.client.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]) == 1


def test_an_acknowledged_leak_trains_and_the_state_points_at_the_report(bucket):
    prepared = run(bucket, {"data_checks": {"acknowledge": ["refund_issued"]}})
    assert prepared.dataset.data_report_key == data_report_key(RUN_ID)
    report = bucket.read_json(prepared.dataset.data_report_key)
    assert report["checks"]["passed"] is True
    assert report["checks"]["findings"][0]["status"] == "acknowledged"
    assert prepared.config.data_checks.acknowledge == ("refund_issued",)
    assert bucket.read_json(prepared.dataset.schema_key)["rows"]["input"] == report["rows"]["input"] == 400
