"""Processing jobs on the local SageMaker: a real script over S3 inputs and outputs, failures, stops, listing.

The script runs in a child process with the /opt/ml paths of its arguments mapped into the job's
scratch folder, as the pipeline's processing step will run it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from sagedrop.image_uris import SKLEARN, image_uri
from sagedrop_local.sagemaker import LocalSageMaker, processing_container
from sagedrop_local.sagemaker.processing_container import ALGORITHM_ERROR
from sagedrop_local.sagemaker.processing_jobs import LOG_GROUP, SCRATCH
from sagedrop_local.sagemaker.state import StateFile
from sagedrop_local.sagemaker.store import STATE_FILE

from .conftest import BUCKET, REGION, ROLE_ARN, new_session, wait_until

IMAGE = image_uri(SKLEARN, REGION)
ENDED = ("Completed", "Failed", "Stopped")

# Sums the first column of every CSV under --in (paths kept), greets from the environment,
# writes an exit message; SLEEP makes it wait after writing, FAIL makes it raise.
JOB_SCRIPT = b"""
import argparse, os, pathlib, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--in", dest="source")
parser.add_argument("--out")
parser.add_argument("--message")
args = parser.parse_args()
print("pid", os.getpid(), flush=True)
if os.environ.get("STARTED"):
    pathlib.Path(os.environ["STARTED"]).write_text("started")
source, out = pathlib.Path(args.source), pathlib.Path(args.out)
for csv in sorted(source.rglob("*.csv")):
    total = sum(float(line.split(",")[0]) for line in csv.read_text().splitlines() if line)
    target = out / csv.relative_to(source).with_suffix(".sum")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{total:g}")
(out / "greeting.txt").write_text(os.environ.get("GREETING", "none"))
pathlib.Path(args.message).write_text("processed " + str(len(list(source.rglob("*.csv")))) + " files")
print("wrote", sorted(p.name for p in out.rglob("*")), flush=True)
if os.environ.get("FAIL"):
    print("about to fail", file=sys.stderr)
    raise ValueError(os.environ["FAIL"])
time.sleep(float(os.environ.get("SLEEP", "0")))
"""


def processing_request(name: str, prefix: str, environment: dict | None = None, max_runtime: int = 600) -> dict:
    """A CreateProcessingJob request shaped as the SageMaker SDK's ScriptProcessor sends it."""
    return {
        "ProcessingJobName": name,
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/{prefix}/code/job.py",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            },
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/{prefix}/data/",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/{prefix}/output",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
            "ContainerArguments": [
                "--in",
                "/opt/ml/processing/input/data",
                "--out",
                "/opt/ml/processing/output",
                "--message=/opt/ml/output/message",
            ],
        },
        "Environment": {"GREETING": "hello", **(environment or {})},
        "RoleArn": ROLE_ARN,
        "Tags": [{"Key": "sagedrop:stack", "Value": "test"}],
    }


def upload_job(s3, prefix: str) -> dict[str, float]:
    """The script and two CSVs (one in a subfolder); returns the expected sum per output file."""
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/code/job.py", Body=JOB_SCRIPT)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/a.csv", Body=b"1,x\n2.5,y\n")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/nested/b.csv", Body=b"10,z\n-3,w\n")
    return {"a.sum": 3.5, "nested/b.sum": 7.0}


def wait_for(sagemaker, name: str, timeout: float = 30) -> dict:
    return wait_until(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name),
        lambda job: job["ProcessingJobStatus"] in ENDED,
        timeout=timeout,
    )


def output_keys(s3, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/output/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def log_text(logs, name: str) -> str:
    streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/")["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=streams[0]["logStreamName"])["events"]
    return "\n".join(event["message"] for event in events)


# --- a job runs for real ------------------------------------------------------------------------


