"""The scoring steps on moto's S3 and SNS: check, stage, assemble, finish, and the failure path."""

from __future__ import annotations

import csv
import io
import json

import boto3
import pytest

from sagedrop.aws.notifications import Notifier
from sagedrop.aws.s3_streams import MULTIPART_MIN_PART_BYTES, ObjectStreams
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.errors import InvalidCsvError
from sagedrop.scoring.assembling import assemble_scores
from sagedrop.scoring.errors import (
    ColumnMismatchError,
    InvalidScoringKeyError,
    InvalidValueError,
    RunNotFoundError,
    RunNotScorableError,
    TransformOutputMismatch,
)
from sagedrop.scoring.finishing import finish_scoring, handle_scoring_failure
from sagedrop.scoring.requests import MAX_ROWS_PER_REQUEST, REQUEST_TARGET_BYTES
from sagedrop.scoring.staging import stage_input
from sagedrop.scoring.state import (
    AssembleInput,
    FinishScoringInput,
    ScoringFailureInput,
    StageInput,
    ValidateInput,
    parse_state,
)
from sagedrop.scoring.validation import validate_scoring
from tests.constants import BUCKET, REGION, TOPIC_ARN

from .conftest import RUN_ID, make_run_record, make_schema, validated_section

UPLOAD = 'age,job,balance,id,y\n58,"admin.",2143,a1,no\n44,"tech\nnician",29,a2,yes\n33,,2,a3,no\n'
ROWS = [["58", "admin.", "2143", "a1", "no"], ["44", "tech\nnician", "29", "a2", "yes"], ["33", "", "2", "a3", "no"]]


def validate(world, text: str = UPLOAD, **drop) -> dict:
    state = world.drop(text, **drop)
    return validate_scoring(parse_state(state, ValidateInput), world.bucket, world.streams).as_dict()


# --- Check the run and the file -----------------------------------------------------------------------------
def test_a_valid_request_names_the_runs_model_and_the_files_shape(world):
    world.keep_run()

    validated = validate(world)

    assert validated == {**validated_section(), "algorithm": "xgboost", "columns": 5}


def test_an_unknown_run_is_a_named_error(world):
    with pytest.raises(RunNotFoundError, match=f"there is no run '{RUN_ID}': s3://{BUCKET}/runs/{RUN_ID}/run.json"):
        validate(world)


@pytest.mark.parametrize("status", ["FAILED", None])
def test_a_run_that_did_not_succeed_has_no_model_to_score_with(world, status):
    world.keep_run(record={**make_run_record(), "status": status})

    with pytest.raises(RunNotScorableError, match="only a run that succeeded has a model"):
        validate(world)


def test_a_run_without_its_schema_is_not_scorable(world):
    world.keep_run()
    world.s3.delete_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/schema.json")

    with pytest.raises(RunNotScorableError, match="schema.json"):
        validate(world)


def test_a_wrong_column_is_named(world):
    world.keep_run()

    with pytest.raises(
        ColumnMismatchError, match="line 1, column 3: 'balanse' is not a column .*did you mean 'balance'"
    ):
        validate(world, "age,job,balanse\n1,x,2\n")


def test_an_empty_file_and_a_key_without_a_run_are_named(world):
    world.keep_run()
    with pytest.raises(InvalidCsvError, match="is empty"):
        validate(world, "\n\n")
    with pytest.raises(InvalidScoringKeyError):
        validate(world, UPLOAD, key="score/customers.csv")


def test_the_version_dropped_is_the_one_read(world):
    world.keep_run()
    state = world.drop("age,job,balanse\n1,x,2\n")  # a bad version, then a good one under the same key
    world.drop(UPLOAD)

    with pytest.raises(ColumnMismatchError):
        validate_scoring(parse_state(state, ValidateInput), world.bucket, world.streams)


# --- Stage the rows ----------------------------------------------------------------------------------------
def staged_state(world, text: str = UPLOAD) -> dict:
    world.keep_run()
    state = world.drop(text)
    state["validated"] = validate_scoring(parse_state(state, ValidateInput), world.bucket, world.streams).as_dict()
    return state


