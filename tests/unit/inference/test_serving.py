"""The serving entry points: the calling conventions of the SageMaker serving containers, and 4xx answers."""

import inspect
import json
import sys
import types

import numpy as np
import pytest
import xgboost

from sagedrop.dataset import to_headerless_csv, to_source_csv
from sagedrop.errors import InvalidRequestError
from sagedrop.inference import serving
from sagedrop.inference.artifact import ARTIFACT_FILE
from sagedrop.inference.packaging import ENTRY_POINT_SOURCE
from sagedrop.inference.serving import (
    DECODE,
    FEATURIZE,
    SINGLE,
    XGBOOST_MODEL_FILE,
    Rejected,
    handle,
    input_fn,
    load_model,
    model_fn,
    output_fn,
    predict_fn,
)

ROW = b"34,0.5,red,same\n"


@pytest.fixture
def model_dir(tmp_path, small_artifact):
    (tmp_path / ARTIFACT_FILE).write_bytes(small_artifact.to_json())
    return tmp_path


def serve(model, body, content_type="text/csv", accept="text/csv", context=None):
    return output_fn(predict_fn(input_fn(body, content_type), model), accept, context)


def test_signatures_match_what_the_containers_call():
    # sagemaker_containers: model_fn(model_dir), input_fn(data, content_type), predict_fn(data, model),
    # output_fn(prediction, accept); sagemaker-inference passes a context to a function with one more.
    assert [len(inspect.signature(f).parameters) for f in (model_fn, input_fn, predict_fn)] == [1, 2, 2]
    assert list(inspect.signature(output_fn).parameters) == ["prediction", "accept", "context"]


def test_the_entry_point_defines_no_transform_fn(tmp_path):
    namespace: dict = {}
    exec(compile(ENTRY_POINT_SOURCE, "inference.py", "exec"), namespace)  # noqa: S102 - our own source
    assert {"model_fn", "input_fn", "predict_fn", "output_fn"} <= set(namespace)
    assert "transform_fn" not in namespace


def test_model_fn_takes_the_mode_from_the_environment(model_dir, monkeypatch):
    monkeypatch.setenv("SAGEDROP_INFERENCE_MODE", "Decode")
    assert model_fn(str(model_dir)).mode == DECODE
    for bad in ("", "train"):
        monkeypatch.setenv("SAGEDROP_INFERENCE_MODE", bad)
        with pytest.raises(ValueError, match="SAGEDROP_INFERENCE_MODE"):
            model_fn(str(model_dir))


def test_featurize_answers_features_csv_whatever_the_accept(model_dir):
    model = load_model(model_dir, FEATURIZE)
    assert serve(model, ROW.decode(), accept="application/json") == (b"34,0.5,0,0,1\n", "text/csv")


def test_decode_answers_the_contract(model_dir):
    model = load_model(model_dir, DECODE)
    assert serve(model, "0.75\n0.25\n") == (b"yes,0.75\nno,0.75\n", "text/csv")
    body, content_type = serve(model, '{"predictions": [{"score": 0.75}]}', "application/json", "application/json")
    assert json.loads(body)["predictions"][0]["predicted_label"] == "yes"
    assert serve(model, '{"score": 0.25}\n', "application/jsonlines") == (b"no,0.75\n", "text/csv")


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"34,0.5,red\n", "text/csv", "text/csv", 400, "row 1 has 3 fields, expected 4"),
        (b"34,x,red,same\n", "text/csv", "text/csv", 400, "row 1, column 'score': 'x' is not a number"),
        (b'{"instances": [{"agee": 1}]}', "application/json", "text/csv", 400, "row 1: unknown column 'agee'"),
        (b'{"instances": [', "application/json", "text/csv", 400, "not valid JSON"),
        (b"", "text/csv", "text/csv", 400, "the request body is empty"),
        (ROW, "application/x-npy", "text/csv", 415, "content type 'application/x-npy' is not supported"),
        (ROW, "application/jsonlines", "text/csv", 415, "content type 'application/jsonlines' is not supported"),
        (b"\xff\xfe", "text/csv", "text/csv", 400, "not UTF-8 text"),
    ],
)
def test_bad_requests_become_4xx_replies(model_dir, body, content_type, accept, status, message):
    reply = handle(load_model(model_dir, FEATURIZE), body, content_type, accept)
    assert (reply.status, reply.content_type) == (status, "text/plain")
    assert message in reply.body.decode()


def test_unacceptable_accept_is_406_in_decode_mode(model_dir):
    reply = handle(load_model(model_dir, DECODE), b"0.5\n", "text/csv", "application/x-recordio-protobuf")
    assert reply.status == 406


