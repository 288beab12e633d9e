"""The scoring handlers and the starter's scoring route, imported as Lambda imports them, on moto."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.constants import ACCOUNT, BUCKET, REGION
from tests.unit.handlers.conftest import ENVIRONMENT, emf_metrics
from tests.unit.pipeline.conftest import load_event

from .conftest import RUN_ID, World, make_run_record, make_schema, make_scoring_state

SCORING_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:sagedrop-test-scoring"
PASS = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})


@pytest.fixture
def machines(aws, environment):
    environment.setenv("SCORING_STATE_MACHINE_ARN", SCORING_ARN)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for name in ("sagedrop-test-pipeline", "sagedrop-test-scoring"):
        sfn.create_state_machine(name=name, definition=PASS, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")
    return sfn


def test_the_starter_starts_a_scoring_once_and_counts_it(load_handler, machines, lambda_context, capsys):
    app = load_handler("start_pipeline")
    event = load_event("object_created_score.json")

    first = app.lambda_handler(event, lambda_context)
    first_metrics = emf_metrics(capsys.readouterr().out)
    second = app.lambda_handler(event, lambda_context)

    assert set(first) == {"run_id", "execution_arn", "started", "reason", "scoring_id"}
    assert first["started"] and not second["started"]
    assert first_metrics == {"ScoringsStarted": 1.0}
    assert emf_metrics(capsys.readouterr().out) == {"DuplicateDeliveries": 1.0}
    [execution] = machines.list_executions(stateMachineArn=SCORING_ARN)["executions"]
    assert execution["name"] == first["scoring_id"]


def test_a_starter_deployed_without_scoring_fails_on_a_score_upload_not_silently(
    load_handler, aws, environment, lambda_context
):
    from sagedrop.errors import InvalidConfigError

    environment.delenv("SCORING_STATE_MACHINE_ARN", raising=False)
    app = load_handler("start_pipeline")  # the pipeline's uploads still start runs

    with pytest.raises(InvalidConfigError, match="SCORING_STATE_MACHINE_ARN"):
        app.lambda_handler(load_event("object_created_score.json"), lambda_context)


def test_check_and_stage_hand_each_other_what_they_document(load_handler, aws, lambda_context):
    world = World.__new__(World)  # the bucket only: the handlers build their own clients
    world.s3 = boto3.client("s3", region_name=REGION)
    world.s3.create_bucket(Bucket=BUCKET)
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for name, document in (("run.json", make_run_record()), ("schema.json", make_schema())):
        world.s3.put_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/{name}", Body=json.dumps(document).encode())
    from sagedrop.aws.s3 import DataBucket

    world.bucket = DataBucket(world.s3, BUCKET)
    state = World.drop(world, "job,age,balance,y\nadmin.,58,2143,no\n")

    state["validated"] = load_handler("validate_scoring").lambda_handler(state, lambda_context)
    state["staged"] = load_handler("stage_scoring_input").lambda_handler(state, lambda_context)

    assert state["validated"]["columns"] == 4 and state["validated"]["run_id"] == RUN_ID
    assert state["staged"]["rows"] == 1
    staged = world.s3.get_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/scoring/customers/input/customers.jsonl")
    assert staged["Body"].read() == b'{"instances":[{"age":"58","job":"admin.","balance":"2143"}]}\n'


def test_the_failure_handler_records_an_unknown_run(load_handler, aws, lambda_context):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name=ENVIRONMENT["NOTIFICATION_TOPIC_ARN"].rsplit(":", 1)[1])

    state = make_scoring_state(failure={"Error": "RunNotFoundError", "Cause": "there is no run"})

    result = load_handler("handle_scoring_failure").lambda_handler(state, lambda_context)

    assert result["error"] == {"error": "RunNotFoundError", "message": "there is no run"}
    assert result["problems"] == [] and result["status_key"] == f"runs/{RUN_ID}/scoring/customers/status.json"
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=result["status_key"])["Body"].read())["status"] == "FAILED"


# --- record_abandoned_scoring (the scoring's backstop; an EventBridge target, not a state) ---------
def test_the_scoring_backstop_records_an_aborted_scoring_once(load_handler, machines, lambda_context, capsys):
    # Given a scoring execution stopped from the console (no failure path ran)
    world = World()
    starter_input = {key: value for key, value in make_scoring_state().items() if key != "execution_arn"}
    execution_arn = machines.start_execution(
        stateMachineArn=SCORING_ARN, name=starter_input["scoring_id"], input=json.dumps(starter_input)
    )["executionArn"]
    machines.stop_execution(executionArn=execution_arn)
    event = load_event("scoring_execution_timed_out.json")
    event["resources"] = [execution_arn]
    event["detail"].update(
        executionArn=execution_arn, stateMachineArn=SCORING_ARN, status="ABORTED", input=json.dumps(starter_input)
    )
    app = load_handler("record_abandoned_scoring")

    # When EventBridge delivers its status change, twice (at least once delivery)
    first = app.lambda_handler(event, lambda_context)
    first_metrics = emf_metrics(capsys.readouterr().out)
    second = app.lambda_handler(event, lambda_context)

    # Then the first records it and says what it did, the second does nothing
    assert set(first) == {
        "execution_arn",
        "status",
        "recorded",
        "reason",
        "scoring_id",
        "status_key",
        "error",
        "stopped",
        "deleted",
        "problems",
    }
    assert (first["recorded"], first["status"]) == (True, "ABORTED")
    assert first["error"] == {"error": "ExecutionAborted", "message": "the execution ended ABORTED"}
    assert first_metrics == {"AbandonedScoringsRecorded": 1.0}
    assert second["recorded"] is False
    status = json.loads(world.read(first["status_key"]))
    assert (status["status"], status["recorded_by"], status["execution_arn"]) == ("FAILED", "backstop", execution_arn)
    [message] = world.messages()
    assert "the execution ended ABORTED" in message["message"] and message["attributes"]["workflow"] == "scoring"


def test_the_scoring_backstop_rejects_other_events(load_handler, aws, lambda_context):
    from sagedrop.errors import InvalidEventError

    app = load_handler("record_abandoned_scoring")

    with pytest.raises(InvalidEventError, match="Step Functions Execution Status Change"):
        app.lambda_handler(load_event("object_created_score.json"), lambda_context)