def test_a_script_reads_its_inputs_and_its_outputs_land_in_s3(sagemaker, s3, logs, state_dir):
    expected = upload_job(s3, "proc/ok")
    request = processing_request("proc-ok", "proc/ok")

    arn = sagemaker.create_processing_job(**request)["ProcessingJobArn"]
    job = wait_for(sagemaker, "proc-ok")

    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert arn == job["ProcessingJobArn"] == f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/proc-ok"
    for key in ("ProcessingInputs", "ProcessingOutputConfig", "AppSpecification", "Environment", "StoppingCondition"):
        assert job[key] == request[key]  # the request echoed, container paths untouched
    assert "Tags" not in job and "FailureReason" not in job
    assert job["CreationTime"] <= job["ProcessingStartTime"] <= job["ProcessingEndTime"] == job["LastModifiedTime"]
    assert job["ExitMessage"] == "processed 2 files"
    # every file of the output folder, at its path below it
    keys = output_keys(s3, "proc/ok")
    assert keys == sorted(f"proc/ok/output/{name}" for name in [*expected, "greeting.txt"])
    for name, total in expected.items():
        assert float(s3.get_object(Bucket=BUCKET, Key=f"proc/ok/output/{name}")["Body"].read()) == total
    assert s3.get_object(Bucket=BUCKET, Key="proc/ok/output/greeting.txt")["Body"].read() == b"hello"
    # stdout in the job's log stream, named as SageMaker names it
    stream = f"proc-ok/algo-1-{int(job['ProcessingStartTime'].timestamp())}"
    assert logs.describe_log_streams(logGroupName=LOG_GROUP)["logStreams"][0]["logStreamName"] == stream
    assert "wrote ['a.sum', 'b.sum', 'greeting.txt', 'nested']" in log_text(logs, "proc-ok")
    # the scratch folder was gone when the job was seen to end
    assert not any((state_dir / SCRATCH).iterdir())
    listed = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    assert [(row["ProcessingJobName"], row["ProcessingJobStatus"]) for row in listed] == [("proc-ok", "Completed")]


def test_a_failing_script_fails_the_job_with_the_end_of_its_stderr_and_uploads_nothing(sagemaker, s3, logs):
    upload_job(s3, "proc/fail")

    sagemaker.create_processing_job(**processing_request("proc-fail", "proc/fail", {"FAIL": "column 'age' is bad"}))
    job = wait_for(sagemaker, "proc-fail")

    assert job["ProcessingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith(ALGORITHM_ERROR)  # SageMaker's own words come first
    assert "Exit code 1" in reason
    assert reason.endswith("ValueError: column 'age' is bad")  # the traceback's last line, whole
    assert "about to fail" in reason
    assert job["ExitMessage"] == "processed 2 files"  # written before it failed
    assert job["ProcessingEndTime"] >= job["ProcessingStartTime"]
    assert output_keys(s3, "proc/fail") == []
    assert "ValueError: column 'age' is bad" in log_text(logs, "proc-fail")


def test_a_long_failure_keeps_the_last_lines_within_the_reason_limit(sagemaker, s3):
    script = b"import sys\nfor i in range(2000): print('noise line', i, file=sys.stderr)\nsys.exit('the real cause')\n"
    s3.put_object(Bucket=BUCKET, Key="proc/noisy/code/job.py", Body=script)
    request = processing_request("proc-noisy", "proc/noisy")
    request["ProcessingInputs"] = request["ProcessingInputs"][:1]

    sagemaker.create_processing_job(**request)
    job = wait_for(sagemaker, "proc-noisy")

    assert job["ProcessingJobStatus"] == "Failed"
    assert len(job["FailureReason"]) <= 1024
    assert job["FailureReason"].endswith("noise line 1999\nthe real cause")
    assert "\nnoise line" in job["FailureReason"]  # cut at a line's start, not inside one


def test_an_input_prefix_without_objects_fails_the_job_as_a_client_error(sagemaker, s3):
    s3.put_object(Bucket=BUCKET, Key="proc/empty/code/job.py", Body=JOB_SCRIPT)

    sagemaker.create_processing_job(**processing_request("proc-empty", "proc/empty"))
    job = wait_for(sagemaker, "proc-empty")

    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/proc/empty/data/"'
    )


# --- stops ------------------------------------------------------------------------------------


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def logged_pid(logs, name: str) -> int:
    line = next(line for line in log_text(logs, name).splitlines() if line.startswith("pid "))
    return int(line.split()[1])


