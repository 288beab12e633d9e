"""A stack whose wait loop may poll only once: the bound ends the run (own cloud, own parameters)."""

from __future__ import annotations

import json

import pytest

from sagedrop_local.cloud import LocalCloud
from tests.integration.conftest import run_to_end
from tests.integration.test_local_pipeline import _visits

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_wait_loop_that_hits_max_polls_fails_the_run_and_stops_the_job(tmp_path, bank_sample):
    # Given a stack that allows one poll, and a training job that takes longer to start than that
    with LocalCloud(
        work_dir=tmp_path / "out",
        state_dir=tmp_path / "state",
        parameter_overrides={"MaxPolls": "1"},
        startup_seconds=5.0,
    ) as cloud:
        # When the run polls once and finds the job still in progress
        outcome, final = run_to_end(cloud, "incoming/slow/bank.csv", bank_sample)
        # Then the bounded loop ends the run as timed out, and the failure path stopped the job
        assert final["status"] == "FAILED" and final["error"] == "TrainingTimedOut"
        assert _visits(cloud, outcome["execution_arn"], "Check training") == 1
        record = json.loads(cloud.read(f"runs/{outcome['run_id']}/run.json"))
        job = cloud.session.client("sagemaker").describe_training_job(
            TrainingJobName=record["resources"]["training_job"]
        )
        assert job["TrainingJobStatus"] in {"Stopping", "Stopped"}
