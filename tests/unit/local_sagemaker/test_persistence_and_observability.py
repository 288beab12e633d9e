"""State survives the process; CloudWatch metrics and logs look like SageMaker's to the cleanup."""

from __future__ import annotations

import datetime as dt

import pytest

from sagedrop_local.sagemaker import LocalSageMaker

from .conftest import deploy, make_dataset, new_session, to_csv, wait_for_endpoint
from .test_endpoints import train_and_upload


@pytest.fixture
def binary_model(s3):
    return train_and_upload(s3, "runs/p/model.tar.gz", {"objective": "binary:logistic", "max_depth": 3})


def invocations_sum(cloudwatch, dimensions: list[dict]) -> float:
    now = dt.datetime.now(dt.UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=dimensions,
        StartTime=now - dt.timedelta(hours=1),
        EndTime=now + dt.timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(point["Sum"] for point in points)


def test_invocations_metric_and_endpoint_logs_are_where_the_cleanup_looks(
    sagemaker, runtime, cloudwatch, logs, binary_model
):
    # Given
    deploy(sagemaker, "ep-metrics", binary_model[0])
    wait_for_endpoint(sagemaker, "ep-metrics")

    # When
    for _ in range(3):
        runtime.invoke_endpoint(EndpointName="ep-metrics", ContentType="text/csv", Body=to_csv(binary_model[2][:2]))

    # Then the data points carry BOTH dimensions, which is what CloudWatch needs to match them
    # (moto also matches a subset of dimensions, so only the full set is asserted here)
    both = [{"Name": "EndpointName", "Value": "ep-metrics"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    assert invocations_sum(cloudwatch, both) == 3
    metrics = cloudwatch.list_metrics(Namespace="AWS/SageMaker", MetricName="Invocations")["Metrics"]
    assert {tuple(sorted(d["Name"] for d in m["Dimensions"])) for m in metrics} == {("EndpointName", "VariantName")}
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/ep-metrics")["logStreams"]
    assert [s["logStreamName"].split("/")[0] for s in streams] == ["AllTraffic"]
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/Endpoints/ep-metrics", logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert any("listening at http://127.0.0.1:" in event["message"] for event in events)


def test_a_later_instance_sees_endpoints_and_restarts_the_server_lazily(session, s3, state_dir, binary_model):
    # Given a first "process" that deploys and invokes, then goes away
    first = LocalSageMaker(s3, state_dir, startup_seconds=0.1)
    first.install(session)
    deploy(
        session.client("sagemaker"),
        "ep-persist",
        binary_model[0],
        tags=[{"Key": "sagedrop:run-id", "Value": "r-1"}],
    )
    wait_for_endpoint(session.client("sagemaker"), "ep-persist")
    features = to_csv(binary_model[2][:3])
    before = (
        session.client("sagemaker-runtime")
        .invoke_endpoint(EndpointName="ep-persist", ContentType="text/csv", Body=features)["Body"]
        .read()
    )
    first.close()

    # When a second one starts from the same state directory
    second_session = new_session()
    second = LocalSageMaker(s3, state_dir, startup_seconds=0.1)
    second.install(second_session)
    try:
        sagemaker = second_session.client("sagemaker")
        described = sagemaker.describe_endpoint(EndpointName="ep-persist")
        listed = sagemaker.list_endpoints()["Endpoints"]
        tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        assert second.endpoint_url("ep-persist") is None  # nothing running until someone invokes
        after = (
            second_session.client("sagemaker-runtime")
            .invoke_endpoint(EndpointName="ep-persist", ContentType="text/csv", Body=features)["Body"]
            .read()
        )

        # Then
        assert described["EndpointStatus"] == "InService"
        assert described["CreationTime"].tzinfo is not None
        assert [e["EndpointName"] for e in listed] == ["ep-persist"]
        assert tags == [{"Key": "sagedrop:run-id", "Value": "r-1"}]
        assert after == before
        assert second.endpoint_url("ep-persist") is not None
    finally:
        second.close()


def test_republish_replays_logs_and_invocations_into_a_fresh_cloudwatch(
    session, sagemaker, runtime, local_sagemaker, binary_model, state_dir, s3
):
    # Given an endpoint that was invoked twice
    deploy(sagemaker, "ep-replay", binary_model[0])
    wait_for_endpoint(sagemaker, "ep-replay")
    for _ in range(2):
        runtime.invoke_endpoint(EndpointName="ep-replay", ContentType="text/csv", Body=b"0.1,0.2,0.3,0.4")
    local_sagemaker.close()

    # When a new instance republishes into an empty CloudWatch (another region's moto backend is empty)
    fresh = new_session()
    fresh_logs = fresh.client("logs", region_name="eu-west-1")
    fresh_cloudwatch = fresh.client("cloudwatch", region_name="eu-west-1")
    later = LocalSageMaker(s3, state_dir)
    try:
        counts = later.republish(fresh_logs, fresh_cloudwatch)
    finally:
        later.close()

    # Then
    both = [{"Name": "EndpointName", "Value": "ep-replay"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    assert counts["datapoints"] == 2
    assert invocations_sum(fresh_cloudwatch, both) == 2
    groups = [g["logGroupName"] for g in fresh_logs.describe_log_groups()["logGroups"]]
    assert "/aws/sagemaker/Endpoints/ep-replay" in groups


def test_injected_clock_dates_resources_and_metrics(session, s3, state_dir, cloudwatch, binary_model):
    frozen = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    emulator = LocalSageMaker(s3, state_dir, cloudwatch_client=cloudwatch, clock=lambda: frozen, startup_seconds=0.05)
    emulator.install(session)
    try:
        sagemaker = session.client("sagemaker")
        deploy(sagemaker, "ep-clock", binary_model[0])
        wait_for_endpoint(sagemaker, "ep-clock")
        session.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="ep-clock", ContentType="text/csv", Body=b"0.1,0.2,0.3,0.4"
        )

        assert sagemaker.describe_endpoint(EndpointName="ep-clock")["CreationTime"] == frozen
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            StartTime=frozen - dt.timedelta(minutes=5),
            EndTime=frozen + dt.timedelta(minutes=5),
            Period=60,
            Statistics=["Sum"],
            Dimensions=[
                {"Name": "EndpointName", "Value": "ep-clock"},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
        )["Datapoints"]
        assert [p["Sum"] for p in points] == [1.0]
    finally:
        emulator.close()


def test_interrupted_training_is_reported_failed_by_the_next_process(session, s3, state_dir):
    from .conftest import training_request, upload_channels

    upload_channels(s3, "runs/int", make_dataset(rows=60))
    first = LocalSageMaker(s3, state_dir, startup_seconds=30)  # never gets to train
    first.install(session)
    session.client("sagemaker").create_training_job(**training_request("job-interrupted", "runs/int"))
    first.close()

    second_session = new_session()
    second = LocalSageMaker(s3, state_dir)
    second.install(second_session)
    try:
        job = second_session.client("sagemaker").describe_training_job(TrainingJobName="job-interrupted")
    finally:
        second.close()

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("InternalServerError")


def test_sagemaker_calls_are_answered_locally_while_moto_mocks_everything(session, s3, state_dir):
    # Given mock_aws is active (the `session` fixture) and a client made before install talks to moto
    before_install = session.client("sagemaker")
    emulator = LocalSageMaker(s3, state_dir)
    emulator.install(session)
    try:
        after_install = session.client("sagemaker")
        with pytest.raises(after_install.exceptions.ClientError) as local_error:
            after_install.describe_endpoint(EndpointName="nowhere")

        # Then our answer wins for clients created after install; moto still serves the old client
        assert local_error.value.response["Error"]["Message"] == (
            'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nowhere".'
        )
        assert after_install.list_endpoints()["Endpoints"] == []
        assert "Endpoints" in before_install.list_endpoints()
    finally:
        emulator.close()
