"""End to end on the local cloud: the real ASL, handlers, XGBoost training and model server."""

from __future__ import annotations

import json

import pytest

from sagedrop_local.cloud import LONG_POLL_SECONDS
from tests.integration.conftest import run_to_end

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _visits(cloud, execution_arn: str, state: str) -> int:
    return sum(
        1
        for event in cloud.history(execution_arn)
        if event["type"].endswith("StateEntered") and event["stateEnteredEventDetails"]["name"] == state
    )


def _endpoints(cloud) -> list[str]:
    return [e["EndpointName"] for e in cloud.session.client("sagemaker").list_endpoints()["Endpoints"]]


def test_a_small_csv_trains_deploys_evaluates_and_cleans_up(cloud, bank_sample):
    # Given a CSV dropped into incoming/
    key = "incoming/bank/bank-sample.csv"
    # When the S3 event reaches the starter and the execution runs (its jobs slower to start than
    # one long-polled Describe, so that the wait loops go round: with seconds to spare, as a loaded
    # CI machine can take more than half a second from CreateTrainingJob to the first Describe)
    startup = cloud.sagemaker.startup_seconds
    cloud.sagemaker.startup_seconds = LONG_POLL_SECONDS + 3
    try:
        outcome, final = run_to_end(cloud, key, bank_sample)
    finally:
        cloud.sagemaker.startup_seconds = startup
    run = f"runs/{outcome['run_id']}/"

    # Then it succeeds, with the documented layout in the bucket
    assert final["status"] == "SUCCEEDED", final.get("cause")
    keys = set(cloud.keys(run))
    for expected in (
        "run.json",
        "schema.json",
        "evaluation.json",
        "report.html",
        "data/train/part-00000.csv",
        "data/validation/part-00000.csv",
        "data/test/part-00000.csv",
    ):
        assert run + expected in keys, expected
    assert any(k.startswith(run + "model/") and k.endswith("/output/model.tar.gz") for k in keys)

    # and an evaluation in the public contract's shape that beats the baseline
    evaluation = json.loads(cloud.read(run + "evaluation.json"))
    assert evaluation["run_id"] == outcome["run_id"]
    assert evaluation["problem_type"] == "binary_classification" and evaluation["label"] == "y"
    assert evaluation["rows"] == sum(sum(row) for row in evaluation["confusion_matrix"]["matrix"])
    assert evaluation["confusion_matrix"]["labels"] == ["no", "yes"]
    # accuracy at 0.5: the chosen threshold trades accuracy for the rare class's F1
    assert evaluation["metrics_at_0_5"]["accuracy"] > evaluation["baseline"]["accuracy"]
    assert evaluation["metrics"]["f1"] >= evaluation["metrics_at_0_5"]["f1"] - 0.05
    assert evaluation["metrics"]["roc_auc"] > 0.8

    # and the training wait loop went round at least once
    assert _visits(cloud, outcome["execution_arn"], "Check training") >= 2

    # and the endpoint, its config and model are gone; the upload is untouched
    assert _endpoints(cloud) == []
    assert cloud.read(key) == bank_sample
    record = json.loads(cloud.read(run + "run.json"))
    assert record["status"] == "SUCCEEDED"
    assert set(record["resources"]["deleted"]) == {
        record["resources"]["endpoint"],
        record["resources"]["endpoint_config"],
        record["resources"]["model"],
    }
    assert [n["subject"] for n in cloud.notifications()] == [f"sagedrop run {outcome['run_id']} succeeded"]


def test_a_broken_csv_fails_with_the_reason_and_keeps_the_upload(cloud):
    # Given a CSV whose fourth line has too many fields
    broken = b"a,b,y\n" + b"".join(f"{i},{i * 2},{i % 2}\n".encode() for i in range(40)) + b"1,2,3,4,5\n"
    key = "incoming/broken/broken.csv"
    # When it runs
    outcome, final = run_to_end(cloud, key, broken)
    # Then the execution fails with the preprocess error, recorded and notified
    assert final["status"] == "FAILED"
    assert final["error"] == "InvalidCsvError"
    record = json.loads(cloud.read(f"runs/{outcome['run_id']}/run.json"))
    assert record["status"] == "FAILED" and record["error"]["error"] == "InvalidCsvError"
    assert "line" in record["error"]["message"]
    assert any("failed" in n["subject"] for n in cloud.notifications())
    # and nothing is lost: the uploaded object is still there, byte for byte, in one version
    assert cloud.read(key) == broken
    versions = cloud.s3.list_object_versions(Bucket=cloud.bucket, Prefix=key).get("Versions", [])
    assert len(versions) == 1


