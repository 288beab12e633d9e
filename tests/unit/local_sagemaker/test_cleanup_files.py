"""What is deleted through the API leaves nothing behind in the state directory, and does not come back."""

from __future__ import annotations

from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.store import LOCK_FILE, STATE_FILE

from .conftest import (
    deploy,
    make_dataset,
    new_session,
    to_csv,
    training_request,
    upload_channels,
    wait_for_endpoint,
    wait_for_job,
)
from .test_endpoints import train_and_upload

BOOKKEEPING = {STATE_FILE, LOCK_FILE}


def _files(state_dir) -> set[str]:
    return {str(path.relative_to(state_dir)) for path in state_dir.rglob("*") if path.is_file()}


def test_deleting_an_endpoint_its_config_and_model_leaves_no_model_file(sagemaker, runtime, s3, state_dir):
    # Given an endpoint that served a request
    url, _, features = train_and_upload(s3, "runs/files/model.tar.gz", {"objective": "binary:logistic"})
    deploy(sagemaker, "ep-files", url)
    wait_for_endpoint(sagemaker, "ep-files")
    runtime.invoke_endpoint(EndpointName="ep-files", ContentType="text/csv", Body=to_csv(features[:1]))
    # and a model folder an earlier version of the local SageMaker kept for it
    legacy = state_dir / "endpoints" / "ep-files" / "AllTraffic" / "model" / "xgboost-model"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"model")

    # When the cleanup deletes all three
    sagemaker.delete_endpoint(EndpointName="ep-files")
    sagemaker.delete_endpoint_config(EndpointConfigName="ep-files-config")
    sagemaker.delete_model(ModelName="ep-files-model")

    # Then only the state file and its lock file are left
    assert _files(state_dir) == BOOKKEEPING


def test_a_finished_training_job_leaves_no_scratch_files(sagemaker, s3, state_dir):
    upload_channels(s3, "runs/scratch", make_dataset(rows=60))
    sagemaker.create_training_job(**training_request("job-scratch", "runs/scratch"))

    assert wait_for_job(sagemaker, "job-scratch")["TrainingJobStatus"] == "Completed"
    assert _files(state_dir) == BOOKKEEPING


def test_files_a_dead_process_left_behind_are_removed_by_the_next_instance(session, s3, state_dir):
    # Given the scratch of a training job that is over and the folder of an endpoint that is gone
    state_dir.mkdir(parents=True)
    (state_dir / "training" / "job-gone-k2x9q1ab").mkdir(parents=True)
    (state_dir / "training" / "job-gone-k2x9q1ab" / "train.csv").write_text("1,2\n")
    (state_dir / "endpoints" / "ep-gone" / "AllTraffic").mkdir(parents=True)
    (state_dir / "endpoints" / "ep-gone" / "AllTraffic" / "xgboost-model").write_bytes(b"model")

    LocalSageMaker(s3, state_dir).close()

    assert _files(state_dir) == BOOKKEEPING


def test_a_log_group_the_cleanup_deleted_is_not_republished(session, sagemaker, s3, state_dir, local_sagemaker):
    # Given an endpoint whose log group the nightly cleanup deleted after the endpoint
    deploy(sagemaker, "ep-logs", train_and_upload(s3, "runs/logs/model.tar.gz", {})[0])
    wait_for_endpoint(sagemaker, "ep-logs")
    sagemaker.delete_endpoint(EndpointName="ep-logs")
    session.client("logs").delete_log_group(logGroupName="/aws/sagemaker/Endpoints/ep-logs")
    local_sagemaker.close()

    # When a later process republishes what was recorded into its fresh CloudWatch Logs
    fresh = new_session()
    fresh_logs = fresh.client("logs", region_name="eu-west-1")
    later = LocalSageMaker(s3, state_dir)
    try:
        later.republish(fresh_logs, fresh.client("cloudwatch", region_name="eu-west-1"))
    finally:
        later.close()

    # Then the deleted group does not come back
    groups = [group["logGroupName"] for group in fresh_logs.describe_log_groups()["logGroups"]]
    assert "/aws/sagemaker/Endpoints/ep-logs" not in groups
