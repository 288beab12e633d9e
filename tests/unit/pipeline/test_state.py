"""The typed run state: each step's input names what is missing; outputs are the documented JSON."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.errors import InvalidEventError
from sagedrop.pipeline.state import (
    CheckEndpointInput,
    DeployInput,
    EvaluateInput,
    FailureInput,
    FinishInput,
    PrepareInput,
    RunState,
    StartTrainingInput,
    Training,
    parse_state,
)
from sagedrop.problem_types import ProblemType

from .conftest import make_state

TRAINED = {"job_name": "job-1", "status": "Completed", "polls": 3, "model_artifact": "s3://b/m.tar.gz"}
ENDPOINT = {"model_name": "m", "endpoint_config_name": "c", "endpoint_name": "e", "status": "InService", "polls": 1}


def test_a_prepared_state_parses_into_typed_parts():
    state = parse_state(make_state(), StartTrainingInput)

    assert state.prepared.dataset.problem_type is ProblemType.BINARY
    assert state.prepared.config.seed == 1729
    assert state.prepared.dataset.channels.validation.endswith("/validation/")


@pytest.mark.parametrize(
    ("model", "document", "missing"),
    [
        (StartTrainingInput, {k: v for k, v in make_state().items() if k != "prepared"}, "'prepared'"),
        (DeployInput, make_state(), "'training'"),
        (DeployInput, make_state(training={**TRAINED, "status": "Failed"}), "'training.status'"),
        (DeployInput, make_state(training={**TRAINED, "model_artifact": None}), "'training.model_artifact'"),
        (CheckEndpointInput, make_state(), "'endpoint'"),
        (EvaluateInput, make_state(training=TRAINED), "'endpoint'"),
        (FinishInput, make_state(training=TRAINED, endpoint=ENDPOINT), "'evaluation'"),
        (PrepareInput, {"run_id": "r", "poll": {"interval_seconds": 1, "max_polls": 1}}, "'source'"),
    ],
)
def test_a_step_input_without_what_the_step_reads_is_named(model, document, missing):
    with pytest.raises(InvalidEventError, match=model.__name__) as raised:
        parse_state(document, model)
    assert missing in str(raised.value)


def test_a_misspelt_key_is_rejected_not_ignored():
    document = make_state(training={**TRAINED, "poll": 3})

    with pytest.raises(InvalidEventError, match=r"'training\.poll': extra inputs are not permitted"):
        parse_state(document, DeployInput)


def test_an_unknown_status_is_rejected():
    with pytest.raises(InvalidEventError, match="'training.status'"):
        parse_state(make_state(training={**TRAINED, "status": "Finished"}), FailureInput)


@pytest.mark.parametrize("event", [None, [], "state", 3])
def test_a_state_that_is_not_an_object_is_rejected(event):
    with pytest.raises(InvalidEventError, match="must be a JSON object"):
        parse_state(event, RunState)


def test_a_bad_effective_config_in_the_state_is_named():
    document = make_state()
    document["prepared"]["config"]["split"] = {"train": 0.9, "validation": 0.9, "test": 0.9}

    with pytest.raises(Exception, match="split"):
        parse_state(document, StartTrainingInput)


def test_unknown_values_are_left_out_of_the_stored_document():
    assert Training(job_name="j", status="InProgress", polls=0).as_dict() == {
        "job_name": "j",
        "status": "InProgress",
        "polls": 0,
    }


def test_the_failure_keeps_step_functions_field_names():
    state = parse_state(make_state(failure={"Error": "InvalidCsvError", "Cause": "line 3"}), FailureInput)

    assert (state.failure.error, state.failure.cause) == ("InvalidCsvError", "line 3")
    assert state.as_dict()["failure"] == {"Error": "InvalidCsvError", "Cause": "line 3"}


@given(
    polls=st.integers(min_value=0, max_value=10_000),
    status=st.sampled_from(["InProgress", "Completed", "Failed", "Stopping", "Stopped"]),
    metrics=st.dictionaries(st.sampled_from(["validation:auc", "train:rmse"]), st.floats(allow_nan=False)),
)
def test_a_whole_state_survives_the_round_trip_through_json(polls, status, metrics):
    document = make_state(training={"job_name": "j", "status": status, "polls": polls, "metrics": metrics})

    parsed = parse_state(document, FailureInput)

    assert parse_state(parsed.as_dict(), FailureInput) == parsed
    assert parsed.as_dict()["prepared"]["config"] == document["prepared"]["config"]
    assert parsed.as_dict()["training"]["polls"] == polls