def test_a_hyperparameter_the_container_rejects_takes_the_catch_path_before_any_job(cloud, bank_sample):
    # Given a hyperparameter the built-in algorithm rejects (eta must be within [0, 1])
    config = json.dumps({"hyperparameters": {"eta": "5"}}).encode()
    outcome, final = run_to_end(cloud, "incoming/bad-eta/bank.csv", bank_sample, config)
    # Then the run fails naming the key before a training job exists, and no endpoint was ever left up
    # (a job that SageMaker itself fails: tests/integration/test_faults.py)
    assert final["status"] == "FAILED" and final["error"] == "InvalidConfigError"
    assert "hyperparameters.eta" in final["cause"]
    assert _visits(cloud, outcome["execution_arn"], "Start training") == 0
    assert _visits(cloud, outcome["execution_arn"], "Record the failure") == 1
    assert _visits(cloud, outcome["execution_arn"], "Deploy the model") == 0
    assert _endpoints(cloud) == []


def test_a_wrong_config_key_is_named(cloud, bank_sample):
    config = json.dumps({"lable": "y"}).encode()
    outcome, final = run_to_end(cloud, "incoming/typo/bank.csv", bank_sample, config)
    assert final["status"] == "FAILED" and final["error"] == "InvalidConfigError"
    assert "lable" in final["cause"] and "incoming/typo/sagedrop.json" in final["cause"]


def test_a_missing_label_is_named(cloud, bank_sample):
    config = json.dumps({"label": "subscribed"}).encode()
    outcome, final = run_to_end(cloud, "incoming/nolabel/bank.csv", bank_sample, config)
    assert final["status"] == "FAILED" and final["error"] == "LabelNotFoundError"
    assert "subscribed" in final["cause"]


def test_a_label_the_objective_cannot_train_on_is_named_before_any_job(cloud):
    # Given counts to predict with a Poisson objective, and a negative count on line 30
    rows = [f"{i % 7},{i % 3},{i % 9}" for i in range(60)]
    rows[28] = "1,2,-2"
    data = ("a,b,visits\n" + "\n".join(rows) + "\n").encode()
    config = {"label": "visits", "problem_type": "regression", "hyperparameters": {"objective": "count:poisson"}}
    key = "incoming/visits/visits.csv"
    outcome, final = run_to_end(cloud, key, data, json.dumps(config).encode())
    # Then the preparation stops the run with the line and the reason, before any training job
    assert final["status"] == "FAILED" and final["error"] == "UnusableLabelError"
    assert "line 30, column 'visits': the label '-2' is not non-negative" in final["cause"]
    assert "'count:poisson'" in final["cause"]
    assert _visits(cloud, outcome["execution_arn"], "Start training") == 0
    assert cloud.read(key) == data


def test_the_same_event_delivered_twice_starts_one_execution(cloud):
    # Given one upload whose event S3 delivers twice (at-least-once delivery)
    data = b"x1,x2,y\n" + b"".join(f"{i},{(i * 7) % 13},{i % 2}\n".encode() for i in range(60))
    event = cloud.drop_csv(data, "incoming/twice/twice.csv")
    # When both deliveries reach the starter
    first = cloud.deliver(event)
    second = cloud.deliver(event)
    # Then only the first started an execution
    assert first["started"] is True and second["started"] is False
    assert second["run_id"] == first["run_id"] and "duplicate" in second["reason"]
    executions = cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]
    assert [e["name"] for e in executions].count(first["run_id"]) == 1
    cloud.wait(first["execution_arn"], timeout_seconds=300)


def test_keys_outside_incoming_start_nothing(cloud):
    event = cloud.drop_csv(b"a,y\n1,0\n", "elsewhere/file.csv")
    assert cloud.deliver(event)["started"] is False