def test_a_rejection_raises_when_no_server_hosts_the_code(model_dir):
    with pytest.raises(InvalidRequestError) as caught:
        serve(load_model(model_dir, FEATURIZE), b"1,2\n")
    assert caught.value.status == 400


def test_a_rejection_is_a_worker_response_in_the_sagemaker_containers_server(model_dir, monkeypatch):
    class Response:  # stands in for sagemaker_containers._worker.Response (a flask.Response)
        def __init__(self, response=None, status=200, mimetype=None):
            self.response, self.status, self.mimetype = response, status, mimetype

    framework = types.ModuleType("sagemaker_containers.beta.framework")
    framework.worker = types.SimpleNamespace(Response=Response)
    for name, module in {
        "sagemaker_containers": types.ModuleType("sagemaker_containers"),
        "sagemaker_containers.beta": types.ModuleType("sagemaker_containers.beta"),
        "sagemaker_containers.beta.framework": framework,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    response = serve(load_model(model_dir, FEATURIZE), b"34,0.5,red\n")
    assert (response.status, response.mimetype) == (400, "text/plain")
    assert response.response.startswith(b"row 1 has 3 fields")


def test_a_rejection_sets_the_status_through_the_inference_toolkit_context(model_dir):
    class Context:
        def set_response_status(self, code, phrase):
            self.code, self.phrase = code, phrase

    context = Context()
    body, content_type = serve(load_model(model_dir, FEATURIZE), b"x", "text/plain", context=context)
    assert (context.code, content_type) == (415, "text/plain")
    assert b"is not supported" in body and "\n" not in context.phrase


def test_rejections_pass_through_predict_fn_untouched(model_dir):
    rejected = input_fn(b"", "image/png")
    assert isinstance(rejected, Rejected) and rejected.error.status == 415
    assert predict_fn(rejected, load_model(model_dir, DECODE)) is rejected


# --- the single-container form ------------------------------------------------------------------------


@pytest.fixture
def single_dir(model_dir, small):
    train = small.train
    dtrain = xgboost.DMatrix(train.iloc[:, 1:].to_numpy(np.float32), label=train.iloc[:, 0].to_numpy())
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, num_boost_round=5)
    (model_dir / XGBOOST_MODEL_FILE).write_bytes(booster.save_raw("ubj"))  # no extension, as the container saves
    return model_dir, booster


def test_single_mode_featurizes_predicts_and_decodes(single_dir, small):
    model_dir, booster = single_dir
    model = load_model(model_dir, SINGLE)
    raw = to_source_csv(small.raw_test, delimiter=",")
    body, content_type = serve(model, raw.decode(), accept="application/json")
    predictions = json.loads(body)["predictions"]

    expected = booster.predict(xgboost.DMatrix(small.test.iloc[:, 1:].to_numpy(np.float32), missing=np.nan))
    assert content_type == "application/json" and len(predictions) == len(expected)
    for prediction, p in zip(predictions, expected, strict=True):
        assert prediction["probabilities"] == pytest.approx([1 - p, p], rel=1e-6)
        assert prediction["predicted_label"] == ("yes" if p > 0.5 else "no")


def test_single_mode_matches_featurize_then_algorithm_then_decode(single_dir, small):
    """The one-process form answers what the three containers would, byte for byte."""
    model_dir, booster = single_dir
    raw = to_source_csv(small.raw_test, delimiter=",")
    features_csv, _ = serve(load_model(model_dir, FEATURIZE), raw)
    assert features_csv == to_headerless_csv(small.test.iloc[:, 1:])
    matrix = np.genfromtxt(features_csv.decode().splitlines(), delimiter=",", dtype=float)  # as the container reads
    answer = "".join(f"{float(p)}\n" for p in booster.predict(xgboost.DMatrix(matrix)))
    three_containers = serve(load_model(model_dir, DECODE), answer)
    assert serve(load_model(model_dir, SINGLE), raw) == three_containers


def test_single_mode_rejects_bad_rows_like_featurize(single_dir):
    reply = handle(load_model(single_dir[0], SINGLE), b"34,0.5\n", "text/csv")
    assert reply.status == 400 and reply.body.startswith(b"row 1 has 2 fields, expected 4")


def test_load_model_wants_a_known_mode(model_dir):
    with pytest.raises(ValueError, match="unknown inference mode"):
        load_model(model_dir, "train")
    assert serving.MODES == ("featurize", "decode", "single")
