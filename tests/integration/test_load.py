"""Load on one local cloud: many CSVs dropped at once all complete; a training job limit makes runs wait.

The local cloud runs one Lambda invocation at a time (each sees its own function's environment in
the process), so the runs share one handler lane; waits, training threads and model servers
overlap. ``SAGEDROP_LOAD_RUNS`` sets how many CSVs the first test drops (default 25: about 70 s on two cores). Each test
prints its timings (``pytest -s``).
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import time
from pathlib import Path

import pytest

from sagedrop_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachine" / "pipeline.asl.json").read_text())
LOAD_RUNS = int(os.environ.get("SAGEDROP_LOAD_RUNS", "25"))

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def small_csv() -> bytes:
    """The first 2,000 rows of the bundled bank marketing data."""
    lines = gzip.decompress((ROOT / "data" / "bank-full.csv.gz").read_bytes()).decode().splitlines()
    return ("\n".join(lines[:2001]) + "\n").encode()


def drop_all(cloud: LocalCloud, data: bytes, keys: list[str]) -> tuple[list[dict], list[dict], dict[str, float]]:
    """Upload every CSV first (dropped at once), then hand each S3 event to the starter, then wait."""
    started = time.perf_counter()
    events = [cloud.drop_csv(data, key) for key in keys]
    uploaded = time.perf_counter()
    outcomes = [cloud.deliver(event) for event in events]
    delivered = time.perf_counter()
    finals = [cloud.wait(o["execution_arn"], timeout_seconds=600, poll_seconds=0.5) for o in outcomes]
    ended = time.perf_counter()
    runs = [(f["stopDate"] - f["startDate"]).total_seconds() for f in finals]
    timings = {
        "upload_s": uploaded - started,
        "deliver_s": delivered - uploaded,
        "all_done_s": ended - started,
        "run_min_s": min(runs),
        "run_median_s": statistics.median(runs),
        "run_max_s": max(runs),
    }
    return outcomes, finals, timings


def endpoints(cloud: LocalCloud) -> list[str]:
    return [e["EndpointName"] for e in cloud.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"]]


def test_many_csvs_dropped_at_once_all_complete(tmp_path, small_csv):
    keys = [f"incoming/load/bank-{index:03d}.csv" for index in range(LOAD_RUNS)]
    with LocalCloud(work_dir=tmp_path / "out", state_dir=tmp_path / "state") as cloud:
        outcomes, finals, timings = drop_all(cloud, small_csv, keys)
        print(f"\n{LOAD_RUNS} runs: " + ", ".join(f"{name} {value:.1f}" for name, value in timings.items()))

        # Every upload started exactly one run, and every run succeeded
        assert all(o["started"] for o in outcomes)
        assert len({o["run_id"] for o in outcomes}) == LOAD_RUNS
        failed = [
            (o["run_id"], f.get("error"), (f.get("cause") or "")[:200])
            for o, f in zip(outcomes, finals, strict=True)
            if f["status"] != "SUCCEEDED"
        ]
        assert failed == []
        # with its record, its notification, and nothing left running or lost
        for outcome in outcomes:
            record = json.loads(cloud.read(f"runs/{outcome['run_id']}/run.json"))
            assert record["status"] == "SUCCEEDED"
        subjects = sorted(n["subject"] for n in cloud.notifications())
        assert subjects == sorted(f"sagedrop run {o['run_id']} succeeded" for o in outcomes)
        assert endpoints(cloud) == []
        for key in keys:
            assert cloud.read(key) == small_csv
            assert len(cloud.s3.list_object_versions(Bucket=cloud.bucket, Prefix=key)["Versions"]) == 1


@pytest.fixture
def retry_clock(monkeypatch):
    """Retry waits at 1/IntervalSeconds of the ASL's (the first at most 1 s), recorded per request.

    The delays are the interpreter's (the ASL's backoff, cap and full jitter); only the sleep is
    shorter, so the test takes seconds where the cloud would take minutes.
    """
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    [retrier] = [r for r in ASL["States"]["Start training"]["Retry"] if "SageMakerLimitExceeded" in r["ErrorEquals"]]
    scale = 1 / retrier["IntervalSeconds"]
    requested: list[float] = []

    class Clock:
        @staticmethod
        def sleep(seconds: float) -> None:
            requested.append(seconds)
            time.sleep(seconds * scale)

    monkeypatch.setattr(retrier_decl, "time", Clock)
    return requested


def test_a_limit_of_one_training_job_makes_the_other_runs_wait_not_fail(tmp_path, small_csv, retry_clock):
    # Given a stack that runs at most one training job at a time
    keys = [f"incoming/limited/bank-{index}.csv" for index in range(3)]
    with LocalCloud(
        work_dir=tmp_path / "out",
        state_dir=tmp_path / "state",
        parameter_overrides={"MaxConcurrentTrainingJobs": "1"},
    ) as cloud:
        # When three CSVs are dropped at once
        outcomes, finals, timings = drop_all(cloud, small_csv, keys)
        print("\n3 runs, limit 1: " + ", ".join(f"{name} {value:.1f}" for name, value in timings.items()))
        print(f"retry waits requested (s): {[round(w, 2) for w in retry_clock]}")
        jobs = cloud.client("sagemaker").list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
        histories = [cloud.history(o["execution_arn"]) for o in outcomes]

    # Then all three succeed
    assert [f["status"] for f in finals] == ["SUCCEEDED"] * 3, [f.get("cause") for f in finals]
    # having waited: Start training answered SageMakerLimitExceeded (the stack's limit) at least once
    waits = [
        e["lambdaFunctionFailedEventDetails"]
        for history in histories
        for e in history
        if e["type"] == "LambdaFunctionFailed"
    ]
    assert waits, "no run had to wait"
    assert {w["error"] for w in waits} == {"SageMakerLimitExceeded"}
    assert all("waits for a free slot" in w["cause"] for w in waits)
    # and no two training jobs ever ran at the same time
    assert len(jobs) == 3
    spans = sorted((job["CreationTime"], job["TrainingEndTime"]) for job in jobs)
    for (_, first_end), (second_start, _) in zip(spans, spans[1:], strict=False):
        assert second_start >= first_end, spans
