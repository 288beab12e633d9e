"""Processing jobs on the local SageMaker: a real script over S3 inputs and outputs, failures, stops, listing.

The script runs in a child process with the /opt/ml paths of its arguments mapped into the job's
scratch folder, as the pipeline's processing step will run it.
"""

from __future__ import annotations

from sagedrop.image_uris import SKLEARN, image_uri
from sagedrop_local.sagemaker.processing_jobs import LOG_GROUP, SCRATCH

from .conftest import BUCKET, REGION, ROLE_ARN, wait_until

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