def test_stopping_a_job_kills_its_process_and_uploads_nothing(sagemaker, s3, logs, tmp_path):
    upload_job(s3, "proc/stop")
    started = tmp_path / "started"
    request = processing_request("proc-stop", "proc/stop", {"SLEEP": "60", "STARTED": str(started)})
    sagemaker.create_processing_job(**request)
    wait_until(lambda: {"started": started.exists()}, lambda state: state["started"])

    sagemaker.stop_processing_job(ProcessingJobName="proc-stop")
    stopping = sagemaker.describe_processing_job(ProcessingJobName="proc-stop")
    job = wait_for(sagemaker, "proc-stop", timeout=15)

    assert stopping["ProcessingJobStatus"] in ("Stopping", "Stopped")
    assert job["ProcessingJobStatus"] == "Stopped"
    assert "FailureReason" not in job
    assert output_keys(s3, "proc/stop") == []  # the outputs it wrote are not uploaded
    assert process_gone(logged_pid(logs, "proc-stop"))
    with pytest.raises(ClientError) as again:
        sagemaker.stop_processing_job(ProcessingJobName="proc-stop")
    assert again.value.response["Error"]["Code"] == "ValidationException"
    assert "in status Stopped" in again.value.response["Error"]["Message"]


def test_exceeding_max_runtime_kills_the_process_and_the_job_is_stopped(sagemaker, s3, logs):
    upload_job(s3, "proc/slow")
    created = time.monotonic()

    sagemaker.create_processing_job(**processing_request("proc-slow", "proc/slow", {"SLEEP": "60"}, max_runtime=1))
    job = wait_for(sagemaker, "proc-slow", timeout=20)

    assert job["ProcessingJobStatus"] == "Stopped"
    assert "FailureReason" not in job
    assert time.monotonic() - created < 15
    assert output_keys(s3, "proc/slow") == []
    assert "MaxRuntimeInSeconds (1) exceeded" in log_text(logs, "proc-slow")
    assert process_gone(logged_pid(logs, "proc-slow"))


# --- the API's answers ------------------------------------------------------------------------


def test_a_second_job_of_the_same_name_is_resource_in_use(sagemaker, s3):
    upload_job(s3, "proc/dup")
    sagemaker.create_processing_job(**processing_request("proc-dup", "proc/dup"))

    with pytest.raises(ClientError) as duplicate:
        sagemaker.create_processing_job(**processing_request("proc-dup", "proc/dup"))

    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    assert isinstance(duplicate.value, sagemaker.exceptions.ResourceInUse)
    assert wait_for(sagemaker, "proc-dup")["ProcessingJobStatus"] == "Completed"


@pytest.mark.parametrize("call", ["describe_processing_job", "stop_processing_job"])
def test_an_unknown_job_is_a_validation_exception(sagemaker, call):
    with pytest.raises(ClientError) as missing:
        getattr(sagemaker, call)(ProcessingJobName="no-such-job")

    assert missing.value.response["Error"]["Code"] == "ValidationException"
    assert missing.value.response["Error"]["Message"] == "Could not find requested job with name no-such-job"


def _set(path: tuple, value):
    def change(request: dict) -> None:
        target = request
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(("ProcessingJobName",), "bad_name"), "Member must satisfy regular expression pattern"),
        (_set(("ProcessingInputs", 1, "S3Input", "LocalPath"), "/tmp/data"), "must be an absolute path under"),
        (_set(("ProcessingInputs", 1, "S3Input", "LocalPath"), "/opt/ml/processing/input/code"), "unique LocalPath"),
        (_set(("ProcessingInputs", 1, "InputName"), "code"), "unique InputName"),
        (_set(("ProcessingInputs", 1, "S3Input", "S3CompressionType"), "Gzip"), "only be used when S3InputMode"),
        (_set(("ProcessingOutputConfig", "Outputs", 0, "S3Output", "LocalPath"), "/opt/ml/output"), "absolute path"),
        (_set(("Environment",), {"not-a-name": "x"}), "Map keys must satisfy constraint"),
        (_set(("StoppingCondition", "MaxRuntimeInSeconds"), 777601), "between 1 and 777600"),
        (_set(("AppSpecification",), {"ImageUri": IMAGE}), "ContainerEntrypoint"),
    ],
)
def test_the_emulator_rejects_what_sagemaker_rejects_before_making_the_job(sagemaker, change, message):
    request = processing_request("proc-invalid", "proc/invalid")
    change(request)

    with pytest.raises(ClientError) as rejected:
        sagemaker.create_processing_job(**request)

    assert rejected.value.response["Error"]["Code"] == "ValidationException"
    assert message in rejected.value.response["Error"]["Message"]
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == []


