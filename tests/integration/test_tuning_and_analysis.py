"""A tuned run and the model analysis, end to end on the local cloud.

The tuned run drops a CSV with ``"tuning": {...}`` beside it: the state machine takes the tuning
branch, the local SageMaker really trains each trial, the best one is deployed and every trial is
written for the report. The analysis chooses the decision threshold on the validation split and the
deployed model applies it: a row is labelled positive exactly when its probability is above it.
"""

from __future__ import annotations

import json

import pytest
from sklearn import datasets

from tests.integration.conftest import run_to_end

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def cancer_csv() -> bytes:
    frame = datasets.load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame.to_csv(index=False).encode()


def states_visited(cloud, execution_arn: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in cloud.history(execution_arn)
        if event["type"].endswith("StateEntered")
    ]


@pytest.fixture(scope="module")
def tuned(cloud):
    config = {"label": "target", "tuning": {"max_jobs": 4, "max_parallel_jobs": 2}, "keep_endpoint": True}
    outcome, final = run_to_end(cloud, "incoming/tuned/cancer.csv", cancer_csv(), json.dumps(config).encode())
    assert final["status"] == "SUCCEEDED", final.get("cause")
    return outcome, final


def test_a_tuning_config_runs_a_tuning_job_and_deploys_its_best_trial(cloud, tuned):
    outcome, _ = tuned
    run = f"runs/{outcome['run_id']}/"
    visited = states_visited(cloud, outcome["execution_arn"])
    assert {"Start tuning", "Check tuning", "Take the best trial"} <= set(visited)
    assert "Start training" not in visited

    trials = json.loads(cloud.read(run + "tuning/trials.json"))
    record = json.loads(cloud.read(run + "run.json"))
    assert len(trials["trials"]) == 4
    completed = [trial for trial in trials["trials"] if trial["status"] == "Completed"]
    assert (trials["objective_metric"], trials["objective_type"]) == ("validation:auc", "Maximize")
    best = max(completed, key=lambda trial: trial["objective"])
    assert trials["best_training_job"] == best["job_name"] == record["resources"]["training_job"]
    # the trials searched different values of the declared ranges
    assert len({json.dumps(trial["hyperparameters"], sort_keys=True) for trial in trials["trials"]}) == 4
    # every trial is paid for, not only the deployed one
    training_item = next(i for i in record["estimated_cost_usd"]["items"] if i["what"].startswith("Training"))
    assert training_item["quantity"] * 3600 == pytest.approx(sum(t["seconds"] for t in trials["trials"]), abs=0.01)


def test_the_deployed_model_applies_the_threshold_chosen_on_validation(cloud, tuned):
    outcome, _ = tuned
    run = f"runs/{outcome['run_id']}/"
    evaluation = json.loads(cloud.read(run + "evaluation.json"))
    record = json.loads(cloud.read(run + "run.json"))
    threshold = evaluation["threshold"]
    assert threshold["chosen_on"] == "validation" and threshold["metric"] == "f1"
    assert threshold["value"] == record["analysis"]["threshold"]
    assert set(evaluation["metrics_at_0_5"]) >= {"accuracy", "f1", "roc_auc"}
    columns = {item["column"] for item in evaluation["feature_importance"]}
    schema = json.loads(cloud.read(run + "schema.json"))
    assert columns and columns <= set(schema["source_columns"])
    assert record["analysis"]["rounds"] >= 1

    # The kept endpoint answers raw rows: the positive class (class 1) exactly above the threshold.
    positive = schema["label_mapping"][1]
    raw = cloud.read(run + "data/raw/test.csv").decode()
    answer = cloud.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=record["resources"]["endpoint"], ContentType="text/csv", Accept="application/json", Body=raw
    )
    predictions = json.loads(answer["Body"].read())["predictions"]
    assert len(predictions) == len(raw.splitlines()) - 1
    for prediction in predictions:
        p_positive = prediction["probabilities"][prediction["labels"].index(positive)]
        assert (prediction["predicted_label"] == positive) == (p_positive > threshold["value"]), prediction


def test_an_upload_over_the_stacks_maximum_fails_unread_with_both_sizes_named(tmp_path):
    from sagedrop_local.cloud import LocalCloud

    data = cancer_csv()
    with LocalCloud(
        work_dir=tmp_path / "out", state_dir=tmp_path / "state", parameter_overrides={"MaxUploadBytes": "1000"}
    ) as small:
        outcome, final = run_to_end(small, "incoming/big/cancer.csv", data)
        assert final["status"] == "FAILED"
        record = json.loads(small.read(f"runs/{outcome['run_id']}/run.json"))
        visited = states_visited(small, outcome["execution_arn"])
        uploaded = small.read("incoming/big/cancer.csv")
    assert record["error"]["error"] == "UploadTooLarge"
    assert f"{len(data)} bytes" in record["error"]["message"] and "1000 bytes" in record["error"]["message"]
    assert "Prepare the data" not in visited  # refused from the event's size: nothing read it
    assert uploaded == data  # and the upload is as it was
