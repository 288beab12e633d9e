"""Models, endpoint configs, endpoints and InvokeEndpoint against a real local model server."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from .conftest import BUCKET, ROLE_ARN, deploy, make_dataset, model_tar, to_csv, wait_for_endpoint


def train_and_upload(s3, key: str, params: dict, classes: int = 2) -> tuple[str, xgb.Booster, np.ndarray]:
    """Train locally, upload model.tar.gz with `xgboost-model` inside, return (url, booster, features)."""
    data = make_dataset(rows=200, classes=classes)
    booster = xgb.train(params, xgb.DMatrix(data[:, 1:], label=data[:, 0]), num_boost_round=8)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(folder) / "xgboost-model"
        booster.save_model(str(path))
        archive = model_tar({"xgboost-model": path.read_bytes()})
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive)
    return f"s3://{BUCKET}/{key}", booster, data[:, 1:]


@pytest.fixture
def binary_model(s3):
    return train_and_upload(s3, "runs/m/model.tar.gz", {"objective": "binary:logistic", "max_depth": 3})


def get(url: str, path: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_endpoint_goes_in_service_and_serves_the_models_predictions(sagemaker, runtime, local_sagemaker, binary_model):
    # Given
    url, booster, features = binary_model

    # When
    deploy(sagemaker, "ep-ok", url)
    creating = sagemaker.describe_endpoint(EndpointName="ep-ok")
    in_service = wait_for_endpoint(sagemaker, "ep-ok")
    response = runtime.invoke_endpoint(EndpointName="ep-ok", ContentType="text/csv", Body=to_csv(features[:25]))

    # Then
    assert creating["EndpointStatus"] == "Creating"
    assert "ProductionVariants" not in creating
    assert in_service["EndpointStatus"] == "InService"
    assert in_service["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert get(local_sagemaker.endpoint_url("ep-ok"), "/ping") == 200
    assert isinstance(response["Body"], StreamingBody)
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    predictions = np.array(response["Body"].read().decode().split(","), dtype=float)
    expected = booster.predict(xgb.DMatrix(np.loadtxt(io.StringIO(to_csv(features[:25]).decode()), delimiter=",")))
    assert predictions.shape == (25,)
    np.testing.assert_allclose(predictions, expected, rtol=1e-6)


def test_softprob_answers_like_the_container_one_bracketed_list_per_row(sagemaker, runtime, s3):
    url, booster, features = train_and_upload(
        s3, "runs/multi/model.tar.gz", {"objective": "multi:softprob", "num_class": 3}, classes=3
    )
    deploy(sagemaker, "ep-multi", url)
    wait_for_endpoint(sagemaker, "ep-multi")

    body = (
        runtime.invoke_endpoint(EndpointName="ep-multi", ContentType="text/csv", Body=to_csv(features[:4]))["Body"]
        .read()
        .decode()
    )

    # The container's real-time text/csv answer is ",".join(map(str, predictions.tolist())).
    rows = [[float(v) for v in chunk.strip("[]").split(", ")] for chunk in body[1:-1].split("],[")]
    assert body.startswith("[") and "\n" not in body
    assert np.array(rows).shape == (4, 3)
    np.testing.assert_allclose(np.array(rows).sum(axis=1), 1.0, rtol=1e-5)


def test_runtime_errors_match_sagemaker(sagemaker, runtime, binary_model):
    deploy(sagemaker, "ep-errors", binary_model[0])

    with pytest.raises(runtime.exceptions.ValidationError) as creating:
        runtime.invoke_endpoint(EndpointName="ep-errors", ContentType="text/csv", Body=b"1,2,3,4")
    assert creating.value.response["Error"]["Message"] == "Endpoint ep-errors of account 123456789012 not found."
    wait_for_endpoint(sagemaker, "ep-errors")

    with pytest.raises(runtime.exceptions.ValidationError) as oversize:
        runtime.invoke_endpoint(EndpointName="ep-errors", ContentType="text/csv", Body=b"1" * 6_291_457)
    assert oversize.value.response["Error"]["Message"].endswith("has oversize body.")

    with pytest.raises(runtime.exceptions.ModelError) as model_error:
        runtime.invoke_endpoint(EndpointName="ep-errors", ContentType="text/csv", Body=b"a,b,c,d")
    assert "Received client error (415) from primary" in model_error.value.response["Error"]["Message"]

    # Exactly 6,291,456 bytes is accepted: one row whose first value has a very long mantissa.
    tail = b"1,0.2,0.3,0.4"
    at_limit = b"0." + b"0" * (6_291_456 - 2 - len(tail)) + tail
    response = runtime.invoke_endpoint(EndpointName="ep-errors", ContentType="text/csv", Body=at_limit)
    assert len(at_limit) == 6_291_456
    assert len(response["Body"].read().split(b",")) == 1


def test_delete_endpoint_stops_the_server_and_forgets_the_endpoint(sagemaker, local_sagemaker, binary_model):
    deploy(sagemaker, "ep-delete", binary_model[0])
    wait_for_endpoint(sagemaker, "ep-delete")
    url = local_sagemaker.endpoint_url("ep-delete")

    sagemaker.delete_endpoint(EndpointName="ep-delete")

    with pytest.raises(ConnectionRefusedError):
        get(url, "/ping")
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_endpoint(EndpointName="ep-delete")
    assert missing.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": 'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-delete".',
    }
    # Deleting an endpoint leaves its config and model, as in SageMaker.
    assert sagemaker.describe_endpoint_config(EndpointConfigName="ep-delete-config")
    assert sagemaker.describe_model(ModelName="ep-delete-model")


def test_unloadable_model_fails_the_endpoint_with_a_reason(sagemaker, s3, logs):
    s3.put_object(Bucket=BUCKET, Key="runs/bad/model.tar.gz", Body=model_tar({"xgboost-model": b"not a model"}))

    deploy(sagemaker, "ep-bad", f"s3://{BUCKET}/runs/bad/model.tar.gz")
    final = wait_for_endpoint(sagemaker, "ep-bad")

    assert final["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in final["FailureReason"]
    events = logs.filter_log_events(logGroupName="/aws/sagemaker/Endpoints/ep-bad")["events"]
    assert any("cannot be loaded" in event["message"] for event in events)


def test_control_plane_errors_match_sagemaker(sagemaker, binary_model):
    deploy(sagemaker, "ep-dup", binary_model[0])

    with pytest.raises(ClientError) as duplicate:
        sagemaker.create_endpoint(EndpointName="ep-dup", EndpointConfigName="ep-dup-config")
    with pytest.raises(ClientError) as no_config:
        sagemaker.create_endpoint(EndpointName="ep-other", EndpointConfigName="missing-config")
    with pytest.raises(ClientError) as no_model_data:
        sagemaker.create_model(
            ModelName="m-missing",
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": "x", "ModelDataUrl": f"s3://{BUCKET}/nope.tar.gz"},
        )
    with pytest.raises(ClientError) as bad_memory:
        sagemaker.create_endpoint_config(
            EndpointConfigName="sl-bad",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "ep-dup-model",
                    "ServerlessConfig": {"MemorySizeInMB": 1500, "MaxConcurrency": 5},
                }
            ],
        )

    assert duplicate.value.response["Error"]["Message"] == (
        'Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-dup".'
    )
    assert no_config.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find endpoint configuration" in no_config.value.response["Error"]["Message"]
    assert no_model_data.value.response["Error"]["Message"].startswith("Could not find model data at")
    assert "memorySizeInMB" in bad_memory.value.response["Error"]["Message"]
    wait_for_endpoint(sagemaker, "ep-dup")


def test_serverless_endpoint_reports_its_config_and_the_4_mb_limit(sagemaker, runtime, binary_model):
    deploy(sagemaker, "ep-sl", binary_model[0], serverless={"MemorySizeInMB": 2048, "MaxConcurrency": 5})

    described = wait_for_endpoint(sagemaker, "ep-sl")

    assert described["ProductionVariants"][0]["CurrentServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    with pytest.raises(runtime.exceptions.ValidationError):
        runtime.invoke_endpoint(EndpointName="ep-sl", ContentType="text/csv", Body=b"1" * (4 * 1024 * 1024 + 1))


def test_list_endpoints_paginates_filters_and_sorts(session, s3, state_dir, binary_model):
    # Given five endpoints created an hour apart, by an emulator with an injected clock
    from sagedrop_local.sagemaker import LocalSageMaker

    times = iter(dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(10_000))
    now = {"value": next(times)}
    emulator = LocalSageMaker(s3, state_dir, clock=lambda: now["value"], startup_seconds=60)
    emulator.install(session)
    sagemaker = session.client("sagemaker")
    sagemaker.create_model(
        ModelName="m",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": "x", "ModelDataUrl": binary_model[0]},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    for index in range(5):
        now["value"] = next(times)
        sagemaker.create_endpoint(EndpointName=f"sweep-{index}", EndpointConfigName="c")
    try:
        # When
        pages = list(sagemaker.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 2}))
        by_name = sagemaker.list_endpoints(SortBy="Name", SortOrder="Ascending", NameContains="SWEEP-")
        older = sagemaker.list_endpoints(CreationTimeBefore=dt.datetime(2025, 1, 1, 3, 30, tzinfo=dt.UTC))
        creating = sagemaker.list_endpoints(StatusEquals="InService")

        # Then: default order is CreationTime descending, 2 per page
        assert [len(page["Endpoints"]) for page in pages] == [2, 2, 1]
        assert [e["EndpointName"] for page in pages for e in page["Endpoints"]] == [
            "sweep-4",
            "sweep-3",
            "sweep-2",
            "sweep-1",
            "sweep-0",
        ]
        assert [e["EndpointName"] for e in by_name["Endpoints"]] == [f"sweep-{i}" for i in range(5)]
        assert [e["EndpointName"] for e in older["Endpoints"]] == ["sweep-2", "sweep-1", "sweep-0"]
        assert creating["Endpoints"] == []
    finally:
        emulator.close()


def test_tags_at_create_and_through_the_tag_api(sagemaker, binary_model):
    deploy(sagemaker, "ep-tags", binary_model[0], tags=[{"Key": "sagedrop:stack", "Value": "dev"}])
    arn = sagemaker.describe_endpoint(EndpointName="ep-tags")["EndpointArn"]

    sagemaker.add_tags(
        ResourceArn=arn,
        Tags=[{"Key": "sagedrop:keep", "Value": "true"}, {"Key": "sagedrop:stack", "Value": "prod"}],
    )
    after_add = sagemaker.list_tags(ResourceArn=arn)["Tags"]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["sagedrop:keep"])
    after_delete = sagemaker.list_tags(ResourceArn=arn)["Tags"]

    assert {t["Key"]: t["Value"] for t in after_add} == {"sagedrop:stack": "prod", "sagedrop:keep": "true"}
    assert after_delete == [{"Key": "sagedrop:stack", "Value": "prod"}]
    wait_for_endpoint(sagemaker, "ep-tags")


def test_models_and_configs_describe_list_and_delete(sagemaker, binary_model):
    deploy(sagemaker, "ep-crud", binary_model[0])

    model = sagemaker.describe_model(ModelName="ep-crud-model")
    config = sagemaker.describe_endpoint_config(EndpointConfigName="ep-crud-config")
    models = sagemaker.list_models(NameContains="ep-crud")["Models"]
    configs = sagemaker.list_endpoint_configs(NameContains="ep-crud")["EndpointConfigs"]
    wait_for_endpoint(sagemaker, "ep-crud")
    sagemaker.delete_endpoint(EndpointName="ep-crud")
    sagemaker.delete_endpoint_config(EndpointConfigName="ep-crud-config")
    sagemaker.delete_model(ModelName="ep-crud-model")

    assert model["ModelArn"] == "arn:aws:sagemaker:us-east-1:123456789012:model/ep-crud-model"
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert [m["ModelName"] for m in models] == ["ep-crud-model"]
    assert [c["EndpointConfigName"] for c in configs] == ["ep-crud-config"]
    with pytest.raises(ClientError, match='Could not find model "arn:aws:sagemaker'):
        sagemaker.delete_model(ModelName="ep-crud-model")
