"""Label decoding: algorithm answers (XGBoost CSV/JSON, Linear Learner JSON) → the contract's responses."""

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.errors import InvalidPredictionError, InvalidRequestError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.decoder import Decoder, render
from sagedrop.inference.responses import normalize_scores, parse_answer

ENCODINGS = {"x": {"kind": "numeric", "features": ["x"], "missing": 0}}


def artifact(problem_type, mapping, threshold=0.5):
    return FeaturizerArtifact(
        label="y",
        problem_type=problem_type,
        source_columns=("x",),
        encodings=ENCODINGS,
        features=("x",),
        label_mapping=mapping,
        threshold=threshold,
    )


BINARY = artifact("binary_classification", ("no", "yes"))
MULTICLASS = artifact("multiclass_classification", (3, 5, 8))
REGRESSION = artifact("regression", None)


# --- what the containers write ----------------------------------------------------------------------


def xgboost_csv(preds) -> bytes:
    """sagemaker_containers' _encoders.array_to_csv, which XGBoost's serve.py uses for text/csv."""
    array = np.array(np.asarray(preds, dtype=np.float32).tolist())
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerows(array)
    return stream.getvalue().encode()


def scores_json(preds) -> bytes:
    """XGBoost's encode_predictions_as_json; Linear Learner's JSON without predicted_label."""
    return json.dumps({"predictions": [{"score": score} for score in np.asarray(preds).tolist()]}).encode()


def linear_learner_json(preds, labels=None) -> bytes:
    rows = []
    for i, score in enumerate(np.asarray(preds).tolist()):
        row = {"score": score}
        if labels is not None:
            row["predicted_label"] = labels[i]
        rows.append(row)
    return json.dumps({"predictions": rows}).encode()


# --- binary -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (xgboost_csv([0.2, 0.9, 0.5]), "text/csv"),
        (b"0.2,0.9,0.5", "text/csv; charset=utf-8"),  # containers before 2022: one flat line
        (scores_json([0.2, 0.9, 0.5]), "application/json"),
        (linear_learner_json([0.2, 0.9, 0.5], [0, 1, 1]), "application/json"),  # its own label is ignored
        (b'{"score": 0.2, "predicted_label": 0}\n{"score": 0.9}\n\n{"score": 0.5}\n', "application/jsonlines"),
    ],
)
def test_binary_answers(body, content_type):
    predictions = Decoder(BINARY).decode_answer(body, content_type)
    assert predictions.predicted_labels() == ["no", "yes", "no"]  # 0.5 is not above the threshold
    np.testing.assert_allclose(predictions.probability(), [0.8, 0.9, 0.5], rtol=1e-6)
    assert render(predictions, "text/csv") == (b"no,0.8\nyes,0.9\nno,0.5\n", "text/csv")


def test_binary_json_response():
    body, content_type = render(Decoder(BINARY).decode(np.array([0.25])), "application/json")
    assert content_type == "application/json"
    assert json.loads(body) == {
        "predictions": [
            {"predicted_label": "no", "probability": 0.75, "probabilities": [0.75, 0.25], "labels": ["no", "yes"]}
        ]
    }


def test_threshold_from_the_artifact():
    decoder = Decoder(artifact("binary_classification", (0, 1), threshold=0.3))
    predictions = decoder.decode(np.array([0.29, 0.3, 0.31]))
    assert predictions.predicted_labels() == [0, 0, 1]
    assert json.loads(render(predictions, "application/json")[0])["predictions"][2]["predicted_label"] == 1


@given(st.lists(st.floats(0, 1), max_size=30), st.floats(0, 1))
def test_binary_rule_is_p_above_threshold(ps, threshold):
    predictions = Decoder(artifact("binary_classification", ("a", "b"), threshold)).decode(np.array(ps))
    assert predictions.predicted_labels() == ["b" if p > threshold else "a" for p in ps]
    np.testing.assert_allclose(predictions.probability(), [p if p > threshold else 1 - p for p in ps])


# --- multiclass ---------------------------------------------------------------------------------------

