"""The report, once more at the end of a run: with the per-step timings and the estimated cost.

The evaluation renders report.html as soon as the metrics exist; timings and cost are known only
when the run finishes. The finish step renders the page again from what the run wrote —
evaluation.json, schema.json, report_data.json (the run's facts and chart data) and, when the
data gate wrote it, data_report.json — so the two renderings differ only by those sections.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sagedrop.aws.s3 import DataBucket
from sagedrop.evaluation import render_report_html
from sagedrop.pipeline.evaluating import evaluation_key, report_data_key, report_key
from sagedrop.pipeline.preparing import data_report_key
from sagedrop.pipeline.tuning import trials_key


def _json_if_exists(bucket: DataBucket, key: str) -> Any:
    data = bucket.read_bytes_if_exists(key)
    return json.loads(data) if data is not None else None


def render_final_report(bucket: DataBucket, record: Mapping[str, Any], cost: Mapping[str, Any] | None) -> str:
    """Write report.html again with run.json's ``steps`` and ``cost``; returns its S3 URI."""
    run_id = record["run_id"]
    report_data = _json_if_exists(bucket, report_data_key(run_id)) or {}
    schema_key = (record.get("dataset") or {}).get("schema_key")
    html = render_report_html(
        bucket.read_json(evaluation_key(run_id)),
        _json_if_exists(bucket, schema_key) if schema_key else None,
        report_data.get("run"),
        chart_data=report_data.get("chart_data"),
        data_report=_json_if_exists(bucket, data_report_key(run_id)),
        trials=_json_if_exists(bucket, trials_key(run_id)),
        timings=record.get("steps"),
        cost=cost,
    )
    return bucket.write_bytes(report_key(run_id), html.encode(), "text/html; charset=utf-8")
