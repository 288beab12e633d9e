"""Faults injected into the local cloud, each with the end state it must leave.

After every fault: the upload is intact (same bytes, one version), run.json says what happened, the
failure was notified, and no endpoint or training job of the run is left running. Throttling on
CreateTrainingJob (retried, then the run succeeds) is test_local_retry.py's.

How each fault is injected:
- SageMaker API errors: the local SageMaker's fault plan (SAGEDROP_LOCAL_FAULTS syntax).
- A training job or endpoint that fails: its input is spoiled just before the step that starts
  it (training data that is not numeric, a model archive that is not one), so the local trainer and
  model server fail for real, with SageMaker's reasons.
- A Lambda timeout: the local Lambda runtime answers what Lambda answers when a function is killed
  at its timeout (FunctionError, errorType Sandbox.Timedout), after or instead of running it.
- A terminal error no Catch sees: a task answering an error named States.*, which the local Step
  Functions interpreter refuses with States.Runtime, ending the execution at once (in the cloud,
  States.DataLimitExceeded ends it the same way). The backstop's EventBridge rule then gets the
  execution's status change, published here as Step Functions would send it.
Retry waits are compressed so that Start training's longest series of quota retries sleeps about
3 s (the delays are computed by the interpreter from the ASL's IntervalSeconds, BackoffRate,
MaxDelaySeconds and JitterStrategy; only the sleep is shorter).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sagedrop.limits import RUN_CONFIG_MAX_BYTES, STATE_PAYLOAD_MAX_BYTES
from sagedrop.names import endpoint_name
from sagedrop.pipeline.run_record import describe_failure
from sagedrop_local.cloud import LocalCloud
from sagedrop_local.sagemaker.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachine" / "pipeline.asl.json").read_text())
[QUOTA_RETRIER] = [r for r in ASL["States"]["Start training"]["Retry"] if "SageMakerLimitExceeded" in r["ErrorEquals"]]
QUOTA_BOUNDS = [
    min(QUOTA_RETRIER["IntervalSeconds"] * QUOTA_RETRIER["BackoffRate"] ** n, QUOTA_RETRIER["MaxDelaySeconds"])
    for n in range(QUOTA_RETRIER["MaxAttempts"])
]
RETRY_TIME_SCALE = 3 / sum(QUOTA_BOUNDS)

pytestmark = [pytest.mark.e2e]


# --- the cloud, and how faults get into it ---------------------------------------------------------
class CompressedRetryClock:
    """Stands in for ``time`` in moto's retrier: records each requested wait, sleeps a fraction of it."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.requested: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        time.sleep(seconds * self.scale)


@pytest.fixture(scope="module")
def retry_clock() -> Iterator[CompressedRetryClock]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    clock = CompressedRetryClock(RETRY_TIME_SCALE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retrier_decl, "time", clock)
        yield clock


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, retry_clock) -> Iterator[LocalCloud]:
    work = tmp_path_factory.mktemp("faults")
    with LocalCloud(work_dir=work / "out", state_dir=work / "state") as local_cloud:
        yield local_cloud


@pytest.fixture(scope="module")
def small_csv() -> bytes:
    """The first 2,000 rows of the bundled bank marketing data (about 0.3 s of local training)."""
    lines = gzip.decompress((ROOT / "data" / "bank-full.csv.gz").read_bytes()).decode().splitlines()
    return ("\n".join(lines[:2001]) + "\n").encode()


@pytest.fixture
def clean_faults(cloud, retry_clock):
    """Each test starts without injected faults and with the cloud's own timing."""
    cloud.sagemaker.faults = FaultPlan()
    retry_clock.requested.clear()
    startup = cloud.sagemaker.startup_seconds
    yield
    cloud.sagemaker.faults = FaultPlan()
    cloud.sagemaker.startup_seconds = startup
    cloud.lambdas.__dict__.pop("run", None)


LambdaFault = Callable[[Callable, str, dict], tuple[bytes, str | None]]


@contextlib.contextmanager
def lambda_faults(cloud: LocalCloud, faults: dict[str, LambdaFault]) -> Iterator[None]:
    """Answer the invocations of the named functions (logical ids) with a fault instead."""
    runtime = cloud.lambdas
    original = runtime.run

    def run(name_or_arn: str, event: dict) -> tuple[bytes, str | None]:
        fault = faults.get(runtime.function(name_or_arn).logical_id)
        return fault(original, name_or_arn, event) if fault else original(name_or_arn, event)

    runtime.run = run
    try:
        yield
    finally:
        runtime.__dict__.pop("run", None)


