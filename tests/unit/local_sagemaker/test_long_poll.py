"""Describe calls that wait for a status change (``long_poll``): what the local wait loops rely on."""

from __future__ import annotations

import threading
import time

import pytest

from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.long_poll import TRANSITIONAL, long_polling
from sagedrop_local.sagemaker.store import Store
from tests.unit.local_sagemaker.conftest import BUCKET, make_dataset, training_request, upload_channels


def _store_with_job(tmp_path, status: str) -> Store:
    store = Store(tmp_path / "state")
    with store.write() as tables:
        tables.setdefault("training_jobs", {})["job"] = {"TrainingJobStatus": status}
    return store


def _describe(store: Store):
    calls = []

    def handler(_params, _region, _context):
        calls.append(time.monotonic())
        with store.read() as tables:
            return dict(tables["training_jobs"]["job"])

    return handler, calls


def _set_status(store: Store, status: str, after: float) -> threading.Thread:
    def change():
        time.sleep(after)
        with store.write() as tables:
            tables["training_jobs"]["job"]["TrainingJobStatus"] = status

    thread = threading.Thread(target=change)
    thread.start()
    return thread


def test_a_finished_job_is_described_at_once(tmp_path):
    store = _store_with_job(tmp_path, "Completed")
    handler, calls = _describe(store)
    describe = long_polling("DescribeTrainingJob", handler, store, seconds=30.0)

    started = time.monotonic()
    answer = describe({}, "us-east-1", {})

    assert answer["TrainingJobStatus"] == "Completed"
    assert len(calls) == 1 and time.monotonic() - started < 1.0


def test_a_job_in_progress_is_answered_when_its_status_changes(tmp_path):
    store = _store_with_job(tmp_path, "InProgress")
    handler, _calls = _describe(store)
    describe = long_polling("DescribeTrainingJob", handler, store, seconds=30.0)
    writer = _set_status(store, "Completed", after=0.3)

    started = time.monotonic()
    answer = describe({}, "us-east-1", {})
    elapsed = time.monotonic() - started
    writer.join()

    assert answer["TrainingJobStatus"] == "Completed"
    assert 0.25 <= elapsed < 10.0  # held back until the change, answered long before the 30 s bound


def test_a_job_still_in_progress_is_answered_after_the_bound(tmp_path):
    store = _store_with_job(tmp_path, "InProgress")
    handler, calls = _describe(store)
    describe = long_polling("DescribeTrainingJob", handler, store, seconds=0.6)

    started = time.monotonic()
    answer = describe({}, "us-east-1", {})

    assert answer["TrainingJobStatus"] == "InProgress"
    assert time.monotonic() - started >= 0.6
    assert len(calls) >= 2  # re-read, for a writer in another process sends no notification


def test_another_processs_change_is_seen_by_rereading(tmp_path):
    # Given a second Store on the same directory (as another process has): its writes notify nobody here
    store = _store_with_job(tmp_path, "InProgress")
    other = Store(tmp_path / "state")
    handler, _calls = _describe(store)
    describe = long_polling("DescribeTrainingJob", handler, store, seconds=30.0)
    writer = _set_status(other, "Failed", after=0.3)

    started = time.monotonic()
    answer = describe({}, "us-east-1", {})
    writer.join()

    assert answer["TrainingJobStatus"] == "Failed"
    assert time.monotonic() - started < 10.0


@pytest.mark.parametrize(
    ("operation", "seconds"),
    [("DescribeTrainingJob", 0.0), ("DescribeModel", 30.0), ("ListTrainingJobs", 30.0)],
)
def test_without_a_bound_or_for_other_operations_the_handler_is_unchanged(tmp_path, operation, seconds):
    store = _store_with_job(tmp_path, "InProgress")
    handler, _calls = _describe(store)

    assert long_polling(operation, handler, store, seconds) is handler


def test_every_long_polled_status_field_is_one_the_api_reports():
    # The field names are SageMaker's: a typo would make the wrapper answer every call at once.
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    for operation, (field, statuses) in TRANSITIONAL.items():
        output = model.operation_model(operation).output_shape
        assert field in output.members, operation
        assert statuses <= set(output.members[field].enum), operation


def test_a_training_job_described_while_in_progress_is_answered_completed(session, s3, logs, cloudwatch, tmp_path):
    # Given a local SageMaker that long-polls, and a real (small) training job
    emulator = LocalSageMaker(
        s3,
        tmp_path / "state",
        logs_client=logs,
        cloudwatch_client=cloudwatch,
        startup_seconds=0.2,
        long_poll_seconds=60.0,
    )
    emulator.install(session)
    try:
        sagemaker = session.client("sagemaker")
        upload_channels(s3, "lp", make_dataset())
        sagemaker.create_training_job(**training_request("long-poll", "lp"))
        # When it is described once, right away
        first = sagemaker.describe_training_job(TrainingJobName="long-poll")
        # Then the one answer is the job's end, with its artefact (no loop needed)
        assert first["TrainingJobStatus"] == "Completed"
        assert first["ModelArtifacts"]["S3ModelArtifacts"].startswith(f"s3://{BUCKET}/lp/model/")
    finally:
        emulator.close()
