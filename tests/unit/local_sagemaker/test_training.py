"""CreateTrainingJob really trains with xgboost and reports like the built-in algorithm."""

from __future__ import annotations

import io
import tarfile
import warnings

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError
from sklearn.metrics import f1_score

from .conftest import BUCKET, make_dataset, training_request, upload_channels, wait_for_job


def test_job_trains_reports_validation_metrics_and_writes_a_loadable_model(sagemaker, s3, logs):
    # Given
    upload_channels(s3, "runs/r1", make_dataset())

    # When
    sagemaker.create_training_job(**training_request("job-ok", "runs/r1"))
    first = sagemaker.describe_training_job(TrainingJobName="job-ok")
    final = wait_for_job(sagemaker, "job-ok")

    # Then the wait loop saw it running first
    assert first["TrainingJobStatus"] == "InProgress"
    assert first["SecondaryStatus"] == "Starting"
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    assert [t["Status"] for t in final["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert final["TrainingStartTime"] <= final["TrainingEndTime"]
    metrics = {m["MetricName"]: m["Value"] for m in final["FinalMetricDataList"]}
    assert set(metrics) == {"train:auc", "validation:auc"}
    assert metrics["validation:auc"] > 0.8

    # And the artifact is where the built-in container puts it, with `xgboost-model` inside
    uri = final["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://{BUCKET}/runs/r1/model/job-ok/output/model.tar.gz"
    archive = s3.get_object(Bucket=BUCKET, Key="runs/r1/model/job-ok/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        raw = tar.extractfile("xgboost-model").read()
    booster = xgb.Booster()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        booster.load_model(bytearray(raw))
    assert booster.num_features() == 4

    # And the training log is in CloudWatch Logs where SageMaker writes it
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")["logStreams"]
    assert [s["logStreamName"].rsplit("-", 1)[0] for s in streams] == ["job-ok/algo-1"]


def test_default_metric_is_reported_for_both_channels_without_eval_metric(sagemaker, s3):
    upload_channels(s3, "runs/r2", make_dataset())
    request = training_request("job-default-metric", "runs/r2", {"objective": "binary:logistic", "num_round": "5"})

    sagemaker.create_training_job(**request)
    final = wait_for_job(sagemaker, "job-default-metric")

    assert {m["MetricName"] for m in final["FinalMetricDataList"]} == {"train:logloss", "validation:logloss"}


@pytest.mark.parametrize("metrics", ["auc", "auc,f1"])
def test_train_channel_metric_is_the_one_the_container_reports_for_the_last_round(sagemaker, s3, metrics):
    # Given a job that stops early; the emulator evaluates the train channel once, after boosting
    parts = upload_channels(s3, f"runs/tm-{len(metrics)}", make_dataset(rows=600, seed=11))
    hyperparameters = {
        "objective": "binary:logistic",
        "num_round": "200",
        "early_stopping_rounds": "5",
        "eta": "0.3",
        "eval_metric": metrics,
    }
    name = f"job-train-metric-{len(metrics)}"

    # When
    sagemaker.create_training_job(**training_request(name, f"runs/tm-{len(metrics)}", hyperparameters))
    final = wait_for_job(sagemaker, name)

    # Then train:auc is what xgboost gives when it evaluates the train channel every round, as the
    # container's watchlist does, at the round the training stopped
    reported = {m["MetricName"]: m["Value"] for m in final["FinalMetricDataList"]}
    train = xgb.DMatrix(parts["train"][:, 1:], label=parts["train"][:, 0])
    validation = xgb.DMatrix(parts["validation"][:, 1:], label=parts["validation"][:, 0])
    history: dict = {}

    def f1(predictions, data):  # the container computes f1 with scikit-learn at 0.5
        return "f1", f1_score(data.get_label(), predictions > 0.5)

    xgb.train(
        {"objective": "binary:logistic", "eta": 0.3, "eval_metric": ["auc"], "verbosity": 0},
        train,
        200,
        evals=[(train, "train"), (validation, "validation")],
        evals_result=history,
        custom_metric=f1 if "f1" in metrics else None,
        callbacks=[
            xgb.callback.EarlyStopping(rounds=5, metric_name=metrics.split(",")[-1], maximize=True, save_best=True)
        ],
        verbose_eval=False,
    )
    assert len(history["train"]["auc"]) < 200  # it did stop early
    for metric in metrics.split(","):
        assert reported[f"train:{metric}"] == pytest.approx(history["train"][metric][-1], abs=1e-6)
        assert reported[f"validation:{metric}"] == pytest.approx(history["validation"][metric][-1], abs=1e-6)


@pytest.mark.parametrize(
    ("hyperparameters", "expected"),
    [
        ({"num_round": "5", "silent": "0"}, "Extraneous hyperparameter found: silent"),
        ({"objective": "binary:logistic"}, "Missing required hyperparameter: num_round"),
        (
            {"num_round": "5", "objective": "multi:softprob"},
            "Require input for parameter 'num_class' for multi-classification",
        ),
        ({"num_round": "five"}, "Hyperparameter num_round: could not parse value"),
        ({"num_round": "5", "subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
    ],
)
def test_invalid_hyperparameters_fail_the_job_like_the_container(sagemaker, s3, hyperparameters, expected):
    upload_channels(s3, "runs/hp", make_dataset(rows=60))

    sagemaker.create_training_job(**training_request("job-bad-hp", "runs/hp", hyperparameters))
    final = wait_for_job(sagemaker, "job-bad-hp")

    assert final["TrainingJobStatus"] == "Failed"
    assert final["SecondaryStatus"] == "Failed"
    assert final["FailureReason"].startswith("AlgorithmError: framework error:")
    assert expected in final["FailureReason"]
    assert "ModelArtifacts" not in final


def test_channel_without_content_type_is_read_as_libsvm_and_fails(sagemaker, s3):
    upload_channels(s3, "runs/r3", make_dataset(rows=60))

    sagemaker.create_training_job(**training_request("job-no-ct", "runs/r3", content_type=None))
    final = wait_for_job(sagemaker, "job-no-ct")

    assert final["TrainingJobStatus"] == "Failed"
    assert "of file 'part-0.csv' is not 'LIBSVM' format" in final["FailureReason"]


def test_empty_prefix_fails_with_no_s3_objects_found(sagemaker, s3):
    sagemaker.create_training_job(**training_request("job-no-data", "runs/nothing-here"))
    final = wait_for_job(sagemaker, "job-no-data")

    assert final["TrainingJobStatus"] == "Failed"
    assert final["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")


def test_header_row_is_silently_read_as_data(sagemaker, s3):
    # Given a CSV with a header: the container reads text cells as 0 rather than failing
    data = make_dataset(rows=80)
    body = b"label,a,b,c,d\n" + "\n".join(",".join(f"{v:.4f}" for v in row) for row in data).encode()
    for channel in ("train", "validation"):
        s3.put_object(Bucket=BUCKET, Key=f"runs/hdr/data/{channel}/part.csv", Body=body)

    sagemaker.create_training_job(**training_request("job-header", "runs/hdr"))
    final = wait_for_job(sagemaker, "job-header")

    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")


def test_stop_training_job_goes_through_stopping_to_stopped(sagemaker, s3):
    upload_channels(s3, "runs/r4", make_dataset(rows=60))
    # rounds enough that the job cannot finish before the stop request arrives
    endless = {"objective": "binary:logistic", "num_round": "1000000", "max_depth": "3", "eval_metric": "auc"}
    sagemaker.create_training_job(**training_request("job-stop", "runs/r4", endless))

    sagemaker.stop_training_job(TrainingJobName="job-stop")
    stopping = sagemaker.describe_training_job(TrainingJobName="job-stop")
    final = wait_for_job(sagemaker, "job-stop")

    assert stopping["TrainingJobStatus"] == "Stopping"
    assert final["TrainingJobStatus"] == "Stopped"
    assert final["SecondaryStatus"] == "Stopped"
    assert "ModelArtifacts" not in final


def test_errors_match_the_api(sagemaker, s3):
    upload_channels(s3, "runs/r5", make_dataset(rows=60))
    sagemaker.create_training_job(**training_request("job-dup", "runs/r5"))

    with pytest.raises(sagemaker.exceptions.ResourceInUse):
        sagemaker.create_training_job(**training_request("job-dup", "runs/r5"))
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_training_job(TrainingJobName="no-such-job")
    assert missing.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Requested resource not found.",
    }
    with pytest.raises(ClientError) as bad_name:
        sagemaker.create_training_job(**training_request("bad_name_with_underscores", "runs/r5"))
    assert "failed to satisfy constraint" in bad_name.value.response["Error"]["Message"]
    wait_for_job(sagemaker, "job-dup")


def test_list_training_jobs_filters_and_sorts(sagemaker, s3):
    upload_channels(s3, "runs/r6", make_dataset(rows=60))
    for name in ("list-a", "list-b"):
        sagemaker.create_training_job(**training_request(name, "runs/r6"))
    for name in ("list-a", "list-b"):
        wait_for_job(sagemaker, name)

    summaries = sagemaker.list_training_jobs(NameContains="list-", SortBy="Name", SortOrder="Ascending")

    assert [s["TrainingJobName"] for s in summaries["TrainingJobSummaries"]] == ["list-a", "list-b"]
    assert {s["TrainingJobStatus"] for s in summaries["TrainingJobSummaries"]} == {"Completed"}
    assert np.isfinite(len(summaries["TrainingJobSummaries"]))


@pytest.mark.parametrize(("eval_metric", "maximised"), [("auc", True), ("logloss", False)])
def test_early_stopping_keeps_the_best_round_as_the_container_does(sagemaker, s3, eval_metric, maximised):
    # Given noisy data on which boosting overfits long before 500 rounds
    data = make_dataset(rows=400, seed=3)
    data[:, 0] = np.where(np.random.default_rng(1).random(400) < 0.25, 1 - data[:, 0], data[:, 0])
    parts = upload_channels(s3, f"runs/es-{eval_metric}", data)
    hyperparameters = {
        "objective": "binary:logistic",
        "num_round": "500",
        "eta": "0.3",
        "max_depth": "6",
        "early_stopping_rounds": "10",
        "eval_metric": eval_metric,
    }

    # When it trains with early stopping
    name, prefix = f"job-es-{eval_metric}", f"runs/es-{eval_metric}"
    sagemaker.create_training_job(**training_request(name, prefix, hyperparameters))
    final = wait_for_job(sagemaker, f"job-es-{eval_metric}")
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")

    # Then the saved model stops at the best round of the last eval_metric (the container's save_best),
    # so the model the endpoint serves is the best one, not best + early_stopping_rounds
    key = final["ModelArtifacts"]["S3ModelArtifacts"].split(f"{BUCKET}/", 1)[1]
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())) as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgb.Booster()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        booster.load_model(bytearray(raw))
    kept = booster.num_boosted_rounds()
    assert kept < 500
    validation = xgb.DMatrix(parts["validation"][:, 1:], label=parts["validation"][:, 0])
    history = xgb.train(
        {"objective": "binary:logistic", "eta": 0.3, "max_depth": 6, "eval_metric": eval_metric, "nthread": 1},
        xgb.DMatrix(parts["train"][:, 1:], label=parts["train"][:, 0]),
        num_boost_round=kept + 10,
        evals=[(validation, "validation")],
        evals_result=(scores := {}),
        verbose_eval=False,
    )
    del history
    curve = scores["validation"][eval_metric]
    best = int(np.argmax(curve) if maximised else np.argmin(curve))
    assert kept == best + 1
