"""`sagedrop local up` as a user's own tools see it: a subprocess on a free port, driven over HTTP.

boto3 clients created with ``endpoint_url`` (as a notebook would), the AWS CLI when it is installed,
and ``sagedrop local run`` finding the running server; SIGINT stops it cleanly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from sagedrop.pipeline.preparing import raw_test_key
from tests.integration.conftest import ROOT

# One server per module: with `pytest -n … --dist loadgroup` these tests share a worker.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("local_up")]

BANK_LABELS = {"no", "yes"}  # the bank marketing label's values, as the endpoint answers them
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
STARTUP_SECONDS = 120
RUN_SECONDS = 300


class LocalUp:
    """A `sagedrop local up` subprocess, with its console lines collected as they come."""

    def __init__(self, state_dir: Path, *, own_process_group: bool = False) -> None:
        self.state_dir = state_dir
        self.own_process_group = own_process_group
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sagedrop_local.cli", "local", "up", "--port", "0", "--state-dir", str(state_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=own_process_group,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.console: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.outputs: dict[str, str] = {}
        try:
            self.url = self._wait_until_serving()
        except BaseException:
            self.process.kill()
            raise

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        self.console.append(line)
        return line

    def _wait_until_serving(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        url = None
        while time.monotonic() < deadline:
            try:
                line = self.next_line(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise AssertionError(f"local up exited: {self.process.stderr.read()}") from None
                continue
            if match := re.fullmatch(r"(\w+)=(\S+)", line):
                self.outputs[match.group(1)] = match.group(2)
            if match := re.search(r"at (http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
            if line == "Ctrl-C stops.":
                return url
        raise AssertionError(f"local up did not start within {STARTUP_SECONDS} s: {self.console}")

    def client(self, service: str):
        return boto3.session.Session(**CREDENTIALS).client(service, endpoint_url=self.url)

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None and self.own_process_group:
            os.killpg(self.process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
        elif self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, self.process.stderr.read()


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    local_up = LocalUp(tmp_path_factory.mktemp("local-up"))
    yield local_up
    local_up.stop()


def _wait_for_execution(sfn, machine_arn: str, name_prefix: str) -> dict:
    """The first execution whose name starts with ``name_prefix``, once it has ended."""
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=machine_arn)["executions"]:
            if execution["name"].startswith(name_prefix):
                description = sfn.describe_execution(executionArn=execution["executionArn"])
                if description["status"] != "RUNNING":
                    return description
        time.sleep(0.2)
    raise AssertionError(f"no finished execution named {name_prefix}* within {RUN_SECONDS} s")


def _raw_rows(s3, bucket: str, run_id: str, count: int) -> tuple[bytes, int]:
    """The header and first rows of the run's raw test split: what a caller sends the endpoint."""
    lines = s3.get_object(Bucket=bucket, Key=raw_test_key(run_id))["Body"].read().decode().splitlines()
    return ("\n".join(lines[: count + 1]) + "\n").encode(), min(count, len(lines) - 1)


def _answers(body: bytes) -> list[tuple[str, float]]:
    """The endpoint's CSV answer: one ``label,probability`` line per row."""
    return [(label, float(probability)) for label, probability in csv.reader(io.StringIO(body.decode())) if label]


def _assert_answers_rows(body: bytes, rows: int, labels: set[str]) -> None:
    answers = _answers(body)
    assert len(answers) == rows, body
    assert {label for label, _ in answers} <= labels
    assert all(0.0 <= probability <= 1.0 for _, probability in answers)


def test_the_banner_prints_the_stack_outputs(server):
    assert server.url and _listening(server.url)
    assert server.outputs["DataBucketName"]
    assert server.outputs["PipelineStateMachineArn"].startswith("arn:aws:states:us-east-1:")
    assert server.outputs["RunNotificationTopicArn"].startswith("arn:aws:sns:us-east-1:")