def test_staging_writes_the_rows_without_header_in_the_model_columns_as_json_requests(world):
    state = staged_state(world)

    staged = stage_input(parse_state(state, StageInput), world.bucket, world.streams)

    key = f"runs/{RUN_ID}/scoring/customers/input/customers.jsonl"
    assert staged.as_dict() == {
        "input_prefix": f"s3://{BUCKET}/runs/{RUN_ID}/scoring/customers/input/",
        "rows": 3,
        "bytes": len(world.read(key)),
    }
    # one request (three rows fit one): age, job, balance, nothing for id (training dropped it), no
    # label; each value as uploaded, the line break too (JSON escapes it: the request is one line)
    [line] = world.read(key).decode().splitlines()
    assert json.loads(line) == {
        "instances": [
            {"age": "58", "job": "admin.", "balance": "2143"},
            {"age": "44", "job": "tech\nnician", "balance": "29"},
            {"age": "33", "job": "", "balance": "2"},
        ]
    }
    assert world.read(state["source"]["key"]).decode() == UPLOAD  # the upload is never touched


def test_staging_names_the_first_bad_value_by_its_line(world):
    state = staged_state(world, "age,job,balance\n1,x,2\n3,y,4\n5,z,much\n")

    with pytest.raises(InvalidValueError, match="line 4, column 'balance': 'much' is not a number"):
        stage_input(parse_state(state, StageInput), world.bucket, world.streams)

    keys = [o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not any("/scoring/" in key for key in keys), "a failed staging leaves no input behind"


def test_a_header_without_rows_is_refused(world):
    state = staged_state(world, "age,job,balance\n")

    with pytest.raises(InvalidCsvError, match="no rows"):
        stage_input(parse_state(state, StageInput), world.bucket, world.streams)


def test_a_file_larger_than_a_part_is_staged_in_a_multipart_upload_with_bounded_parts(world):
    # Given about 6 MB of staged rows and parts of S3's smallest size
    rows = "".join(f"{i % 90},technician,{i},id{i},no\n" for i in range(330_000))
    state = staged_state(world, "age,job,balance,id,y\n" + rows)
    streams = ObjectStreams(world.s3, BUCKET, part_bytes=MULTIPART_MIN_PART_BYTES)
    parts = []
    world.s3.meta.events.register(
        "before-parameter-build.s3.UploadPart", lambda params, **_: parts.append(len(params["Body"]))
    )

    staged = stage_input(parse_state(state, StageInput), world.bucket, streams)

    # Then the rows go up part by part (memory holds one part and one request), never as one body
    assert staged.rows == 330_000
    assert len(parts) >= 2
    bound = MULTIPART_MIN_PART_BYTES + REQUEST_TARGET_BYTES  # a part is sent once it holds the smallest size
    assert all(MULTIPART_MIN_PART_BYTES <= part <= bound for part in parts[:-1])
    lines = world.read(f"runs/{RUN_ID}/scoring/customers/input/customers.jsonl").decode().splitlines()
    requests = [json.loads(line)["instances"] for line in lines]
    assert len(requests) == 330 and {len(request) for request in requests} == {MAX_ROWS_PER_REQUEST}
    assert requests[0][0] == {"age": "0", "job": "technician", "balance": "0"}


# --- Assemble the scores -------------------------------------------------------------------------------------
def assemble_state(world, output: str, problem_type: str = "binary_classification") -> dict:
    world.keep_run(schema=make_schema(problem_type=problem_type))
    state = world.drop(UPLOAD)
    world.s3.put_object(
        Bucket=BUCKET, Key=f"runs/{RUN_ID}/scoring/customers/output/customers.jsonl.out", Body=output.encode()
    )
    state.update(
        validated=validated_section(problem_type),
        staged={"input_prefix": "s3://x/", "rows": 3, "bytes": 40},
        transform={
            "model_name": "m",
            "job_name": "j",
            "instance_type": "ml.m5.large",
            "status": "Completed",
            "polls": 2,
            "wait_seconds": 60,
        },
    )
    return state


def scores_of(world) -> list[list[str]]:
    return list(csv.reader(io.StringIO(world.read(f"scores/{RUN_ID}/customers.csv").decode(), newline="")))


def test_the_scores_file_is_the_upload_with_each_rows_prediction(world):
    state = assemble_state(world, "no,0.91\n\nyes,0.7\n\nno,0.99\n")

    scores = assemble_scores(parse_state(state, AssembleInput), world.bucket, world.streams)

    assert scores.as_dict() == {"scores_key": f"scores/{RUN_ID}/customers.csv", "rows": 3}
    assert scores_of(world) == [
        ["age", "job", "balance", "id", "y", "predicted_label", "probability"],
        [*ROWS[0], "no", "0.91"],
        [*ROWS[1], "yes", "0.7"],  # the value with its line break, as uploaded
        [*ROWS[2], "no", "0.99"],
    ]


def test_a_regression_scores_file_has_the_predicted_value_only(world):
    state = assemble_state(world, "1.5\n2.5\n3.5\n", problem_type="regression")

    assemble_scores(parse_state(state, AssembleInput), world.bucket, world.streams)

    assert [row[-1] for row in scores_of(world)] == ["predicted_label", "1.5", "2.5", "3.5"]
    assert len(scores_of(world)[0]) == 6


def test_an_output_that_does_not_pair_with_the_rows_writes_no_scores(world):
    state = assemble_state(world, "no,0.91\nyes,0.7\n")

    with pytest.raises(TransformOutputMismatch, match="ends after 2 prediction"):
        assemble_scores(parse_state(state, AssembleInput), world.bucket, world.streams)

    assert "Contents" not in world.s3.list_objects_v2(Bucket=BUCKET, Prefix="scores/")


# --- Finish the scoring / Record the failure ----------------------------------------------------------------
class FakeSageMaker(BatchTransformGateway):
    """What the end of a scoring asks SageMaker, answered from a table of the jobs and models that exist."""

    def __init__(self, jobs: dict[str, str] | None = None, models: set[str] | None = None) -> None:
        super().__init__(None)
        self.jobs, self.models, self.stopped = dict(jobs or {}), set(models or ()), []

    def stop_transform_job_if_running(self, name: str) -> bool:
        if self.jobs.get(name) == "InProgress":
            self.stopped.append(name)
            self.jobs[name] = "Stopping"
            return True
        return False

    def delete_model(self, name: str) -> bool:
        if name in self.models:
            self.models.remove(name)
            return True
        return False


def notifier() -> Notifier:
    return Notifier(boto3.client("sns", region_name=REGION), TOPIC_ARN)


def test_finishing_deletes_the_model_records_and_notifies(world):
    state = assemble_state(world, "")
    state["scores"] = {"scores_key": f"scores/{RUN_ID}/customers.csv", "rows": 3}
    sagemaker = FakeSageMaker(models={"m"})

    finished = finish_scoring(
        parse_state(state, FinishScoringInput), sagemaker=sagemaker, bucket=world.bucket, notifier=notifier()
    )

    assert finished.as_dict() == {
        "status_key": f"runs/{RUN_ID}/scoring/customers/status.json",
        "deleted": ["m"],
        "status": "SUCCEEDED",
    }
    assert sagemaker.models == set()
    status = json.loads(world.read(finished.status_key))
    assert (status["status"], status["rows"], status["scores_key"]) == (
        "SUCCEEDED",
        3,
        f"scores/{RUN_ID}/customers.csv",
    )
    # which instance type the transform job ran on (the run's endpoint type, or Batch Transform's fallback)
    assert status["resources"]["instance_type"] == state["transform"]["instance_type"] == "ml.m5.large"
    [message] = world.messages()
    assert message["attributes"] == {"status": "SUCCEEDED", "workflow": "scoring", "run_id": RUN_ID}
    assert f"s3://{BUCKET}/scores/{RUN_ID}/customers.csv" in message["message"]


def test_the_failure_path_stops_the_job_deletes_the_model_records_and_notifies(world):
    state = assemble_state(world, "")
    state["transform"].update(status="InProgress")
    state["failure"] = {"Error": "TransformJobTimedOut", "Cause": "still running after the maximum number of polls"}
    sagemaker = FakeSageMaker(jobs={"j": "InProgress"}, models={"m"})

    handled = handle_scoring_failure(
        parse_state(state, ScoringFailureInput), sagemaker=sagemaker, bucket=world.bucket, notifier=notifier()
    )

    assert (handled.stopped, handled.deleted, handled.problems) == (["j"], ["m"], [])
    assert handled.error == {
        "error": "TransformJobTimedOut",
        "message": "still running after the maximum number of polls",
    }
    status = json.loads(world.read(f"runs/{RUN_ID}/scoring/customers/status.json"))
    assert status["status"] == "FAILED" and status["error"]["error"] == "TransformJobTimedOut"
    [message] = world.messages()
    assert message["attributes"]["status"] == "FAILED"
    assert "TransformJobTimedOut" in message["message"] and "left as it was" in message["message"]
    assert world.read(state["source"]["key"]).decode() == UPLOAD


def test_a_step_that_died_after_creating_the_job_has_it_stopped_by_its_derived_name(world):
    from sagedrop.scoring.names import scoring_model_name, transform_job_name

    state = assemble_state(world, "")
    del state["transform"]
    state["failure"] = {"Error": "States.Timeout", "Cause": "Lambda timed out"}
    job, model = transform_job_name(RUN_ID, state["scoring_id"]), scoring_model_name(RUN_ID, state["scoring_id"])
    sagemaker = FakeSageMaker(jobs={job: "InProgress"}, models={model})

    handled = handle_scoring_failure(
        parse_state(state, ScoringFailureInput), sagemaker=sagemaker, bucket=world.bucket, notifier=notifier()
    )

    assert (handled.stopped, handled.deleted) == ([job], [model])


def test_an_unknown_run_is_recorded_and_notified_without_touching_sagemaker(world):
    state = world.drop(UPLOAD)
    state["failure"] = {
        "Error": "RunNotFoundError",
        "Cause": json.dumps({"errorType": "RunNotFoundError", "errorMessage": f"there is no run '{RUN_ID}'"}),
    }

    class NoSageMaker(FakeSageMaker):
        def stop_transform_job_if_running(self, name):
            raise AssertionError("nothing was created")

        delete_model = stop_transform_job_if_running

    handled = handle_scoring_failure(
        parse_state(state, ScoringFailureInput), sagemaker=NoSageMaker(), bucket=world.bucket, notifier=notifier()
    )

    assert handled.error == {"error": "RunNotFoundError", "message": f"there is no run '{RUN_ID}'"}
    [message] = world.messages()
    assert "RunNotFoundError: there is no run" in message["message"]
    assert message["subject"] == f"sagedrop scoring of customers with run {RUN_ID} failed"


def test_a_failing_notification_does_not_keep_the_job_from_being_stopped(world):
    state = assemble_state(world, "")
    state["transform"].update(status="InProgress")
    state["failure"] = {"Error": "TransformJobFailed", "Cause": "x"}
    sagemaker = FakeSageMaker(jobs={"j": "InProgress"}, models={"m"})
    broken = Notifier(boto3.client("sns", region_name=REGION), TOPIC_ARN + "-gone")

    handled = handle_scoring_failure(
        parse_state(state, ScoringFailureInput), sagemaker=sagemaker, bucket=world.bucket, notifier=broken
    )

    assert handled.stopped == ["j"] and handled.deleted == ["m"]
    assert [p.split(":")[0] for p in handled.problems] == ["could not publish the failure"]


def test_a_key_that_names_no_run_is_notified_with_nowhere_to_record_it(world):
    state = world.drop(UPLOAD, key="score/customers.csv")
    state["failure"] = {"Error": "InvalidScoringKeyError", "Cause": "key 'score/customers.csv' names no run"}

    handled = handle_scoring_failure(
        parse_state(state, ScoringFailureInput), sagemaker=FakeSageMaker(), bucket=world.bucket, notifier=notifier()
    )

    assert handled.status_key is None and handled.problems == []
    [message] = world.messages()
    assert message["subject"] == "sagedrop scoring of score/customers.csv failed"
    assert message["attributes"] == {"status": "FAILED", "workflow": "scoring"}
    assert [o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["score/customers.csv"]
