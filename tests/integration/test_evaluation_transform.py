"""Evaluation at scale, end to end on the local cloud: a raw test split over EvaluationTransformBytes is
scored by a Batch Transform job of the deployed model (the local SageMaker really runs it), and the
evaluation is the endpoint route's, metric for metric, on the same model and split.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.integration.conftest import BANK_DATA

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "incoming/large/bank-full.csv"


def states_visited(cloud, execution_arn: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in cloud.history(execution_arn)
        if event["type"].endswith("StateEntered")
    ]


def run(cloud, key: str, data: bytes, config: dict) -> tuple[dict, dict]:
    cloud.put_object(str(Path(key).parent / "sagedrop.json"), json.dumps(config).encode(), "application/json")
    outcome = cloud.deliver(cloud.drop_csv(data, key))
    assert outcome["started"], outcome
    return outcome, cloud.wait(outcome["execution_arn"], timeout_seconds=1200)


@pytest.fixture(scope="module")
def small_limit_cloud(tmp_path_factory):
    from sagedrop_local.cloud import LocalCloud

    work = tmp_path_factory.mktemp("transform")
    # every raw test split is "large": the evaluation goes through Batch Transform
    with LocalCloud(
        work_dir=work / "out", state_dir=work / "state", parameter_overrides={"EvaluationTransformBytes": "1000"}
    ) as cloud:
        yield cloud


def test_bank_full_over_the_limit_is_evaluated_by_a_transform_job_with_the_endpoint_routes_metrics(
    small_limit_cloud,
):
    cloud = small_limit_cloud
    data = gzip.decompress(BANK_DATA.read_bytes())
    outcome, final = run(cloud, KEY, data, {"label": "y", "keep_endpoint": True})
    assert final["status"] == "SUCCEEDED", final.get("cause")
    visited = states_visited(cloud, outcome["execution_arn"])
    assert visited.index("Start the evaluation transform") < visited.index("Evaluate the model")
    assert "Check the evaluation transform" in visited

    state = json.loads(final["output"])
    transform = state["evaluation_transform"]
    assert transform["status"] == "Completed" and transform["rows"] == state["prepared"]["dataset"]["rows"]["test"]
    job = cloud.client("sagemaker").describe_transform_job(TransformJobName=transform["job_name"])
    assert job["ModelName"] == state["endpoint"]["model_name"]  # the deployed model itself
    assert job["BatchStrategy"] == "SingleRecord" and job["TransformInput"]["SplitType"] == "Line"
    run_prefix = f"runs/{outcome['run_id']}/"
    by_transform = json.loads(cloud.read(run_prefix + "evaluation.json"))
    assert by_transform["rows"] == transform["rows"]

    # When the same run state is evaluated through the (kept) endpoint instead
    del state["evaluation_transform"], state["evaluation"]
    cloud.invoke("EvaluateModelFunction", state)
    by_endpoint = json.loads(cloud.read(run_prefix + "evaluation.json"))

    # Then every metric is the same
    assert by_endpoint["rows"] == by_transform["rows"]
    for section in ("metrics", "metrics_at_0_5", "confusion_matrix", "baseline"):
        assert by_endpoint[section] == by_transform[section], section
    assert by_transform["metrics"]["roc_auc"] > 0.9
    assert by_transform["scored_by"] == {"route": "batch_transform", "resource": transform["job_name"]}
    assert by_endpoint["scored_by"] == {"route": "endpoint", "resource": state["endpoint"]["endpoint_name"]}
    cloud.client("sagemaker").delete_endpoint(EndpointName=state["endpoint"]["endpoint_name"])


def test_a_failed_transform_job_fails_the_run_by_name_and_cleans_up(small_limit_cloud, monkeypatch):
    cloud = small_limit_cloud
    # A model whose containers do not start in the transform job (the endpoint serves it).
    from sagedrop_local.sagemaker import transform_jobs

    def cannot_start(self, job, scratch):
        raise transform_jobs.ContainerStartError(["featurizer"], "the featurizer container exited with status 1")

    monkeypatch.setattr(transform_jobs.TransformJobs, "_start", cannot_start)
    small = gzip.decompress(BANK_DATA.read_bytes()).splitlines(keepends=True)[:3001]
    outcome, final = run(cloud, "incoming/failing/bank.csv", b"".join(small), {"label": "y"})

    assert final["status"] == "FAILED"
    record = json.loads(cloud.read(f"runs/{outcome['run_id']}/run.json"))
    assert record["status"] == "FAILED"
    assert record["error"]["error"] == "EvaluationTransformFailed"
    assert "failed to respond to ping" in record["error"]["message"]
    assert "Evaluate the model" not in states_visited(cloud, outcome["execution_arn"])
    assert record["resources"]["endpoint"] in record["resources"]["deleted"]  # not kept: deleted
    endpoints = cloud.client("sagemaker").list_endpoints()["Endpoints"]
    assert record["resources"]["endpoint"] not in {e["EndpointName"] for e in endpoints}
