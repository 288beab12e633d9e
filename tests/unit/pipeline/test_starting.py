"""Starting: one execution per uploaded object version, duplicates recognised, foreign keys ignored."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.stepfunctions import Executions
from sagedrop.errors import InvalidEventError
from sagedrop.limits import EVALUATION_TRANSFORM_BYTES, LAMBDA_PREPROCESS_MAX_BYTES, MAX_UPLOAD_BYTES
from sagedrop.names import run_id_for
from sagedrop.pipeline.starting import UploadedObject, ignore_reason, parse_object_created, start_for_upload, start_run
from sagedrop.scoring.names import scoring_id_for
from sagedrop.settings import StarterSettings

from .conftest import ACCOUNT, REGION, load_event

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def event_for(key: str, **object_fields) -> dict:
    event = load_event("object_created.json")
    event["detail"]["object"]["key"] = key
    event["detail"]["object"].update(object_fields)
    return event


@pytest.fixture
def stepfunctions():
    with mock_aws():
        client = boto3.client("stepfunctions", region_name=REGION)
        arn = client.create_state_machine(
            name="sagedrop-test-pipeline",
            definition=PASS_MACHINE,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
        yield client, arn


def starter_settings(arn: str) -> StarterSettings:
    return StarterSettings(state_machine_arn=arn, poll_interval_seconds=2, max_polls=9)


def test_the_sample_event_parses():
    event = load_event("object_created.json")

    obj = parse_object_created(event)

    detail = event["detail"]
    assert obj == UploadedObject(
        bucket=detail["bucket"]["name"],
        key=detail["object"]["key"],
        version_id=detail["object"]["version-id"],
        etag=detail["object"]["etag"],
        size=detail["object"]["size"],
    )


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("incoming/my+file%281%29.csv", "incoming/my file(1).csv"),
        ("incoming/red+flower.csv", "incoming/red flower.csv"),
        # A literal "+" arrives as %2B and must stay a "+" (decoded once, not twice).
        ("incoming/c%2B%2B+results.csv", "incoming/c++ results.csv"),
        ("incoming/100%2525.csv", "incoming/100%25.csv"),
        ("incoming/caf%C3%A9.csv", "incoming/café.csv"),
    ],
)
def test_url_encoded_keys_are_decoded_exactly_once(encoded, decoded):
    assert parse_object_created(event_for(encoded)).key == decoded


def test_an_unversioned_upload_parses_without_a_version_id():
    # Given an event from a bucket without versioning: S3 leaves out "version-id"
    event = load_event("object_created.json")
    del event["detail"]["object"]["version-id"]

    obj = parse_object_created(event)

    assert obj.version_id is None
    assert obj.etag == event["detail"]["object"]["etag"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.update(source="aws.sqs"),
        lambda e: e.update({"detail-type": "Object Deleted"}),
        lambda e: e.pop("source"),
        lambda e: e["detail"].pop("bucket"),
        lambda e: e["detail"]["object"].pop("key"),
        lambda e: e.pop("detail"),
    ],
    ids=["other-source", "other-detail-type", "no-source", "no-bucket", "no-key", "no-detail"],
)
def test_an_event_that_is_not_an_s3_object_created_event_is_rejected(mutate):
    event = load_event("object_created.json")
    mutate(event)

    with pytest.raises(InvalidEventError):
        parse_object_created(event)


def test_a_non_s3_event_is_rejected():
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    with pytest.raises(InvalidEventError, match="Object Created"):
        parse_object_created(scheduled)


def test_keys_outside_incoming_are_ignored_with_a_reason():
    obj = parse_object_created(load_event("object_created_outside_incoming.json"))

    reason = ignore_reason(obj, "incoming/")

    assert reason is not None
    assert obj.key in reason and "incoming/" in reason


@pytest.mark.parametrize("key", ["incoming/bank/sagedrop.json", "incoming/bank/data.csv.gz", "incoming/notes.txt"])
def test_keys_that_are_not_csv_are_ignored_with_a_reason(key):
    reason = ignore_reason(parse_object_created(event_for(key)), "incoming/")

    assert reason is not None and ".csv" in reason


@pytest.mark.parametrize("key", ["incoming/a.csv", "incoming/bank/bank-full.csv", "incoming/x/UPPER.CSV"])
def test_csv_keys_under_incoming_start_a_run(key):
    assert ignore_reason(parse_object_created(event_for(key)), "incoming/") is None


def test_the_same_event_delivered_twice_starts_one_execution(stepfunctions):
    client, arn = stepfunctions
    executions, settings = Executions(client, arn), starter_settings(arn)
    event = load_event("object_created.json")

    # When S3 delivers the event twice (at-least-once delivery)
    first = start_run(parse_object_created(event), executions, settings)
    second = start_run(parse_object_created(copy.deepcopy(event)), executions, settings)

    # Then one execution exists, named after the run, and the second outcome says duplicate
    listed = client.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in listed] == [first.run_id]
    assert first.started is True and first.reason == "started"
    assert second.started is False and "duplicate" in second.reason
    assert second.run_id == first.run_id
    assert first.execution_arn == second.execution_arn == listed[0]["executionArn"]


def test_the_execution_input_carries_the_source_and_poll_settings(stepfunctions):
    client, arn = stepfunctions
    event = load_event("object_created.json")

    outcome = start_run(parse_object_created(event), Executions(client, arn), starter_settings(arn))

    document = json.loads(client.describe_execution(executionArn=outcome.execution_arn)["input"])
    detail = event["detail"]
    assert document["run_id"] == run_id_for(
        detail["bucket"]["name"], detail["object"]["key"], detail["object"]["version-id"]
    )
    assert document["source"]["key"] == detail["object"]["key"]
    assert document["source"]["version_id"] == detail["object"]["version-id"]
    assert document["poll"] == {"interval_seconds": 2, "max_polls": 9}
    assert document["limits"] == {
        "max_upload_bytes": MAX_UPLOAD_BYTES,
        "lambda_prepare_max_bytes": LAMBDA_PREPROCESS_MAX_BYTES,
        "evaluation_transform_bytes": EVALUATION_TRANSFORM_BYTES,
    }


def test_a_new_version_of_the_same_key_starts_a_second_run(stepfunctions):
    client, arn = stepfunctions
    executions, settings = Executions(client, arn), starter_settings(arn)

    first = start_run(parse_object_created(event_for("incoming/a.csv", **{"version-id": "v1"})), executions, settings)
    second = start_run(parse_object_created(event_for("incoming/a.csv", **{"version-id": "v2"})), executions, settings)

    assert first.started and second.started
    assert first.run_id != second.run_id
    assert len(client.list_executions(stateMachineArn=arn)["executions"]) == 2


def test_an_ignored_key_starts_nothing(stepfunctions):
    client, arn = stepfunctions

    outcome = start_run(
        parse_object_created(load_event("object_created_outside_incoming.json")),
        Executions(client, arn),
        starter_settings(arn),
    )

    assert outcome.as_dict() == {
        "run_id": None,
        "execution_arn": None,
        "started": False,
        "reason": outcome.reason,
    }
    assert outcome.reason.startswith("ignored:")
    assert client.list_executions(stateMachineArn=arn)["executions"] == []


def test_execution_arn_is_derived_from_the_state_machine_arn():
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:pipeline"

    arn = Executions(None, machine).execution_arn("run-1")

    assert arn == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:pipeline:run-1"


# --- routing: score/ uploads start a scoring ------------------------------------------------------------------
@pytest.fixture
def two_machines(stepfunctions):
    client, pipeline_arn = stepfunctions
    scoring_arn = client.create_state_machine(
        name="sagedrop-test-scoring", definition=PASS_MACHINE, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    return client, Executions(client, pipeline_arn), Executions(client, scoring_arn)


def test_a_csv_under_score_starts_a_scoring_named_by_its_object_version(two_machines):
    client, pipeline, scoring = two_machines
    event = load_event("object_created_score.json")
    obj = parse_object_created(event)

    outcome = start_for_upload(obj, pipeline=pipeline, scoring=lambda: scoring, settings=starter_settings("x"))

    expected_name = scoring_id_for(obj.bucket, obj.key, obj.version_id, obj.etag)
    assert (outcome.started, outcome.scoring_id, outcome.run_id) == (True, expected_name, None)
    assert outcome.as_dict()["scoring_id"] == expected_name
    [execution] = client.list_executions(stateMachineArn=scoring.state_machine_arn)["executions"]
    assert execution["name"] == expected_name and execution["executionArn"] == outcome.execution_arn
    assert client.list_executions(stateMachineArn=pipeline.state_machine_arn)["executions"] == []
    document = json.loads(client.describe_execution(executionArn=outcome.execution_arn)["input"])
    expected = load_event("scoring_started.json")  # the sample execution input documents this shape
    assert set(document) == set(expected)
    assert document["source"] == expected["source"] == obj.as_dict()
    assert document["poll"] == {"interval_seconds": 2, "max_polls": 9}


def test_a_scoring_delivered_twice_starts_once(two_machines):
    client, pipeline, scoring = two_machines
    event = load_event("object_created_score.json")

    first = start_for_upload(
        parse_object_created(event), pipeline=pipeline, scoring=lambda: scoring, settings=starter_settings("x")
    )
    second = start_for_upload(
        parse_object_created(event), pipeline=pipeline, scoring=lambda: scoring, settings=starter_settings("x")
    )

    assert first.started and not second.started and "duplicate" in second.reason
    assert second.execution_arn == first.execution_arn and second.scoring_id == first.scoring_id
    assert len(client.list_executions(stateMachineArn=scoring.state_machine_arn)["executions"]) == 1


@pytest.mark.parametrize(
    ("key", "machine"),
    [("incoming/bank/bank.csv", "pipeline"), ("score/run-1/a.csv", "scoring"), ("scores/run-1/a.csv", None)],
)
def test_uploads_are_routed_by_prefix_and_results_start_nothing(two_machines, key, machine):
    client, pipeline, scoring = two_machines

    outcome = start_for_upload(
        parse_object_created(event_for(key)), pipeline=pipeline, scoring=lambda: scoring, settings=starter_settings("x")
    )

    counts = {
        name: len(client.list_executions(stateMachineArn=executions.state_machine_arn)["executions"])
        for name, executions in (("pipeline", pipeline), ("scoring", scoring))
    }
    assert counts == {name: int(name == machine) for name in counts}
    assert outcome.started is (machine is not None)


def test_an_unknown_run_id_still_starts_a_scoring_whose_first_state_names_the_error(two_machines):
    """The starter does not read runs: an upload for a run that does not exist must fail loudly later."""
    _, pipeline, scoring = two_machines

    outcome = start_for_upload(
        parse_object_created(event_for("score/no-such-run/a.csv")),
        pipeline=pipeline,
        scoring=lambda: scoring,
        settings=starter_settings("x"),
    )

    assert outcome.started


def test_a_scoring_upload_without_a_scoring_machine_fails_the_starter():
    from sagedrop.errors import InvalidConfigError
    from sagedrop.scoring.settings import ScoringStarterSettings

    settings = ScoringStarterSettings.from_environ({})

    with pytest.raises(InvalidConfigError, match="SCORING_STATE_MACHINE_ARN"):
        start_for_upload(
            parse_object_created(event_for("score/run-1/a.csv")),
            pipeline=Executions(None, "arn:aws:states:us-east-1:1:stateMachine:p"),
            scoring=lambda: Executions(None, settings.require()),
            settings=starter_settings("x"),
        )