def test_botocore_validates_the_request_shape_before_it_reaches_the_emulator(sagemaker):
    request = processing_request("proc-shape", "proc/shape")
    del request["ProcessingResources"]
    request["ProcessingInputs"][0]["S3Input"]["S3DataType"] = 7

    with pytest.raises(ParamValidationError) as invalid:
        sagemaker.create_processing_job(**request)

    assert "ProcessingResources" in str(invalid.value) and "S3DataType" in str(invalid.value)


def quick_request(name: str, exit_code: int) -> dict:
    return {
        "ProcessingJobName": name,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 1}
        },
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", "-c", "import sys; sys.exit(int(sys.argv[1]))"],
            "ContainerArguments": [str(exit_code)],
        },
        "RoleArn": ROLE_ARN,
    }


def test_list_filters_sorts_and_pages_as_boto3_reads_it(sagemaker):
    for name, code in (("list-alpha-1", 0), ("list-beta-1", 0), ("list-alpha-2", 3)):
        sagemaker.create_processing_job(**quick_request(name, code))
    for name in ("list-alpha-1", "list-beta-1", "list-alpha-2"):
        wait_for(sagemaker, name)

    def names(**params) -> list[str]:
        pages = sagemaker.get_paginator("list_processing_jobs").paginate(**params, PaginationConfig={"PageSize": 1})
        return [row["ProcessingJobName"] for page in pages for row in page["ProcessingJobSummaries"]]

    assert names() == ["list-alpha-2", "list-beta-1", "list-alpha-1"]  # newest first by default
    assert names(NameContains="ALPHA", SortBy="Name", SortOrder="Ascending") == ["list-alpha-1", "list-alpha-2"]
    assert names(StatusEquals="Failed") == ["list-alpha-2"]
    first = sagemaker.list_processing_jobs(MaxResults=2, SortBy="Name", SortOrder="Descending")
    assert [row["ProcessingJobName"] for row in first["ProcessingJobSummaries"]] == ["list-beta-1", "list-alpha-2"]
    rest = sagemaker.list_processing_jobs(
        MaxResults=2, SortBy="Name", SortOrder="Descending", NextToken=first["NextToken"]
    )
    assert [row["ProcessingJobName"] for row in rest["ProcessingJobSummaries"]] == ["list-alpha-1"]
    assert "NextToken" not in rest
    failed = next(row for row in first["ProcessingJobSummaries"] if row["ProcessingJobName"] == "list-alpha-2")
    assert failed["ProcessingJobStatus"] == "Failed" and "Exit code 3" in failed["FailureReason"]


# --- the emulator's own failures --------------------------------------------------------------


