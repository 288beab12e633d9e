"""A background thread that raises ends its job or endpoint as Failed with the reason, never in progress."""

from __future__ import annotations

import pytest

from sagedrop_local.sagemaker import LocalSageMaker, endpoint_worker, training_jobs
from sagedrop_local.sagemaker.state import StateFile
from sagedrop_local.sagemaker.store import STATE_FILE

from .conftest import (
    deploy,
    make_dataset,
    training_request,
    upload_channels,
    wait_for_endpoint,
    wait_for_job,
)
from .test_endpoints import train_and_upload


def test_an_exception_outside_the_algorithm_fails_the_training_job_with_its_reason(monkeypatch, sagemaker, s3):
    # Given the job's thread cannot make its scratch directory (a full or read-only disk)
    def no_space(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(training_jobs, "scratch_dir", no_space)
    upload_channels(s3, "runs/crash", make_dataset(rows=60))

    # When a job starts
    sagemaker.create_training_job(**training_request("job-crash", "runs/crash"))
    final = wait_for_job(sagemaker, "job-crash")

    # Then it fails, saying why, with its end time set
    assert final["TrainingJobStatus"] == "Failed"
    assert final["SecondaryStatus"] == "Failed"
    assert "No space left on device" in final["FailureReason"]
    assert final["FailureReason"].startswith("InternalServerError")
    assert final["TrainingEndTime"] >= final["CreationTime"]


def test_an_unexpected_exception_while_starting_fails_the_endpoint_with_its_reason(monkeypatch, sagemaker, s3):
    # Given the model cannot be unpacked for a reason nobody foresaw
    url = train_and_upload(s3, "runs/crash-ep/model.tar.gz", {"objective": "binary:logistic"})[0]

    def unforeseen(*_args, **_kwargs):
        raise TypeError("extractall() got an unexpected keyword argument 'filter'")

    monkeypatch.setattr(endpoint_worker, "extract_model", unforeseen)

    # When the endpoint is created
    deploy(sagemaker, "ep-crash", url)
    final = wait_for_endpoint(sagemaker, "ep-crash")

    # Then it is Failed with the exception in the reason, not Creating forever
    assert final["EndpointStatus"] == "Failed"
    assert "TypeError" in final["FailureReason"] and "'filter'" in final["FailureReason"]


@pytest.mark.parametrize("kind", ["training", "endpoint"])
def test_closing_records_unfinished_work_as_failed_on_disk(session, s3, state_dir, kind):
    # Given work that has not started yet when its instance closes
    emulator = LocalSageMaker(s3, state_dir, startup_seconds=30)
    emulator.install(session)
    sagemaker = session.client("sagemaker")
    if kind == "training":
        upload_channels(s3, "runs/closing", make_dataset(rows=60))
        sagemaker.create_training_job(**training_request("job-closing", "runs/closing"))
    else:
        deploy(sagemaker, "ep-closing", train_and_upload(s3, "runs/closing/model.tar.gz", {})[0])

    # When it closes
    emulator.close()

    # Then the state file already says it failed (no later instance needed to find out)
    tables = StateFile(state_dir / STATE_FILE).load()
    if kind == "training":
        record = tables["training_jobs"]["job-closing"]
        assert record["TrainingJobStatus"] == "Failed"
    else:
        record = tables["endpoints"]["ep-closing"]
        assert record["EndpointStatus"] == "Failed"
    assert "exited before it finished" in record["FailureReason"]