PROBS = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], dtype=np.float32)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (xgboost_csv(PROBS), "text/csv"),
        (b"[0.1, 0.7, 0.2]\n[0.5, 0.25, 0.25]\n", "text/csv"),  # batch transform: bracketed rows
        (scores_json(PROBS), "application/json"),
        (linear_learner_json(PROBS, [1, 0]), "application/json"),
    ],
)
def test_multiclass_answers(body, content_type):
    predictions = Decoder(MULTICLASS).decode_answer(body, content_type)
    assert predictions.predicted_labels() == [5, 3]
    body, _ = render(predictions, "application/json")
    first = json.loads(body)["predictions"][0]
    assert first == {"predicted_label": 5, "probability": 0.7, "probabilities": [0.1, 0.7, 0.2], "labels": [3, 5, 8]}
    assert render(predictions, "text/csv")[0] == b"5,0.7\n3,0.5\n"


def test_multiclass_tie_takes_the_first_class():
    assert Decoder(MULTICLASS).decode(np.array([[0.4, 0.4, 0.2]])).predicted_labels() == [3]


def test_one_row_multiclass_csv_answer():
    assert Decoder(MULTICLASS).decode_answer(xgboost_csv(PROBS[:1]), "text/csv").predicted_labels() == [5]


# --- regression ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(xgboost_csv([9.5, -1.25]), "text/csv"), (scores_json([9.5, -1.25]), "application/json")],
)
def test_regression_answers(body, content_type):
    predictions = Decoder(REGRESSION).decode_answer(body, content_type)
    assert render(predictions, "text/csv") == (b"9.5\n-1.25\n", "text/csv")
    assert json.loads(render(predictions, "application/json")[0]) == {
        "predictions": [{"predicted_label": 9.5}, {"predicted_label": -1.25}]
    }


# --- formats and errors -------------------------------------------------------------------------------


def test_labels_with_the_delimiter_are_quoted():
    decoder = Decoder(artifact("binary_classification", ("no, never", 'say "yes"')))
    body, _ = render(decoder.decode(np.array([0.1, 0.9])), "text/csv")
    assert list(csv.reader(io.StringIO(body.decode()))) == [["no, never", "0.9"], ['say "yes"', "0.9"]]


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "text/csv"),
        ("*/*", "text/csv"),
        ("application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("text/html, application/json", "application/json"),
    ],
)
def test_accept(accept, content_type):
    assert render(Decoder(REGRESSION).decode(np.array([1.0])), accept)[1] == content_type


def test_an_accept_the_decoder_cannot_answer_is_406():
    with pytest.raises(InvalidRequestError) as caught:
        render(Decoder(REGRESSION).decode(np.array([1.0])), "application/x-recordio-protobuf")
    assert caught.value.status == 406


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b'{"predictions": [{"label": 1}]}', "application/json", 'expected {"predictions": [{"score": …}'),
        (b'{"predictions": [{"score": "high"}]}', "application/json", "scores are not numbers"),
        (b'{"predictions": [{"score": [0.5, 0.5]}, {"score": 0.1}]}', "application/json", "different shapes"),
        (b'{"score": 0.5}\n{"label": 1}\n', "application/jsonlines", 'one {"score": …} object per line'),
        (b"0.1\n0.2,0.3\n", "text/csv", "different widths"),
        (b"1.5\n", "text/csv", "must be probabilities"),
        (b"0.1", "application/x-recordio-protobuf", "content type"),
    ],
)
def test_unreadable_answers(body, content_type, problem):
    with pytest.raises(InvalidPredictionError) as caught:
        parse_answer(body, content_type, "binary_classification", 2)
    assert problem in str(caught.value)


def test_expected_rows_are_checked_when_known():
    with pytest.raises(InvalidPredictionError, match="expected 3 predictions, the endpoint answered 2"):
        parse_answer(xgboost_csv([0.1, 0.2]), "text/csv", "binary_classification", 2, expected_rows=3)


def test_booster_outputs_follow_the_same_rules():
    assert normalize_scores(np.array([0.1, 0.9], dtype=np.float32), "binary_classification", 2).shape == (2,)
    assert normalize_scores(PROBS, "multiclass_classification", 3).shape == (2, 3)
    with pytest.raises(InvalidPredictionError):
        normalize_scores(np.array([[0.1, 0.9]]), "multiclass_classification", 3)


def test_the_default_threshold_is_the_evaluations():
    from sagedrop.evaluation.constants import BINARY_THRESHOLD
    from sagedrop.inference.artifact import DEFAULT_THRESHOLD

    assert DEFAULT_THRESHOLD == BINARY_THRESHOLD