def test_every_printed_output_names_a_resource_that_exists(server):
    s3, sqs = server.client("s3"), server.client("sqs")
    server.client("sns").get_topic_attributes(TopicArn=server.outputs["RunNotificationTopicArn"])
    server.client("stepfunctions").describe_state_machine(stateMachineArn=server.outputs["PipelineStateMachineArn"])
    for name, value in server.outputs.items():
        if name.endswith("BucketName"):
            s3.head_bucket(Bucket=value)
        elif name.endswith("QueueUrl"):
            sqs.get_queue_url(QueueName=value.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def kept_run(server, bank_sample):
    """A run uploaded with boto3 into a folder whose sagedrop.json keeps the endpoint: its final state."""
    s3, sfn = server.client("s3"), server.client("stepfunctions")
    bucket, machine = server.outputs["DataBucketName"], server.outputs["PipelineStateMachineArn"]
    s3.put_object(Bucket=bucket, Key="incoming/kept/sagedrop.json", Body=json.dumps({"keep_endpoint": True}))
    s3.put_object(Bucket=bucket, Key="incoming/kept/bank.csv", Body=bank_sample)
    return _wait_for_execution(sfn, machine, "bank-")


def test_an_upload_with_boto3_runs_the_pipeline_and_the_kept_endpoint_answers(server, kept_run):
    s3, sagemaker = server.client("s3"), server.client("sagemaker")
    bucket = server.outputs["DataBucketName"]

    # The EventBridge rule started a run, which succeeded
    assert kept_run["status"] == "SUCCEEDED", kept_run.get("cause")
    run_id = kept_run["name"]
    record = json.loads(s3.get_object(Bucket=bucket, Key=f"runs/{run_id}/run.json")["Body"].read())
    assert record["status"] == "SUCCEEDED"

    # And its endpoint is listed, in service, and scores the run's test rows
    endpoint = record["resources"]["endpoint"]
    listed = {e["EndpointName"]: e["EndpointStatus"] for e in sagemaker.list_endpoints()["Endpoints"]}
    assert listed.get(endpoint) == "InService"
    body, rows = _raw_rows(s3, bucket, run_id, 25)
    response = server.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body
    )
    _assert_answers_rows(response["Body"].read(), rows, BANK_LABELS)
    assert response["ContentType"] == "text/csv" and response["InvokedProductionVariant"]


# The SageMaker SDK (v3: sagemaker-core) lives in its own venv (make test builds it): it pins its own botocore.
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"
SDK_SCRIPT = """
import sys
import boto3
from sagemaker.core.resources import Endpoint

endpoint = Endpoint.get(sys.argv[1], session=boto3.Session(region_name="us-east-1"), region="us-east-1")
response = endpoint.invoke(body=sys.stdin.buffer.read(), content_type="text/csv", accept="text/csv")
body = response.body.read() if hasattr(response.body, "read") else response.body
sys.stdout.write(endpoint.endpoint_status + "\\n" + (body.decode() if isinstance(body, bytes) else body))
"""


