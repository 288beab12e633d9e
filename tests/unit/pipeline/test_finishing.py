"""The end of a run: hosting torn down (unless kept), run.json written, a notification published.

S3 and SNS (read back through an SQS subscription) are moto; SageMaker is moto where real hosting
resources must disappear, and a recording fake where a running job or a failing call is needed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.stepfunctions import Executions
from sagedrop.names import endpoint_config_name, endpoint_name, model_name
from sagedrop.pipeline.finishing import finish_run, handle_failure
from sagedrop.pipeline.state import FailureInput, FinishInput, parse_state

from .conftest import BUCKET, REGION, ROLE_ARN, RUN_ID, TOPIC_NAME, make_config, make_state

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAMES = {
    "model_name": model_name(RUN_ID),
    "endpoint_config_name": endpoint_config_name(RUN_ID),
    "endpoint_name": endpoint_name(RUN_ID),
}
HISTORY = [
    {"type": "ExecutionStarted", "timestamp": T0},
    {"type": "PassStateEntered", "timestamp": T0, "stateEnteredEventDetails": {"name": "Start the run"}},
    {
        "type": "PassStateExited",
        "timestamp": T0 + timedelta(seconds=1),
        "stateExitedEventDetails": {"name": "Start the run"},
    },
    {
        "type": "TaskStateEntered",
        "timestamp": T0 + timedelta(seconds=2),
        "stateEnteredEventDetails": {"name": "Finish the run"},
    },
]


class FakeExecutions:
    def __init__(self, history=None, error: Exception | None = None):
        self._history, self._error = history, error

    def history(self, execution_arn: str) -> list[dict]:
        if self._error:
            raise self._error
        return list(self._history or [])


class World:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.bucket = DataBucket(self.s3, BUCKET)
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"}
        )
        self.notifier = Notifier(sns, topic_arn)
        self.sagemaker_client = boto3.client("sagemaker", region_name=REGION)
        self.sagemaker = SageMakerGateway(self.sagemaker_client)

    def host(self) -> None:
        """The model, config and endpoint a deploy step would have created."""
        self.sagemaker_client.create_model(
            ModelName=NAMES["model_name"], ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": IMAGE}
        )
        self.sagemaker_client.create_endpoint_config(
            EndpointConfigName=NAMES["endpoint_config_name"],
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": NAMES["model_name"],
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        self.sagemaker_client.create_endpoint(
            EndpointName=NAMES["endpoint_name"], EndpointConfigName=NAMES["endpoint_config_name"]
        )

    def hosting(self) -> set[str]:
        sm = self.sagemaker_client
        return (
            {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}
            | {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
            | {m["ModelName"] for m in sm.list_models()["Models"]}
        )

    def run_json(self) -> dict:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/run.json")["Body"].read())

    def notifications(self) -> list[dict]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def world():
    with mock_aws():
        yield World()


def finished_state(*, keep_endpoint: bool = False) -> dict:
    return make_state(
        config=make_config(keep_endpoint=keep_endpoint),
        training={
            "job_name": "job-1",
            "status": "Completed",
            "polls": 3,
            "model_artifact": "s3://b/m.tar.gz",
        },
        endpoint={**NAMES, "status": "InService", "polls": 5},
        evaluation={
            "evaluation_key": f"runs/{RUN_ID}/evaluation.json",
            "report_key": f"runs/{RUN_ID}/report.html",
            "headline": {"auc": 0.93, "f1": 0.61},
        },
    )


# --- finish_run ---------------------------------------------------------------------------------


def test_finish_run_deletes_hosting_writes_run_json_and_notifies(world):
    # Given a run whose endpoint is up
    world.host()

    # When the run finishes
    result = finish_run(
        parse_state(finished_state(), FinishInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(HISTORY),
    ).as_dict()

    # Then endpoint, config and model are gone, and the record and the message say so
    assert world.hosting() == set()
    assert set(result["deleted"]) == set(NAMES.values())
    assert result == {
        "run_key": f"runs/{RUN_ID}/run.json",
        "deleted": result["deleted"],
        "status": "SUCCEEDED",
    }
    record = world.run_json()
    assert record["status"] == "SUCCEEDED"
    assert set(record["resources"]["deleted"]) == set(NAMES.values())
    assert record["resources"]["endpoint"] == NAMES["endpoint_name"]
    assert [s["state"] for s in record["steps"]] == ["Start the run", "Finish the run"]
    assert record["evaluation"]["headline"] == {"auc": 0.93, "f1": 0.61}
    (message,) = world.notifications()
    assert "succeeded" in message["Subject"] and RUN_ID in message["Subject"]
    assert "auc: 0.93" in message["Message"]
    assert message["MessageAttributes"]["status"]["Value"] == "SUCCEEDED"


def test_finish_run_keeps_the_endpoint_when_the_run_asks(world):
    world.host()

    result = finish_run(
        parse_state(finished_state(keep_endpoint=True), FinishInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(HISTORY),
    ).as_dict()

    assert world.hosting() == set(NAMES.values())
    assert result["deleted"] == []
    assert world.run_json()["resources"]["deleted"] == []
    (message,) = world.notifications()
    assert NAMES["endpoint_name"] in message["Message"] and "still up" in message["Message"]


def test_finish_run_writes_the_record_even_without_a_history(world):
    world.host()

    finish_run(
        parse_state(finished_state(), FinishInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(error=RuntimeError("AccessDenied")),
    )

    record = world.run_json()
    assert record["status"] == "SUCCEEDED" and record["steps"] is None


def test_finish_run_reads_the_history_of_the_real_execution(world):
    # Given the execution that carries the run (moto Step Functions)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="p",
        roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=machine, name=RUN_ID, input="{}")["executionArn"]
    state = {**finished_state(), "execution_arn": execution_arn}

    finish_run(
        parse_state(state, FinishInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=Executions(sfn),
    )

    record = world.run_json()
    assert record["execution_arn"] == execution_arn
    assert record["history_events"] == len(sfn.get_execution_history(executionArn=execution_arn)["events"])


# --- handle_failure -----------------------------------------------------------------------------


class FakeSageMaker:
    """Records what the failure handler asked for; can be told to fail one call.

    ``tagged`` are the names of the InProgress jobs carrying the run's tag.
    """

    def __init__(self, *, running: bool = True, fail: str | None = None, tagged: tuple[str, ...] = ()):
        self.running, self.fail, self.tagged = running, fail, tagged
        self.calls: list[tuple] = []

    def training_jobs_in_progress(self, tags: dict, at_most: int | None = None) -> list[str]:
        self.calls.append(("list", dict(tags)))
        if self.fail == "list":
            raise RuntimeError("list went wrong")
        return list(self.tagged)

    def stop_training_job_if_running(self, name: str) -> bool:
        self.calls.append(("stop", name))
        if self.fail == "stop":
            raise RuntimeError("stop went wrong")
        return self.running

    def delete_hosting(self, endpoint: str, endpoint_config: str, model: str) -> list[str]:
        self.calls.append(("delete", endpoint, endpoint_config, model))
        if self.fail == "delete":
            raise RuntimeError("delete went wrong")
        return [endpoint, endpoint_config, model]


class BrokenNotifier:
    def publish(self, *args, **kwargs):
        raise RuntimeError("SNS is down")


LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "training job job-1 ended Failed: AlgorithmError: bad label",
        "errorType": "TrainingFailed",
        "requestId": "r",
        "stackTrace": ["..."],
    }
)


def failed_state(**extra) -> dict:
    return make_state(
        training={"job_name": "job-1", "status": "InProgress", "polls": 1},
        failure={"Error": "TrainingFailed", "Cause": LAMBDA_CAUSE},
        **extra,
    )


def test_handle_failure_stops_training_deletes_hosting_records_and_notifies(world):
    sagemaker = FakeSageMaker()

    result = handle_failure(
        parse_state(failed_state(), FailureInput),
        sagemaker=sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(HISTORY),
    ).as_dict()

    assert sagemaker.calls == [
        ("list", {"sagedrop:run-id": RUN_ID}),
        ("stop", "job-1"),
        ("delete", NAMES["endpoint_name"], NAMES["endpoint_config_name"], NAMES["model_name"]),
    ]
    expected_error = {
        "error": "TrainingFailed",
        "message": "training job job-1 ended Failed: AlgorithmError: bad label",
    }
    assert result == {
        "run_key": f"runs/{RUN_ID}/run.json",
        "deleted": list(NAMES[k] for k in ("endpoint_name", "endpoint_config_name", "model_name")),
        "error": expected_error,
        "problems": [],
    }
    record = world.run_json()
    assert record["status"] == "FAILED"
    assert record["error"] == expected_error
    assert record["cleanup_problems"] == []
    assert record["recorded_by"] == "state machine"
    (message,) = world.notifications()
    assert "failed" in message["Subject"]
    assert "AlgorithmError: bad label" in message["Message"]
    assert "incoming/bank/bank-full.csv" in message["Message"]
    assert message["MessageAttributes"]["status"]["Value"] == "FAILED"


def test_handle_failure_with_real_hosting_removes_it(world):
    world.host()

    result = handle_failure(
        parse_state(make_state(failure={"Error": "EndpointFailed", "Cause": "capacity"}), FailureInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    ).as_dict()

    assert world.hosting() == set()
    assert result["problems"] == []


def test_handle_failure_before_anything_was_created_is_quiet(world):
    # Failed in preprocessing: no training job, no hosting; deleting what does not exist is not a problem
    state = make_state(failure={"Error": "InvalidCsvError", "Cause": "incoming/a.csv: empty file"})
    del state["prepared"]

    result = handle_failure(
        parse_state(state, FailureInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    ).as_dict()

    assert result["problems"] == [] and result["deleted"] == []
    assert result["error"] == {"error": "InvalidCsvError", "message": "incoming/a.csv: empty file"}
    assert world.run_json()["error"]["message"] == "incoming/a.csv: empty file"


def test_handle_failure_keeps_a_kept_endpoint(world):
    sagemaker = FakeSageMaker()
    state = failed_state()
    state["prepared"]["config"]["keep_endpoint"] = True

    result = handle_failure(
        parse_state(state, FailureInput),
        sagemaker=sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    ).as_dict()

    assert [c[0] for c in sagemaker.calls] == ["list", "stop"]
    assert result["deleted"] == []


def test_a_failing_publish_does_not_stop_the_cleanup(world):
    sagemaker = FakeSageMaker()

    result = handle_failure(
        parse_state(failed_state(), FailureInput),
        sagemaker=sagemaker,
        bucket=world.bucket,
        notifier=BrokenNotifier(),
        executions=FakeExecutions(),
    ).as_dict()

    # The other actions still happened ...
    assert [c[0] for c in sagemaker.calls] == ["list", "stop", "delete"]
    assert world.run_json()["status"] == "FAILED"
    assert len(result["deleted"]) == 3
    # ... and the problem is reported, in run.json too (no notification will say it)
    assert len(result["problems"]) == 1
    assert "publish" in result["problems"][0] and "SNS is down" in result["problems"][0]
    assert world.run_json()["cleanup_problems"] == result["problems"]


@pytest.mark.parametrize("failing", ["list", "stop", "delete"])
def test_a_failing_sagemaker_call_is_recorded_and_the_rest_still_happens(world, failing):
    sagemaker = FakeSageMaker(fail=failing)

    result = handle_failure(
        parse_state(failed_state(), FailureInput),
        sagemaker=sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    ).as_dict()

    assert [c[0] for c in sagemaker.calls] == ["list", "stop", "delete"]
    assert len(result["problems"]) == 1 and f"{failing} went wrong" in result["problems"][0]
    record = world.run_json()
    assert record["cleanup_problems"] == result["problems"]
    assert len(world.notifications()) == 1


def test_a_job_the_state_never_named_is_found_by_the_run_tag_and_stopped(world):
    # Start training died after CreateTrainingJob (a Lambda timeout): the state has no training
    # section, yet the job runs and bills.
    sagemaker = FakeSageMaker(tagged=("orphan-job",))
    state = make_state(failure={"Error": "Sandbox.Timedout", "Cause": "Task timed out after 60.00 seconds"})

    handle_failure(
        parse_state(state, FailureInput),
        sagemaker=sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    )

    assert ("stop", "orphan-job") in sagemaker.calls


def test_the_named_job_is_stopped_once_even_when_its_tag_finds_it_too(world):
    sagemaker = FakeSageMaker(tagged=("job-1", "job-2"))

    handle_failure(
        parse_state(failed_state(), FailureInput),
        sagemaker=sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    )

    assert [call for call in sagemaker.calls if call[0] == "stop"] == [("stop", "job-1"), ("stop", "job-2")]


def test_a_failing_run_json_write_still_notifies(world):
    sagemaker = FakeSageMaker()
    broken_bucket = DataBucket(world.s3, "no-such-bucket")

    result = handle_failure(
        parse_state(failed_state(), FailureInput),
        sagemaker=sagemaker,
        bucket=broken_bucket,
        notifier=world.notifier,
        executions=FakeExecutions(),
    ).as_dict()

    assert any("run.json" in p for p in result["problems"])
    assert len(world.notifications()) == 1


def test_stop_training_job_if_running_only_stops_a_running_job(stubbed):
    stubbed.stubber.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "job-1",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/job-1",
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Training",
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": IMAGE},
            "ModelArtifacts": {"S3ModelArtifacts": ""},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "CreationTime": T0,
        },
    )
    stubbed.stubber.add_response("stop_training_job", {}, {"TrainingJobName": "job-1"})
    stubbed.stubber.add_client_error(
        "describe_training_job",
        service_error_code="ValidationException",
        service_message="Requested resource not found.",
    )
    gateway = SageMakerGateway(stubbed.client)

    assert gateway.stop_training_job_if_running("job-1") is True
    assert gateway.stop_training_job_if_running("never-created") is False


def test_finish_run_prices_the_run_and_renders_the_report_again_with_timings_and_cost(world):
    # Given a run whose evaluation wrote its metrics and the report's data
    world.host()
    evaluation = {
        "run_id": RUN_ID,
        "problem_type": "binary_classification",
        "label": "y",
        "rows": 2,
        "metrics": {"accuracy": 0.5, "precision": 0.5, "recall": 1.0, "f1": 0.6667, "roc_auc": 0.5},
        "baseline": {"accuracy": 0.5},
        "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[0, 1], [0, 1]]},
    }
    world.bucket.write_json(f"runs/{RUN_ID}/evaluation.json", evaluation)
    world.bucket.write_json(f"runs/{RUN_ID}/report_data.json", {"run": {"run_id": RUN_ID}, "chart_data": None})

    finish_run(
        parse_state(finished_state(), FinishInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(HISTORY),
        lambda_memory_mb={"Finish the run": 512},
    )

    # Then run.json carries the estimate and the page shows it with the per-step timings
    record = world.run_json()
    cost = record["estimated_cost_usd"]
    assert cost["total_usd"] > 0 and "report_problem" not in record
    assert any(item["what"].startswith("Step Functions") for item in cost["items"])
    page = world.s3.get_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/report.html")["Body"].read().decode()
    assert "Estimated cost of the run" in page
    assert 'data-section="cost"' in page
    assert "Finish the run" in page  # a row of the timings table


def test_finish_run_still_succeeds_when_the_report_cannot_be_rendered_again(world):
    world.host()  # no evaluation.json: nothing to render from
    finish_run(
        parse_state(finished_state(), FinishInput),
        sagemaker=world.sagemaker,
        bucket=world.bucket,
        notifier=world.notifier,
        executions=FakeExecutions(HISTORY),
    )
    record = world.run_json()
    assert record["status"] == "SUCCEEDED"
    assert "not rendered again" in record["report_problem"]
    assert "estimated_cost_usd" in record
