"""Each handler, imported as Lambda imports it, invoked with its documented input on moto.

Checks the output shape the next state reads and the EMF metrics the handler adds.
"""

from __future__ import annotations

import json

import boto3
import pytest

from sagedrop.errors import InvalidEventError
from sagedrop.inference.decoder import Decoder
from sagedrop.inference.featurizer import Featurizer
from sagedrop.inference.packaging import read_model_tarball
from sagedrop.inference.serving import Model, handle
from sagedrop.names import endpoint_name
from sagedrop.pipeline.state import Training
from tests.unit.pipeline.conftest import BUCKET, REGION, ROLE_ARN, TOPIC_NAME, load_event

from .conftest import ENVIRONMENT, emf_metrics

SOURCE_KEY = "incoming/demo/demo.csv"


def demo_csv(rows: int = 80) -> bytes:
    lines = ["x1,x2,x3,y"]
    for i in range(rows):
        label = i % 2
        lines.append(f"{i % 7 + label * 3},{(i * 13) % 11},{i / 10:.1f},{label}")
    return ("\n".join(lines) + "\n").encode()


def make_world() -> dict:
    """Bucket with one upload, topic with an SQS subscriber, the state machine the starter targets."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=SOURCE_KEY, Body=demo_csv())
    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    assert topic_arn == ENVIRONMENT["NOTIFICATION_TOPIC_ARN"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="n")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return {"s3": s3, "sqs": sqs, "queue_url": queue_url}


@pytest.fixture
def world(aws):
    return make_world()


@pytest.fixture
def state_machine(aws):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="sagedrop-test-pipeline",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    assert arn == ENVIRONMENT["STATE_MACHINE_ARN"]
    return sfn


def initial_state(sfn=None) -> dict:
    return {
        "run_id": "demo-0123456789abcdef",
        "source": {"bucket": BUCKET, "key": SOURCE_KEY, "version_id": None, "etag": "e", "size": 1},
        "poll": {"interval_seconds": 1, "max_polls": 5},
        "execution_arn": None,
    }


# --- start_pipeline -----------------------------------------------------------------------------


def test_start_pipeline_starts_once_and_counts(load_handler, state_machine, lambda_context, capsys):
    app = load_handler("start_pipeline")
    event = load_event("object_created.json")

    first = app.lambda_handler(event, lambda_context)
    first_metrics = emf_metrics(capsys.readouterr().out)
    second = app.lambda_handler(event, lambda_context)
    second_metrics = emf_metrics(capsys.readouterr().out)

    assert set(first) == {"run_id", "execution_arn", "started", "reason"}
    assert first["started"] is True and second["started"] is False
    assert first_metrics == {"RunsStarted": 1.0}
    assert second_metrics == {"DuplicateDeliveries": 1.0}
    executions = state_machine.list_executions(stateMachineArn=ENVIRONMENT["STATE_MACHINE_ARN"])["executions"]
    assert [e["executionArn"] for e in executions] == [first["execution_arn"]]


def test_start_pipeline_ignores_keys_outside_incoming(load_handler, state_machine, lambda_context, capsys):
    app = load_handler("start_pipeline")

    outcome = app.lambda_handler(load_event("object_created_outside_incoming.json"), lambda_context)

    assert outcome["started"] is False and outcome["run_id"] is None
    assert "RunsStarted" not in emf_metrics(capsys.readouterr().out)
    assert state_machine.list_executions(stateMachineArn=ENVIRONMENT["STATE_MACHINE_ARN"])["executions"] == []


def test_start_pipeline_rejects_a_non_s3_event(load_handler, state_machine, lambda_context):
    app = load_handler("start_pipeline")

    with pytest.raises(InvalidEventError):
        app.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, lambda_context)


def test_a_handler_without_its_environment_fails_at_import(load_handler, environment):
    from sagedrop.errors import InvalidConfigError

    environment.delenv("STATE_MACHINE_ARN")

    with pytest.raises(InvalidConfigError, match="STATE_MACHINE_ARN"):
        load_handler("start_pipeline")


# --- the pipeline's steps, in order ------------------------------------------------------------


def test_the_steps_hand_each_other_what_they_document(load_handler, world, lambda_context, capsys):
    state = initial_state()

    # preprocess → $.prepared
    prepared = load_handler("preprocess").lambda_handler(state, lambda_context)
    assert set(prepared) == {"config", "dataset"}
    assert {"schema_key", "channels", "label", "problem_type", "feature_count", "class_count", "rows"} <= set(
        prepared["dataset"]
    )
    assert prepared["dataset"]["label"] == "y"
    assert set(prepared["dataset"]["channels"]) >= {"train", "test"}
    assert emf_metrics(capsys.readouterr().out) == {"InputRows": 80.0}
    state["prepared"] = prepared

    # start_training → $.training
    training = load_handler("start_training").lambda_handler(state, lambda_context)
    assert set(training) == {"job_name", "status", "polls"}
    assert (training["status"], training["polls"]) == ("InProgress", 0)
    state["training"] = training

    # check_training → $.training (moto completes jobs at once)
    training = load_handler("check_training").lambda_handler(state, lambda_context)
    # Every key is one the contract names; what moto does not report (billable seconds) is left out.
    assert {"job_name", "status", "failure_reason", "polls", "metrics", "model_artifact"} <= set(training)
    assert set(training) <= set(Training.model_fields)
    assert training["polls"] == 1 and training["job_name"] == state["training"]["job_name"]
    training["model_artifact"] = training["model_artifact"] or f"s3://{BUCKET}/runs/x/model.tar.gz"
    state["training"] = training

    # deploy_model → $.endpoint
    endpoint = load_handler("deploy_model").lambda_handler(state, lambda_context)
    assert set(endpoint) == {
        "model_name",
        "endpoint_config_name",
        "endpoint_name",
        "status",
        "polls",
        "inference_artifact",
    }
    assert endpoint["endpoint_name"] == endpoint_name(state["run_id"])
    state["endpoint"] = endpoint

    # check_endpoint → $.endpoint
    endpoint = load_handler("check_endpoint").lambda_handler(state, lambda_context)
    assert endpoint["polls"] == 1 and endpoint["status"] == "InService"
    state["endpoint"] = endpoint

    # evaluate_model → $.evaluation (the endpoint answers through a fake runtime client)
    evaluate = load_handler("evaluate_model")
    runtime = evaluate.RUNTIME = PipelineRuntime(world["s3"], state["prepared"]["dataset"]["inference_artifact"])
    capsys.readouterr()
    evaluation = evaluate.lambda_handler(state, lambda_context)
    # The evaluation sends what a caller would: the upload's own columns by name, and reads the contract's JSON
    assert runtime.requests and all(r["Accept"] == "application/json" for r in runtime.requests)
    schema = json.loads(
        world["s3"].get_object(Bucket=BUCKET, Key=state["prepared"]["dataset"]["schema_key"])["Body"].read()
    )
    header = runtime.requests[0]["Body"].decode().splitlines()[0]
    assert header.split(schema["delimiter"]) == schema["source_columns"]
    assert set(evaluation) == {"evaluation_key", "report_key", "headline"}
    assert world["s3"].head_object(Bucket=BUCKET, Key=evaluation["report_key"])["ContentLength"] > 0
    published = emf_metrics(capsys.readouterr().out)
    numeric = {k for k, v in evaluation["headline"].items() if isinstance(v, int | float)}
    assert numeric and numeric <= set(published)
    state["evaluation"] = evaluation

    # finish_run → $.result
    result = load_handler("finish_run").lambda_handler(state, lambda_context)
    assert result["status"] == "SUCCEEDED" and result["run_key"] == f"runs/{state['run_id']}/run.json"
    assert endpoint["endpoint_name"] in result["deleted"]
    assert emf_metrics(capsys.readouterr().out) == {"RunsSucceeded": 1.0}
    record = json.loads(world["s3"].get_object(Bucket=BUCKET, Key=result["run_key"])["Body"].read())
    assert record["status"] == "SUCCEEDED"


class PipelineRuntime:
    """InvokeEndpoint answered by the run's own inference tarball (featurizer and label decoder, run in
    process), around a stand-in algorithm that gives every other row a probability of 0.8."""

    def __init__(self, s3, artifact_uri: str):
        bucket, _, key = artifact_uri.removeprefix("s3://").partition("/")
        artifact = read_model_tarball(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).artifact
        self.featurize = Model("featurize", artifact, Featurizer(artifact), Decoder(artifact), None)
        self.decode = Model("decode", artifact, Featurizer(artifact), Decoder(artifact), None)
        self.requests = []

    def invoke_endpoint(self, **request):
        import io

        self.requests.append(request)
        features = handle(self.featurize, request["Body"], request["ContentType"])
        assert features.status == 200, features.body
        rows = [row for row in features.body.decode().splitlines() if row]
        scores = "\n".join("0.8" if i % 2 else "0.2" for i in range(len(rows))).encode()
        answer = handle(self.decode, scores, "text/csv", request["Accept"])
        assert answer.status == 200, answer.body
        return {"Body": io.BytesIO(answer.body), "ContentType": answer.content_type}


def test_handle_failure_records_and_notifies(load_handler, world, lambda_context, capsys):
    state = initial_state()
    state["failure"] = {
        "Error": "LabelNotFoundError",
        "Cause": json.dumps({"errorMessage": "no column 'price'", "errorType": "LabelNotFoundError"}),
    }

    result = load_handler("handle_failure").lambda_handler(state, lambda_context)

    assert set(result) == {"run_key", "deleted", "error", "problems"}
    assert result["error"] == {"error": "LabelNotFoundError", "message": "no column 'price'"}
    assert result["problems"] == []
    assert emf_metrics(capsys.readouterr().out) == {"RunsFailed": 1.0}
    messages = world["sqs"].receive_message(QueueUrl=world["queue_url"]).get("Messages", [])
    assert len(messages) == 1 and "no column 'price'" in json.loads(messages[0]["Body"])["Message"]


def test_check_training_on_an_unknown_job_fails_loudly(load_handler, aws, lambda_context):
    from botocore.exceptions import ClientError

    app = load_handler("check_training")
    state = {**initial_state(), "training": {"job_name": "never-created", "status": "InProgress", "polls": 0}}

    with pytest.raises(ClientError):
        app.lambda_handler(state, lambda_context)


def test_the_sagemaker_role_reaches_the_training_job(load_handler, world, lambda_context):
    state = initial_state()
    state["prepared"] = load_handler("preprocess").lambda_handler(state, lambda_context)

    training = load_handler("start_training").lambda_handler(state, lambda_context)

    job = boto3.client("sagemaker", region_name=REGION).describe_training_job(TrainingJobName=training["job_name"])
    assert job["RoleArn"] == ROLE_ARN


# --- record_abandoned_run (the backstop; an EventBridge target, not a state) ---------------------


def test_record_abandoned_run_records_an_aborted_execution_once(
    load_handler, world, state_machine, lambda_context, capsys
):
    # Given an execution of the pipeline stopped from the console (no failure path ran)
    run = initial_state()
    execution_arn = state_machine.start_execution(
        stateMachineArn=ENVIRONMENT["STATE_MACHINE_ARN"], name=run["run_id"], input=json.dumps(run)
    )["executionArn"]
    state_machine.stop_execution(executionArn=execution_arn)
    event = load_event("execution_aborted.json")
    event["resources"] = [execution_arn]
    event["detail"].update(
        executionArn=execution_arn,
        stateMachineArn=ENVIRONMENT["STATE_MACHINE_ARN"],
        name=run["run_id"],
        input=json.dumps(run),
    )
    app = load_handler("record_abandoned_run")

    # When EventBridge delivers its status change, twice (at least once delivery)
    first = app.lambda_handler(event, lambda_context)
    first_metrics = emf_metrics(capsys.readouterr().out)
    second = app.lambda_handler(event, lambda_context)

    # Then the first records it and says what it did, the second does nothing
    assert set(first) == {"execution_arn", "status", "recorded", "reason", "run_id", "error", "deleted", "problems"}
    assert (first["recorded"], first["status"], first["run_id"]) == (True, "ABORTED", run["run_id"])
    assert first["error"] == {"error": "ExecutionAborted", "message": "the execution ended ABORTED"}
    assert first_metrics == {"AbandonedRunsRecorded": 1.0}
    assert second["recorded"] is False
    record = json.loads(world["s3"].get_object(Bucket=BUCKET, Key=f"runs/{run['run_id']}/run.json")["Body"].read())
    assert (record["status"], record["recorded_by"]) == ("FAILED", "backstop")
    messages = world["sqs"].receive_message(QueueUrl=world["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1 and "the execution ended ABORTED" in json.loads(messages[0]["Body"])["Message"]


def test_record_abandoned_run_rejects_other_events(load_handler, aws, lambda_context):
    app = load_handler("record_abandoned_run")

    with pytest.raises(InvalidEventError, match="Step Functions Execution Status Change"):
        app.lambda_handler(load_event("object_created.json"), lambda_context)