def test_a_crash_of_the_job_thread_fails_the_job_with_the_reason(monkeypatch, sagemaker, s3, state_dir):
    def no_space(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(processing_container, "prepare", no_space)
    upload_job(s3, "proc/crash")

    sagemaker.create_processing_job(**processing_request("proc-crash", "proc/crash"))
    job = wait_for(sagemaker, "proc-crash")

    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("InternalServerError")
    assert "No space left on device" in job["FailureReason"]
    assert job["ProcessingEndTime"] >= job["CreationTime"]
    assert not any((state_dir / SCRATCH).iterdir())


def test_create_processing_job_takes_injected_faults(session, s3, state_dir):
    emulator = LocalSageMaker(s3, state_dir, startup_seconds=0.05, faults="CreateProcessingJob:ThrottlingException")
    emulator.install(session)
    try:
        sagemaker = session.client("sagemaker", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        with pytest.raises(ClientError) as throttled:
            sagemaker.create_processing_job(**quick_request("proc-throttled", 0))
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"

        sagemaker.create_processing_job(**quick_request("proc-throttled", 0))
        assert wait_for(sagemaker, "proc-throttled")["ProcessingJobStatus"] == "Completed"
    finally:
        emulator.close()


def test_a_job_whose_instance_closes_is_failed_on_disk_and_for_the_next_process(session, s3, state_dir):
    first = LocalSageMaker(s3, state_dir, startup_seconds=30)  # never gets to run it
    first.install(session)
    session.client("sagemaker").create_processing_job(**quick_request("proc-closing", 0))
    first.close()

    assert (
        StateFile(state_dir / STATE_FILE).load()["processing_jobs"]["proc-closing"]["ProcessingJobStatus"] == "Failed"
    )
    second_session = new_session()
    second = LocalSageMaker(s3, state_dir)
    second.install(second_session)
    try:
        job = second_session.client("sagemaker").describe_processing_job(ProcessingJobName="proc-closing")
    finally:
        second.close()
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("InternalServerError")


def test_a_job_left_running_by_a_dead_process_is_failed_on_restart(s3, state_dir):
    # Given a state file in which a process that no longer exists was running a job
    state = StateFile(state_dir / STATE_FILE)
    state_dir.mkdir(parents=True, exist_ok=True)
    tables = state.load()
    record = quick_request("proc-orphan", 0)
    record.update(
        ProcessingJobArn="arn:aws:sagemaker:us-east-1:123456789012:processing-job/proc-orphan",
        ProcessingJobStatus="InProgress",
        CreationTime=datetime.now(UTC),
        _owner="999999999:gone",
    )
    tables["processing_jobs"] = {"proc-orphan": record}
    state.save(tables)
    (state_dir / SCRATCH / "proc-orphan-abc123").mkdir(parents=True)

    # When a new instance starts on that state directory
    LocalSageMaker(s3, state_dir).close()

    # Then the job is Failed with the reason and its scratch folder is gone
    job = StateFile(state_dir / STATE_FILE).load()["processing_jobs"]["proc-orphan"]
    assert job["ProcessingJobStatus"] == "Failed"
    assert "exited before it finished" in job["FailureReason"]
    assert not (state_dir / SCRATCH / "proc-orphan-abc123").exists()


@pytest.mark.parametrize(
    ("code", "status", "said"),
    [
        ("import numpy, pandas; print('pandas', pandas.__version__)", "Completed", None),
        ("import sagedrop", "Failed", "ModuleNotFoundError: No module named 'sagedrop'"),
    ],
)
def test_the_image_python_has_numpy_and_pandas_but_not_the_project(sagemaker, code, status, said):
    # The processing image does not have the project installed: code must ship what it imports.
    request = quick_request("proc-imports", 0)
    request["AppSpecification"].update(ContainerEntrypoint=["python3", "-u", "-c", code], ContainerArguments=["x"])

    sagemaker.create_processing_job(**request)
    job = wait_for(sagemaker, "proc-imports")

    assert job["ProcessingJobStatus"] == status, job.get("FailureReason")
    if said:
        assert job["FailureReason"].endswith(said)


def test_a_manifest_input_downloads_the_objects_it_lists_at_their_listed_paths(sagemaker, s3):
    expected = upload_job(s3, "proc/manifest")
    s3.put_object(Bucket=BUCKET, Key="proc/manifest/data/ignored.csv", Body=b"1000\n")  # not in the manifest
    manifest = [{"prefix": f"s3://{BUCKET}/proc/manifest/data/"}, "a.csv", "nested/b.csv"]
    s3.put_object(Bucket=BUCKET, Key="proc/manifest/inputs.manifest", Body=json.dumps(manifest).encode())
    request = processing_request("proc-manifest", "proc/manifest")
    request["ProcessingInputs"][1]["S3Input"].update(
        S3Uri=f"s3://{BUCKET}/proc/manifest/inputs.manifest", S3DataType="ManifestFile"
    )

    sagemaker.create_processing_job(**request)
    job = wait_for(sagemaker, "proc-manifest")

    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert output_keys(s3, "proc/manifest") == sorted(
        f"proc/manifest/output/{name}" for name in [*expected, "greeting.txt"]
    )
