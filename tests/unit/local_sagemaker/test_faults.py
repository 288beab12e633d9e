"""SAGEDROP_LOCAL_FAULTS: the next N calls of an operation answer an injected error, then work resumes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.faults import ENV_VAR, ERRORS, Fault, FaultPlan, FaultSpecError

from .conftest import make_dataset, training_request, upload_channels, wait_for_job

_operation = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=30)


@given(st.lists(st.tuples(_operation, st.sampled_from(sorted(ERRORS)), st.integers(1, 10_000)), max_size=5))
def test_a_written_plan_reads_back_as_the_same_faults(entries):
    text = ",".join(f"{operation}:{error}:{count}" for operation, error, count in entries)

    assert FaultPlan.parse(text).faults == tuple(Fault(*entry) for entry in entries)


def test_count_defaults_to_one_and_blanks_are_ignored():
    assert FaultPlan.parse(" CreateTrainingJob:ThrottlingException , ").faults == (
        Fault("CreateTrainingJob", "ThrottlingException", 1),
    )
    assert FaultPlan.parse("").faults == () and FaultPlan.parse(None).faults == ()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("CreateTrainingJob", "is not OPERATION:ERROR[:COUNT]"),
        ("CreateTrainingJob:ThrottlingException:1:2", "is not OPERATION:ERROR[:COUNT]"),
        ("CreateTrainingJob:Throttled", "'Throttled' is not one of ThrottlingException"),
        ("CreateTrainingJob:ThrottlingException:0", "COUNT '0' is not a positive whole number"),
        ("CreateTrainingJob:ThrottlingException:two", "COUNT 'two'"),
        (":ThrottlingException", "is not OPERATION:ERROR[:COUNT]"),
    ],
)
def test_a_malformed_entry_is_rejected_with_what_is_wrong(text, named):
    with pytest.raises(FaultSpecError) as rejected:
        FaultPlan.parse(text)

    assert named in str(rejected.value) and ENV_VAR in str(rejected.value)


def test_an_operation_the_local_sagemaker_does_not_answer_is_rejected_at_start(s3, state_dir):
    with pytest.raises(FaultSpecError) as rejected:
        LocalSageMaker(s3, state_dir, faults="CreateTrainingJobs:ThrottlingException")

    assert "'CreateTrainingJobs' is not an operation of the local SageMaker" in str(rejected.value)


def test_throttling_answers_the_next_calls_then_the_job_is_created(monkeypatch, session, s3, state_dir):
    # Given two throttling errors injected into CreateTrainingJob through the environment
    monkeypatch.setenv(ENV_VAR, "CreateTrainingJob:ThrottlingException:2")
    emulator = LocalSageMaker(s3, state_dir, startup_seconds=0.05)
    emulator.install(session)
    sagemaker = session.client("sagemaker")
    upload_channels(s3, "runs/throttled", make_dataset(rows=60))
    request = training_request("job-throttled", "runs/throttled")
    try:
        # When the pipeline's call is made three times
        errors = []
        for _ in range(2):
            with pytest.raises(ClientError) as throttled:
                sagemaker.create_training_job(**request)
            errors.append(throttled.value.response)
        created = sagemaker.create_training_job(**request)
        final = wait_for_job(sagemaker, "job-throttled")
    finally:
        emulator.close()

    # Then the first two were throttled (and did nothing), the third worked
    assert [error["Error"]["Code"] for error in errors] == ["ThrottlingException"] * 2
    assert all(error["ResponseMetadata"]["HTTPStatusCode"] == 400 for error in errors)
    assert "injected" in errors[0]["Error"]["Message"]
    assert created["TrainingJobArn"].endswith("/job-throttled")
    assert final["TrainingJobStatus"] == "Completed"
    assert [fault.operation for fault in emulator.faults.injected] == ["CreateTrainingJob"] * 2


def test_other_operations_are_not_affected(session, s3, state_dir):
    emulator = LocalSageMaker(s3, state_dir, faults="CreateEndpoint:ServiceUnavailable")
    emulator.install(session)
    try:
        sagemaker = session.client("sagemaker")
        assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
        with pytest.raises(ClientError) as unavailable:
            sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="none")
        with pytest.raises(ClientError) as second:
            sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="none")
    finally:
        emulator.close()

    assert unavailable.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    # the one injected error is spent: the next call gets the real answer
    assert second.value.response["Error"]["Code"] == "ValidationException"