def lambda_error(error_type: str, message: str) -> tuple[bytes, str]:
    """What Lambda answers for a function that failed: the error document and FunctionError."""
    document = {"errorType": error_type, "errorMessage": message}
    return json.dumps(document).encode(), "Unhandled"


def timed_out(*, after_running: bool) -> LambdaFault:
    """Lambda killed the function at its timeout, after it did its work or before it did any."""

    def fault(run, name_or_arn, event):
        if after_running:
            run(name_or_arn, event)
        return lambda_error("Sandbox.Timedout", f"RequestId: {uuid.uuid4()} Error: Task timed out after 60.00 seconds")

    return fault


# --- what every fault must leave behind ------------------------------------------------------------
def run_with(cloud: LocalCloud, folder: str, data: bytes, config: bytes | None = None) -> tuple[str, dict, dict]:
    key = f"incoming/{folder}/bank.csv"
    if config is not None:
        cloud.put_object(f"incoming/{folder}/sagedrop.json", config, "application/json")
    outcome = cloud.start_run(data, key)
    assert outcome["started"], outcome
    final = cloud.wait(outcome["execution_arn"], timeout_seconds=120)
    return key, outcome, final


def training_jobs_of(cloud: LocalCloud, run_id: str) -> dict[str, str]:
    digest = run_id.rsplit("-", 1)[1]
    jobs = cloud.client("sagemaker").list_training_jobs(NameContains=digest, MaxResults=100)["TrainingJobSummaries"]
    return {job["TrainingJobName"]: job["TrainingJobStatus"] for job in jobs}


