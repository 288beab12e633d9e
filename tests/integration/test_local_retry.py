"""A throttled CreateTrainingJob is retried by the state machine's Retry, and the run succeeds."""

from __future__ import annotations

import pytest

from sagedrop_local.cloud import LocalCloud
from sagedrop_local.sagemaker.faults import ENV_VAR
from tests.integration.conftest import run_to_end

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _state_events(history: list[dict], state: str) -> list[dict]:
    """The events between the state's first Entered and its Exited (retries happen in between)."""
    window: list[dict] = []
    inside = False
    for event in history:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        if event["type"].endswith("StateEntered") and details.get("name") == state:
            inside = True
        if inside:
            window.append(event)
        if inside and event["type"].endswith("StateExited") and details.get("name") == state:
            return window
    return window


def test_one_throttling_error_on_create_training_job_is_retried_and_the_run_succeeds(
    monkeypatch, tmp_path, bank_sample
):
    # Given a local cloud whose SageMaker throttles the first CreateTrainingJob
    monkeypatch.setenv(ENV_VAR, "CreateTrainingJob:ThrottlingException:1")
    with LocalCloud(work_dir=tmp_path / "out", state_dir=tmp_path / "state") as cloud:
        # When a CSV runs through the pipeline
        outcome, final = run_to_end(cloud, "incoming/throttled/bank.csv", bank_sample)
        window = _state_events(cloud.history(outcome["execution_arn"]), "Start training")
        injected = [(fault.operation, fault.error) for fault in cloud.sagemaker.faults.injected]

    # Then the one injected error was answered
    assert injected == [("CreateTrainingJob", "ThrottlingException")]
    # and "Start training" ran its Lambda twice: a failure named SageMakerThrottled, then a success
    outcomes = [
        (event["type"], (event.get("lambdaFunctionFailedEventDetails") or {}).get("error"))
        for event in window
        if event["type"] in ("LambdaFunctionFailed", "LambdaFunctionSucceeded")
    ]
    assert outcomes == [("LambdaFunctionFailed", "SageMakerThrottled"), ("LambdaFunctionSucceeded", None)]
    assert sum(event["type"] == "LambdaFunctionScheduled" for event in window) == 2
    # and the run went on to succeed
    assert final["status"] == "SUCCEEDED", final.get("cause")