@pytest.mark.skipif(not SDK_PYTHON.exists(), reason="no .venv-sdk with the SageMaker SDK (make test creates it)")
def test_the_sagemaker_sdk_pointed_at_the_local_url_invokes_the_kept_endpoint(server, kept_run):
    s3 = server.client("s3")
    record = json.loads(
        s3.get_object(Bucket=server.outputs["DataBucketName"], Key=f"runs/{kept_run['name']}/run.json")["Body"].read()
    )
    body, rows = _raw_rows(s3, server.outputs["DataBucketName"], kept_run["name"], 10)
    env = {**os.environ, "AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing"}
    env.update(AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = subprocess.run(
        [str(SDK_PYTHON), "-c", SDK_SCRIPT, record["resources"]["endpoint"]],
        input=body,
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    status, _, predictions = result.stdout.decode().partition("\n")
    assert status == "InService"
    _assert_answers_rows(predictions.encode(), rows, BANK_LABELS)


def test_sagemaker_errors_reach_the_client_with_their_codes(server):
    sagemaker, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    with pytest.raises(sagemaker.exceptions.ClientError) as described:
        sagemaker.describe_endpoint(EndpointName="no-such-endpoint")
    assert described.value.response["Error"]["Code"] == "ValidationException"
    assert described.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(runtime.exceptions.ValidationError):
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"1,2\n")


def test_the_cleanup_function_answers_lambda_invoke(server):
    response = server.client("lambda").invoke(
        FunctionName=f"{server.outputs['DataBucketName'].rsplit('-', 1)[0]}-cleanupendpointsfunction",
        Payload=json.dumps({"dry_run": True}).encode(),
    )
    summary = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, summary
    assert summary["dry_run"] is True and summary["report"].startswith("s3://")


def test_local_run_uses_the_running_server(server, bank_sample, tmp_path):
    csv = tmp_path / "viacli.csv"
    csv.write_bytes(bank_sample)
    result = subprocess.run(
        [sys.executable, "-m", "sagedrop_local.cli", "local", "run", str(csv), "--out", str(tmp_path / "out")]
        + ["--state-dir", str(server.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"using the running local up at {server.url}" in result.stdout
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["status"] == "SUCCEEDED" and record["notifications"], record


def test_local_cleanup_uses_the_running_server_and_a_dry_run_keeps_the_endpoint(server, kept_run, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sagedrop_local.cli", "local", "cleanup", "--dry-run", "--out", str(tmp_path)]
        + ["--state-dir", str(server.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DRY RUN" in result.stdout and "using the running local up" in result.stdout
    report = json.loads((tmp_path / "cleanup-report.json").read_text())
    assert report["dry_run"] is True
    endpoints = server.client("sagemaker").list_endpoints()["Endpoints"]
    assert any(endpoint["EndpointName"].startswith(kept_run["name"]) for endpoint in endpoints)


# The AWS CLI pins its own botocore: a project venv of its own (.venv-awscli) or the machine's `aws`.
AWS_CLI = next((str(path) for path in [ROOT / ".venv-awscli" / "bin" / "aws"] if path.exists()), shutil.which("aws"))


@pytest.mark.skipif(not AWS_CLI, reason="the AWS CLI is not installed (neither .venv-awscli/bin/aws nor aws on PATH)")
def test_the_aws_cli_uploads_and_sees_the_run(server, bank_sample, tmp_path):
    csv = tmp_path / "awscli.csv"
    csv.write_bytes(bank_sample)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }

    def aws(*arguments: str) -> str:
        command = [AWS_CLI, "--endpoint-url", server.url, "--output", "json", *arguments]
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, f"{' '.join(arguments)}: {result.stderr}"
        return result.stdout

    bucket, machine = server.outputs["DataBucketName"], server.outputs["PipelineStateMachineArn"]
    aws("s3", "cp", str(csv), f"s3://{bucket}/incoming/awscli/awscli.csv")
    final = _wait_for_execution(server.client("stepfunctions"), machine, "awscli-")
    assert final["status"] == "SUCCEEDED", final.get("cause")
    listed = json.loads(aws("stepfunctions", "list-executions", "--state-machine-arn", machine))["executions"]
    assert final["executionArn"] in {execution["executionArn"] for execution in listed}
    assert "Endpoints" in json.loads(aws("sagemaker", "list-endpoints"))


def test_a_port_in_use_is_named_at_once(server, tmp_path):
    port = server.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "sagedrop_local.cli", "local", "up", "--port", port, "--state-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is in use" in result.stdout and "Traceback" not in result.stderr


def test_ctrl_c_stops_local_up_cleanly_and_leaves_no_listener(tmp_path):
    local_up = LocalUp(tmp_path / "state", own_process_group=True)
    announced = tmp_path / "state" / "local-up.json"
    try:
        assert announced.exists() and _listening(local_up.url)
    finally:
        returncode, stderr = local_up.stop()

    assert returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert not _listening(local_up.url)
    assert not announced.exists()
