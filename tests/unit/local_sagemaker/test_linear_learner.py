"""The local Linear Learner through the SageMaker API: training, hosting, and the container's contracts."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from sagedrop.image_uris import LINEAR_LEARNER, image_uri
from sagedrop_local.sagemaker.linear_learner_model import LinearModel

from .conftest import (
    BUCKET,
    REGION,
    ROLE_ARN,
    make_dataset,
    model_tar,
    to_csv,
    training_request,
    upload_channels,
    wait_for_endpoint,
    wait_for_job,
    wait_until,
)

LL_IMAGE = image_uri(LINEAR_LEARNER, REGION)

# "Metrics computed by the linear learner algorithm", per predictor type.
DOCUMENTED_METRICS = {
    "binary_classifier": {
        "objective_loss",
        "binary_classification_accuracy",
        "binary_f_beta",
        "precision",
        "recall",
        "roc_auc_score",
    },
    "multiclass_classifier": {
        "objective_loss",
        "multiclass_accuracy",
        "multiclass_top_k_accuracy",
        "macro_f_beta",
        "macro_precision",
        "macro_recall",
        "dcg",
    },
    "regressor": {"objective_loss", "mse", "absolute_loss"},
}
DATASETS = {
    "binary_classifier": (load_breast_cancer, {}),
    "multiclass_classifier": (load_wine, {"num_classes": "3"}),
    "regressor": (load_diabetes, {}),
}


def ll_request(name: str, prefix: str, hyperparameters: dict[str, str], **kwargs) -> dict:
    request = training_request(name, prefix, hyperparameters, **kwargs)
    request["AlgorithmSpecification"]["TrainingImage"] = LL_IMAGE
    return request


def deploy_ll(sagemaker, name: str, model_data_url: str, environment: dict | None = None) -> None:
    container = {"Image": LL_IMAGE, "ModelDataUrl": model_data_url}
    if environment:
        container["Environment"] = environment
    sagemaker.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)
    variant = {"VariantName": "AllTraffic", "ModelName": f"{name}-model", "InstanceType": "ml.m5.large"}
    variant["InitialInstanceCount"] = 1
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    assert wait_for_endpoint(sagemaker, name)["EndpointStatus"] == "InService"


def split(x: np.ndarray, y: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """60/20/20 train/validation/test, shuffled with a fixed seed."""
    order = np.random.default_rng(1729).permutation(len(y))
    cuts = np.split(order, [int(0.6 * len(y)), int(0.8 * len(y))])
    return {name: (x[rows], y[rows]) for name, rows in zip(("train", "validation", "test"), cuts, strict=True)}


def upload(s3, prefix: str, parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    for channel in ("train", "validation"):
        features, labels = parts[channel]
        body = to_csv(np.column_stack([labels, features]))
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/{channel}/part-0.csv", Body=body)


def invoke_json(runtime, endpoint: str, body: bytes, **kwargs) -> list[dict]:
    response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body, **kwargs)
    assert response["ContentType"] == "application/json"
    return json.loads(response["Body"].read())["predictions"]


@pytest.mark.parametrize("predictor_type", list(DATASETS))
def test_trains_reports_documented_metrics_serves_the_documented_shape_and_beats_the_baseline(
    sagemaker, runtime, s3, predictor_type
):
    # Given a real data set split into train/validation (uploaded) and test (held out)
    loader, extra = DATASETS[predictor_type]
    dataset = loader()
    parts = split(dataset.data, dataset.target.astype(float))
    upload(s3, f"runs/{predictor_type}", parts)
    feature_dim = dataset.data.shape[1]
    hyperparameters = {"predictor_type": predictor_type, "feature_dim": str(feature_dim), **extra}

    # When it trains, is deployed, and the test rows (no label) are sent
    name = f"ll-{predictor_type.replace('_', '-')}"
    sagemaker.create_training_job(**ll_request(name, f"runs/{predictor_type}", hyperparameters))
    job = wait_for_job(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    deploy_ll(sagemaker, f"{name}-ep", job["ModelArtifacts"]["S3ModelArtifacts"])
    test_x, test_y = parts["test"]
    rows = invoke_json(runtime, f"{name}-ep", to_csv(test_x))

    # Then the metrics are the documented validation ones and the artifact is `model_algo-1`
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {f"validation:{metric}" for metric in DOCUMENTED_METRICS[predictor_type]}
    key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())) as tar:
        assert tar.getnames() == ["model_algo-1"]

    # And every answer has the documented keys for its predictor type
    assert len(rows) == len(test_y)
    train_y = parts["train"][1]
    if predictor_type == "regressor":
        assert all(set(row) == {"score"} and isinstance(row["score"], float) for row in rows)
        predicted = np.array([row["score"] for row in rows])
        r2 = 1 - np.sum((test_y - predicted) ** 2) / np.sum((test_y - train_y.mean()) ** 2)
        assert r2 > 0.25  # the baseline (the training mean) scores <= 0
        return
    assert all(set(row) == {"score", "predicted_label"} for row in rows)
    labels = np.array([row["predicted_label"] for row in rows])
    majority = np.bincount(train_y.astype(int)).argmax()
    baseline = np.mean(test_y == majority)
    if predictor_type == "binary_classifier":
        scores = np.array([row["score"] for row in rows])
        assert set(labels) <= {0.0, 1.0} and np.all((scores >= 0) & (scores <= 1))
        # One threshold separates the two predicted classes.
        assert scores[labels == 0].max() < scores[labels == 1].min()
        assert np.mean(labels == test_y) > baseline + 0.25
        assert metrics["validation:binary_classification_accuracy"] > 0.9
    else:
        probabilities = np.array([row["score"] for row in rows])
        assert probabilities.shape == (len(test_y), 3)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(labels, probabilities.argmax(axis=1))
        assert np.mean(labels == test_y) > baseline + 0.35


@pytest.mark.parametrize(
    ("hyperparameters", "expected"),
    [
        (
            {"feature_dim": "4"},
            "ClientError: No value(s) were specified for 'predictor_type' which are required hyperparameter(s) "
            "(caused by ValidationError)",
        ),
        (
            {"predictor_type": "binary_classifier", "num_round": "10"},
            "ClientError: Additional hyperparameters are not allowed ('num_round' was unexpected)",
        ),
        (
            {"predictor_type": "multiclass_classifier"},
            "ClientError: No value(s) were specified for 'num_classes' which are required hyperparameter(s)",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "2"},
            "The value '2' is not valid for the 'num_classes' hyperparameter",
        ),
        (
            {"predictor_type": "classifier"},
            "The value 'classifier' is not valid for the 'predictor_type' hyperparameter which accepts one of the "
            "following: 'binary_classifier', 'multiclass_classifier', 'regressor'",
        ),
        ({"predictor_type": "regressor", "epochs": "0"}, "The value '0' is not valid for the 'epochs' hyperparameter"),
        (
            {"predictor_type": "binary_classifier", "loss": "softmax_loss"},
            "The value 'softmax_loss' is not valid for the 'loss' hyperparameter when predictor_type is "
            "'binary_classifier'",
        ),
        (
            {"predictor_type": "binary_classifier", "feature_dim": "5"},
            "Unable to read data channel 'train'. The data has 4 features (columns after the label) but "
            "feature_dim is 5.",
        ),
    ],
)
def test_invalid_hyperparameters_fail_the_job_with_the_containers_client_error(
    sagemaker, s3, hyperparameters, expected
):
    upload_channels(s3, "runs/ll-hp", make_dataset(rows=60))

    sagemaker.create_training_job(**ll_request("ll-bad-hp", "runs/ll-hp", hyperparameters))
    job = wait_for_job(sagemaker, "ll-bad-hp")

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")
    assert expected in job["FailureReason"]
    assert "ModelArtifacts" not in job


@pytest.mark.parametrize(
    ("rows", "content_type", "expected"),
    [
        (
            "2,0.5,0.1,0.2,0.3\n",
            "text/csv",
            "Labels for predictor_type binary_classifier must be 0 or 1; row 1 has the label 2",
        ),
        (
            "label,a,b,c,d\n1,0.5,0.1,0.2,0.3\n",
            "text/csv",
            "Unable to read data channel 'train'. Requested content-type is 'text/csv'. Please verify the data "
            "matches the requested content-type. (caused by MXNetError)",
        ),
        ("1,0.5,,0.2,0.3\n", "text/csv", "Unable to read data channel 'train'. Found missing (NaN) values."),
        (
            "1,0.5,0.1,0.2,0.3\n",
            None,
            "Unable to read data channel 'train'. Requested content-type is 'application/x-recordio-protobuf'.",
        ),
    ],
)
def test_data_the_container_cannot_read_fails_the_job(sagemaker, s3, rows, content_type, expected):
    for channel in ("train", "validation"):
        s3.put_object(Bucket=BUCKET, Key=f"runs/ll-data/data/{channel}/part.csv", Body=rows.encode())
    request = ll_request(
        "ll-bad-data", "runs/ll-data", {"predictor_type": "binary_classifier"}, content_type=content_type
    )

    sagemaker.create_training_job(**request)
    job = wait_for_job(sagemaker, "ll-bad-data")

    assert job["TrainingJobStatus"] == "Failed"
    assert expected in job["FailureReason"]


def test_an_unknown_channel_fails_the_input_data_configuration(sagemaker, s3):
    upload_channels(s3, "runs/ll-ch", make_dataset(rows=60))
    request = ll_request("ll-bad-channel", "runs/ll-ch", {"predictor_type": "binary_classifier"})
    request["InputDataConfig"][1]["ChannelName"] = "extra"

    sagemaker.create_training_job(**request)
    job = wait_for_job(sagemaker, "ll-bad-channel")

    assert job["FailureReason"] == (
        "ClientError: Unable to initialize the algorithm. Failed to validate input data configuration. "
        "(caused by ValidationError)\n\nCaused by: Additional properties are not allowed ('extra' was unexpected)"
    )


def test_the_same_job_twice_gives_the_same_model(sagemaker, s3):
    upload_channels(s3, "runs/ll-det", make_dataset(rows=200, classes=3))
    hyperparameters = {"predictor_type": "multiclass_classifier", "num_classes": "3", "mini_batch_size": "32"}
    archives = []
    for name in ("ll-det-1", "ll-det-2"):
        sagemaker.create_training_job(**ll_request(name, "runs/ll-det", hyperparameters))
        job = wait_for_job(sagemaker, name)
        key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
        with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())) as tar:
            archives.append(tar.extractfile("model_algo-1").read())

    assert archives[0] == archives[1]
    assert LinearModel.from_json(archives[0]).weights.shape == (4, 3)


def test_a_test_channel_adds_test_metrics_and_no_validation_channel_reports_none(sagemaker, s3):
    data = make_dataset(rows=150)
    for channel, rows in (("train", data[:100]), ("test", data[100:])):
        s3.put_object(Bucket=BUCKET, Key=f"runs/ll-test/data/{channel}/part-0.csv", Body=to_csv(rows))
    request = ll_request("ll-test-channel", "runs/ll-test", {"predictor_type": "regressor"})
    request["InputDataConfig"][1]["ChannelName"] = "test"
    request["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/runs/ll-test/data/test/"

    sagemaker.create_training_job(**request)
    job = wait_for_job(sagemaker, "ll-test-channel")

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {
        "test:objective_loss",
        "test:mse",
        "test:absolute_loss",
    }


def test_stop_training_job_stops_the_epochs(sagemaker, s3):
    # Given a job that would run for a very long time: one row per mini-batch, no early stopping
    upload_channels(s3, "runs/ll-stop", make_dataset(rows=300))
    hyperparameters = {
        "predictor_type": "binary_classifier",
        "epochs": "1000000",
        "mini_batch_size": "1",
        "early_stopping_patience": "1000001",
    }
    sagemaker.create_training_job(**ll_request("ll-stop", "runs/ll-stop", hyperparameters))
    training = wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName="ll-stop"), lambda r: r["SecondaryStatus"] == "Training"
    )
    assert training["SecondaryStatus"] == "Training"

    # When
    sagemaker.stop_training_job(TrainingJobName="ll-stop")
    job = wait_for_job(sagemaker, "ll-stop")

    # Then
    assert job["TrainingJobStatus"] == "Stopped"
    assert "ModelArtifacts" not in job


# ---------------------------------------------------------------- serving a known model


def upload_model(s3, key: str, model: LinearModel) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=model_tar({"model_algo-1": model.to_json()}))
    return f"s3://{BUCKET}/{key}"


def known_binary_model() -> LinearModel:
    """score = sigmoid(x1 - x2): the answers can be computed by hand."""
    return LinearModel(
        predictor_type="binary_classifier",
        loss="logistic",
        weights=np.array([[1.0], [-1.0], [0.0], [0.0]]),
        bias=np.zeros(1),
        feature_shift=np.zeros(4),
        feature_scale=np.ones(4),
        threshold=0.5,
    )


@pytest.fixture
def binary_endpoint(sagemaker, s3):
    deploy_ll(sagemaker, "ll-known", upload_model(s3, "runs/known/model.tar.gz", known_binary_model()))
    return "ll-known"


def test_binary_answer_is_the_probability_of_class_1_with_the_label_at_the_threshold(runtime, binary_endpoint):
    rows = invoke_json(runtime, binary_endpoint, b"2,0,0,0\n0,2,5,5\n1,1,0,0\n")

    expected = 1 / (1 + np.exp(-2.0))
    assert rows[0] == {"score": float(np.float32(expected)), "predicted_label": 1.0}
    assert rows[1] == {"score": float(np.float32(1 - expected)), "predicted_label": 0.0}
    assert rows[2] == {"score": 0.5, "predicted_label": 0.0}  # above the threshold is class 1


def test_json_request_and_jsonlines_answer(runtime, binary_endpoint):
    body = json.dumps(
        {"instances": [{"features": [2, 0, 0, 0]}, {"data": {"features": {"values": [0, 2, 5, 5]}}}]}
    ).encode()

    response = runtime.invoke_endpoint(
        EndpointName=binary_endpoint, ContentType="application/json", Accept="application/jsonlines", Body=body
    )

    assert response["ContentType"] == "application/jsonlines"
    lines = response["Body"].read().decode().splitlines()
    assert [json.loads(line)["predicted_label"] for line in lines] == [1.0, 0.0]


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "expected"),
    [
        (
            b"1,2,3,4\n1,2,3\n",
            {},
            400,
            "row 2 has 3 values, but the model was trained with feature_dim=4",
        ),
        (b"1,2,3,4,5\n", {}, 400, "row 1 has 5 values"),
        (b"1,x,3,4\n", {}, 400, "row 1, column 2: cannot read 'x' as a number"),
        (b"1,,3,4\n", {}, 400, "row 1, column 2 is empty"),
        (b"1,2,3,4\n", {"Accept": "text/csv"}, 406, "Accept type 'text/csv' is not supported"),
        (b"1,2,3,4\n", {"ContentType": "text/libsvm"}, 415, "Content type 'text/libsvm' is not supported"),
    ],
)
def test_bad_requests_are_client_errors_naming_the_row(runtime, binary_endpoint, body, kwargs, status, expected):
    arguments = {"ContentType": "text/csv", **kwargs}

    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=binary_endpoint, Body=body, **arguments)

    assert error.value.response["OriginalStatusCode"] == status
    assert expected in error.value.response["OriginalMessage"]
    assert f"Received client error ({status}) from primary" in error.value.response["Error"]["Message"]


def test_default_accept_of_the_container_environment_applies(sagemaker, runtime, s3):
    url = upload_model(s3, "runs/env/model.tar.gz", known_binary_model())
    deploy_ll(sagemaker, "ll-env", url, {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/jsonlines"})

    response = runtime.invoke_endpoint(EndpointName="ll-env", ContentType="text/csv", Body=b"2,0,0,0\n")

    assert response["ContentType"] == "application/jsonlines"


def test_an_xgboost_artifact_behind_the_linear_learner_image_fails_the_health_check(sagemaker, s3, logs):
    s3.put_object(Bucket=BUCKET, Key="runs/wrong/model.tar.gz", Body=model_tar({"xgboost-model": b"{}"}))
    container = {"Image": LL_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/runs/wrong/model.tar.gz"}
    sagemaker.create_model(ModelName="wrong-model", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)
    variant = {"VariantName": "AllTraffic", "ModelName": "wrong-model"}
    variant.update(InstanceType="ml.m5.large", InitialInstanceCount=1)
    sagemaker.create_endpoint_config(EndpointConfigName="wrong-config", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName="wrong", EndpointConfigName="wrong-config")

    endpoint = wait_for_endpoint(sagemaker, "wrong")

    assert endpoint["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in endpoint["FailureReason"]
    events = logs.filter_log_events(logGroupName="/aws/sagemaker/Endpoints/wrong")["events"]
    assert any("No model_algo-1 in the model archive (found: xgboost-model)" in e["message"] for e in events)