def settled_training_jobs(cloud: LocalCloud, run_id: str, timeout: float = 10) -> dict[str, str]:
    """The run's jobs once none is still stopping (a stop takes effect at the trainer's next check)."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = training_jobs_of(cloud, run_id)
        if "Stopping" not in jobs.values() or time.monotonic() > deadline:
            return jobs
        time.sleep(0.1)


def endpoints(cloud: LocalCloud) -> list[str]:
    return [e["EndpointName"] for e in cloud.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"]]


def assert_end_state(cloud: LocalCloud, key: str, data: bytes, run_id: str, error: str) -> dict:
    """Upload intact, run.json with the error, one failure notification, nothing of the run running."""
    versions = cloud.s3.list_object_versions(Bucket=cloud.bucket, Prefix=key).get("Versions", [])
    assert [v["Key"] for v in versions] == [key], "the upload has exactly one version"
    assert cloud.read(key) == data, "the upload is byte for byte what was dropped"
    record = json.loads(cloud.read(f"runs/{run_id}/run.json"))
    assert record["status"] == "FAILED"
    assert record["error"]["error"] == error, record["error"]
    notifications = cloud.notifications(mentioning=run_id)
    assert [n["subject"] for n in notifications] == [f"sagedrop run {run_id} failed"]
    assert endpoint_name(run_id) not in endpoints(cloud), "no endpoint of the run is left"
    assert "InProgress" not in settled_training_jobs(cloud, run_id).values(), "no training job of the run runs"
    return record


def state_documents(history: list[dict]) -> list[str]:
    documents = []
    for event in history:
        for details, field in (("stateEnteredEventDetails", "input"), ("stateExitedEventDetails", "output")):
            text = (event.get(details) or {}).get(field)
            if text is not None:
                documents.append(text)
    return documents


def status_change_event(cloud: LocalCloud, execution_arn: str) -> dict:
    """The "Step Functions Execution Status Change" event Step Functions sends when an execution ends."""
    description = cloud.sfn.describe_execution(executionArn=execution_arn)
    event = json.loads((ROOT / "events" / "execution_failed.json").read_text())
    event.update(id=str(uuid.uuid4()), resources=[execution_arn])
    event["detail"] = {
        "executionArn": execution_arn,
        "stateMachineArn": description["stateMachineArn"],
        "name": description["name"],
        "status": description["status"],
        "startDate": int(description["startDate"].timestamp() * 1000),
        "stopDate": int(description["stopDate"].timestamp() * 1000),
        "input": description["input"],
        "inputDetails": {"included": True},
        "output": None,
        "outputDetails": None,
        "error": description.get("error"),
        "cause": description.get("cause"),
    }
    return event


def lambda_outcomes(history: list[dict], state: str) -> list[str | None]:
    """The error of each Lambda attempt of ``state`` (None for a success), in order."""
    outcomes, inside = [], False
    for event in history:
        entered = (event.get("stateEnteredEventDetails") or {}).get("name")
        exited = (event.get("stateExitedEventDetails") or {}).get("name")
        inside = inside or entered == state
        if inside and event["type"] == "LambdaFunctionFailed":
            outcomes.append(event["lambdaFunctionFailedEventDetails"]["error"])
        if inside and event["type"] == "LambdaFunctionSucceeded":
            outcomes.append(None)
        if exited == state or (inside and entered not in (None, state)):
            break
    return outcomes


# --- the faults ---------------------------------------------------------------------------------
def test_resource_limit_exceeded_waits_with_growing_jittered_delays_then_fails_cleanly(
    cloud, small_csv, clean_faults, retry_clock
):
    # Given a SageMaker quota that stays exhausted for longer than Start training retries
    attempts = QUOTA_RETRIER["MaxAttempts"] + 1
    cloud.sagemaker.faults = FaultPlan.parse(f"CreateTrainingJob:ResourceLimitExceeded:{attempts}")

    # When a CSV runs
    key, outcome, final = run_with(cloud, "quota", small_csv)

    # Then every attempt met the quota, each wait within its bound, and the bounds grew
    history = cloud.history(outcome["execution_arn"])
    assert lambda_outcomes(history, "Start training") == ["SageMakerLimitExceeded"] * attempts
    assert len(cloud.sagemaker.faults.injected) == attempts
    waits = retry_clock.requested
    assert len(waits) == QUOTA_RETRIER["MaxAttempts"]
    assert all(0 <= wait <= bound for wait, bound in zip(waits, QUOTA_BOUNDS, strict=True)), (waits, QUOTA_BOUNDS)
    assert len(set(waits)) == len(waits), "full jitter: no two waits alike"
    assert sorted(QUOTA_BOUNDS) == QUOTA_BOUNDS and QUOTA_BOUNDS[-1] > QUOTA_BOUNDS[0], "backoff"
    # and the run failed cleanly, saying why, with nothing created
    assert final["status"] == "FAILED" and final["error"] == "SageMakerLimitExceeded"
    record = assert_end_state(cloud, key, small_csv, outcome["run_id"], "SageMakerLimitExceeded")
    assert "service limit was exceeded" in record["error"]["message"]
    assert training_jobs_of(cloud, outcome["run_id"]) == {}


def test_a_failed_training_job_ends_the_run_with_sagemakers_reason(cloud, small_csv, clean_faults):
    # Given training data that is no longer numeric when the job reads it
    def corrupt_the_training_data(run, name_or_arn, event):
        cloud.put_object(f"runs/{event['run_id']}/data/train/part-00000.csv", b"not,a,number\n" * 50, "text/csv")
        return run(name_or_arn, event)

    with lambda_faults(cloud, {"StartTrainingFunction": corrupt_the_training_data}):
        key, outcome, final = run_with(cloud, "training-failed", small_csv)

    # Then the job failed, and the run with SageMaker's reason
    assert final["status"] == "FAILED" and final["error"] == "TrainingFailed"
    record = assert_end_state(cloud, key, small_csv, outcome["run_id"], "TrainingFailed")
    assert record["error"]["message"].startswith("AlgorithmError: ")
    assert list(training_jobs_of(cloud, outcome["run_id"]).values()) == ["Failed"]
    assert record["resources"]["endpoint"] is None, "no endpoint was ever created"


def test_a_failed_endpoint_ends_the_run_and_is_deleted(cloud, small_csv, clean_faults):
    # Given a model archive the serving container cannot unpack
    def corrupt_the_model(run, name_or_arn, event):
        artifact = event["training"]["model_artifact"].removeprefix(f"s3://{cloud.bucket}/")
        cloud.put_object(artifact, b"this is not a tar.gz", "application/gzip")
        return run(name_or_arn, event)

    with lambda_faults(cloud, {"DeployModelFunction": corrupt_the_model}):
        key, outcome, final = run_with(cloud, "endpoint-failed", small_csv)

    # Then the endpoint failed, the run with SageMaker's reason, and the endpoint is gone
    assert final["status"] == "FAILED" and final["error"] == "EndpointFailed"
    record = assert_end_state(cloud, key, small_csv, outcome["run_id"], "EndpointFailed")
    assert "did not pass the ping health check" in record["error"]["message"]
    assert set(record["resources"]["deleted"]) == {
        endpoint_name(outcome["run_id"]),
        record["resources"]["endpoint_config"],
        record["resources"]["model"],
    }


def test_a_lambda_timeout_after_create_training_job_stops_the_job_it_never_named(cloud, small_csv, clean_faults):
    # Given a training job that takes a while to start, and Start training killed at its timeout
    # right after CreateTrainingJob (its result, the job name, never reaches the state); a start-up
    # well beyond the failure path's few seconds on a loaded machine (the stop ends the wait)
    cloud.sagemaker.startup_seconds = 15
    with lambda_faults(cloud, {"StartTrainingFunction": timed_out(after_running=True)}):
        key, outcome, final = run_with(cloud, "lambda-timeout", small_csv)

    # Then the run fails with Lambda's error, and the job found by the run's tag was stopped
    assert final["status"] == "FAILED" and final["error"] == "Sandbox.Timedout"
    record = assert_end_state(cloud, key, small_csv, outcome["run_id"], "Sandbox.Timedout")
    assert "Task timed out after 60.00 seconds" in record["error"]["message"]
    assert record["resources"]["training_job"] is None
    assert list(settled_training_jobs(cloud, outcome["run_id"]).values()) == ["Stopped"]


def test_a_config_too_large_for_the_run_state_is_rejected_at_preparation(cloud, small_csv, clean_faults):
    # Given a 300 KB sagedrop.json (it would travel in every state's input)
    config = json.dumps({"label": "y", "notes": "x" * 300_000}).encode()

    key, outcome, final = run_with(cloud, "huge-config", small_csv, config)

    assert final["status"] == "FAILED" and final["error"] == "InvalidConfigError"
    record = assert_end_state(cloud, key, small_csv, outcome["run_id"], "InvalidConfigError")
    assert f"at most {RUN_CONFIG_MAX_BYTES:,} bytes" in record["error"]["message"]
    # and no state document came anywhere near Step Functions' limit
    largest = max(len(text.encode()) for text in state_documents(cloud.history(outcome["execution_arn"])))
    assert largest < STATE_PAYLOAD_MAX_BYTES // 16, largest


def test_a_terminal_error_no_catch_sees_is_recorded_by_the_backstop(cloud, small_csv, clean_faults):
    # Given an endpoint check whose result Step Functions refuses with an error no Catch receives
    too_big = lambda_error(
        "States.DataLimitExceeded",
        "The state/task 'Check the endpoint' returned a result with a size exceeding the maximum number of bytes "
        "service limit.",
    )
    with lambda_faults(cloud, {"CheckEndpointFunction": lambda *_: too_big}):
        key, outcome, final = run_with(cloud, "terminal", small_csv)
    run_id = outcome["run_id"]

    # Then the execution ended at once: no failure path ran, the endpoint is still there
    assert final["status"] == "FAILED" and final["error"] == "States.Runtime"
    assert "States.DataLimitExceeded" in final["cause"]
    assert f"runs/{run_id}/run.json" not in cloud.keys(f"runs/{run_id}/")
    assert endpoint_name(run_id) in endpoints(cloud)

    # When the execution's status change reaches the backstop's rule
    [(function, response)] = cloud.publish(status_change_event(cloud, outcome["execution_arn"]))

    # Then it recorded the run as the failure path would have
    assert function == "RecordAbandonedRunFunction"
    assert response["recorded"] is True and response["status"] == "FAILED"
    record = assert_end_state(cloud, key, small_csv, run_id, "States.Runtime")
    assert record["recorded_by"] == "backstop"
    assert endpoint_name(run_id) in record["resources"]["deleted"]
    # and a second delivery of the same event changes nothing
    [(_, again)] = cloud.publish(status_change_event(cloud, outcome["execution_arn"]))
    assert again["recorded"] is False and cloud.notifications(mentioning=run_id) == []


def test_a_scorings_terminal_error_reaches_the_scoring_backstop_which_writes_status_json(
    cloud, small_csv, clean_faults
):
    # Given a scoring whose first check answers an error no Catch receives
    broken = lambda_error("States.DataLimitExceeded", "The state/task 'Check the run and the file' returned too much.")
    key = "score/bank-0123456789abcdef/terminal.csv"
    with lambda_faults(cloud, {"ValidateScoringFunction": lambda *_: broken}):
        outcome = cloud.start_scoring(small_csv, key)
        assert outcome["started"], outcome
        final = cloud.wait(outcome["execution_arn"], timeout_seconds=60)
    status_key = "runs/bank-0123456789abcdef/scoring/terminal/status.json"
    assert final["status"] == "FAILED" and final["error"] == "States.Runtime"
    assert cloud.keys(status_key) == [], "no failure path ran"

    # When the execution's status change is put on the bus
    [(function, response)] = cloud.publish(status_change_event(cloud, outcome["execution_arn"]))

    # Then the scoring's rule, not the pipeline's, handed it to the scoring's backstop, which recorded it
    assert function == "RecordAbandonedScoringFunction"
    assert response["recorded"] is True and response["status_key"] == status_key
    status = json.loads(cloud.read(status_key))
    assert (status["status"], status["recorded_by"]) == ("FAILED", "backstop")
    assert status["error"] == describe_failure({"Error": final["error"], "Cause": final["cause"]})  # the execution's
    [notification] = cloud.notifications(mentioning=key)
    assert notification["subject"] == "sagedrop scoring of terminal with run bank-0123456789abcdef failed"
    assert cloud.read(key) == small_csv, "the upload is left as it was"
    # and a second delivery changes nothing
    [(_, again)] = cloud.publish(status_change_event(cloud, outcome["execution_arn"]))
    assert again["recorded"] is False and cloud.notifications(mentioning=key) == []


def test_a_failure_path_that_dies_is_completed_by_the_backstop(cloud, small_csv, clean_faults):
    # Given an endpoint check that times out, and a failure path that times out too
    faults = {
        "CheckEndpointFunction": timed_out(after_running=False),
        "HandleFailureFunction": timed_out(after_running=False),
    }
    with lambda_faults(cloud, faults):
        key, outcome, final = run_with(cloud, "failure-path-dies", small_csv)
    run_id = outcome["run_id"]
    assert final["status"] == "FAILED" and final["error"] == "Sandbox.Timedout"
    assert f"runs/{run_id}/run.json" not in cloud.keys(f"runs/{run_id}/")
    assert endpoint_name(run_id) in endpoints(cloud)

    [(_, response)] = cloud.publish(status_change_event(cloud, outcome["execution_arn"]))

    assert response["recorded"] is True
    record = assert_end_state(cloud, key, small_csv, run_id, "Sandbox.Timedout")
    assert record["recorded_by"] == "backstop"
    assert endpoint_name(run_id) in record["resources"]["deleted"]


def test_an_aborted_run_is_recorded_by_the_backstop_and_its_job_stopped(cloud, small_csv, clean_faults):
    # Given a run stopped (StopExecution) while its training job runs
    cloud.sagemaker.startup_seconds = 30
    outcome = cloud.start_run(small_csv, key := "incoming/aborted/bank.csv")
    deadline = time.monotonic() + 30
    while not training_jobs_of(cloud, outcome["run_id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Stopped while "Check training" is in flight (its Describe long-polls), after the loop went
    # round: where a stop usually lands locally. sfn_interpreter keeps such an execution ABORTED.
    while time.monotonic() < deadline:
        history = cloud.history(outcome["execution_arn"])
        checks = sum(event["type"] == "LambdaFunctionScheduled" for event in history)
        if checks >= 4 and history[-1]["type"] == "LambdaFunctionStarted":
            break
        time.sleep(0.02)
    cloud.sfn.stop_execution(executionArn=outcome["execution_arn"])
    final = cloud.wait(outcome["execution_arn"], timeout_seconds=30)
    assert final["status"] == "ABORTED"

    [(_, response)] = cloud.publish(status_change_event(cloud, outcome["execution_arn"]))

    # (stopped without an error: the record names the history event that ended it)
    assert response["recorded"] is True and response["status"] == "ABORTED"
    record = assert_end_state(cloud, key, small_csv, outcome["run_id"], "ExecutionAborted")
    assert record["error"]["message"] == "the execution ended ABORTED"
    assert list(settled_training_jobs(cloud, outcome["run_id"]).values()) == ["Stopped"]
    assert record["recorded_by"] == "backstop"
