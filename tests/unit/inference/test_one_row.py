"""A one-row request is featurized cell by cell: the same bytes, and the same errors, as a frame of rows."""

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import DELIMITERS
from sagedrop.dataset.encoding import DROPPED, NUMERIC, ONE_HOT, feature_names
from sagedrop.dataset.writer import to_headerless_csv
from sagedrop.errors import InvalidRequestError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.featurizer import Featurizer

CATEGORIES = ["red", "green", "NA x", "1", "a b"]

numbers = st.one_of(
    st.integers(-(2**60), 2**60).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3e}"),
    st.sampled_from(["1,234", "1,234.5", "1.234,5", "12,5", "12,34,567", "1 234", "-0", ".5", "5.", "+7", "1e5"]),
    st.sampled_from(["2e53", "9007199254740993", "-9007199254740992", "1.5e300", "4e38", "3.4e38"]),
)
missing = st.sampled_from(["", "NA", "n/a", "NaN", "null", "None", "?", "#N/A", " na "])
junk = st.sampled_from(["abc", "inf", "-Infinity", "1e999", "1..2", "12 apples", "∞", "0x10"])
text = st.one_of(st.sampled_from(CATEGORIES), st.text(min_size=0, max_size=6))
padded = st.sampled_from(["", " ", "  \t"])


@st.composite
def artifacts(draw):
    """Numeric columns (with a fill or not), one-hot and dropped ones, in any order and delimiter."""
    kinds = draw(st.lists(st.sampled_from([NUMERIC, NUMERIC + "+fill", ONE_HOT, DROPPED]), min_size=1, max_size=6))
    encodings: dict[str, dict] = {}
    for index, kind in enumerate(kinds):
        column = f"c{index}"
        if kind.startswith(NUMERIC):
            encodings[column] = {"kind": NUMERIC, "features": [column], "missing": 0}
            if kind.endswith("+fill"):
                fill = draw(st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3, allow_nan=False)))
                encodings[column]["fill"] = fill
        elif kind == ONE_HOT:
            categories = sorted(draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True)))
            features = [f"{column}_{category}" for category in categories]
            encodings[column] = {"kind": ONE_HOT, "categories": categories, "features": features, "missing": 0}
        else:
            encodings[column] = {"kind": DROPPED, "reason": "constant"}
    return regression_artifact(encodings, draw(st.sampled_from(DELIMITERS)))


def regression_artifact(encodings: dict[str, dict], delimiter: str) -> FeaturizerArtifact:
    return FeaturizerArtifact(
        label="y",
        problem_type="regression",
        source_columns=tuple(encodings),
        encodings=encodings,
        features=tuple(feature_names(encodings)),
        label_mapping=None,
        delimiter=delimiter,
    )


def cells_for(draw, artifact):
    row = []
    for encoding in artifact.encodings.values():
        if encoding["kind"] == NUMERIC:
            value = draw(st.one_of(numbers, numbers, missing, junk))
        else:
            value = draw(st.one_of(text, missing, numbers))
        row.append(draw(padded) + value + draw(padded))
    return row


def as_frame_would(featurizer, body, content_type):
    """The frame path's answer: the features CSV, or the error's message."""
    try:
        return to_headerless_csv(featurizer.features(featurizer.read(body, content_type)))
    except InvalidRequestError as error:
        return str(error)


def as_one_row(featurizer, body, content_type):
    try:
        return featurizer.featurize(body, content_type)
    except InvalidRequestError as error:
        return str(error)


def csv_line(row, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(row)
    return buffer.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(artifacts(), st.data())
def test_one_csv_row_gives_the_frame_paths_bytes_or_error(artifact, data):
    featurizer = Featurizer(artifact)
    row = cells_for(data.draw, artifact)
    body = csv_line(row, artifact.delimiter)
    if not "".join(row).strip():
        return  # a blank line is no row: the request is empty either way
    assert as_one_row(featurizer, body, "text/csv") == as_frame_would(featurizer, body, "text/csv")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(artifacts(), st.data())
def test_one_json_instance_gives_the_frame_paths_bytes_or_error(artifact, data):
    featurizer = Featurizer(artifact)
    row = cells_for(data.draw, artifact)
    instance = {}
    for column, cell in zip(artifact.source_columns, row, strict=True):
        choice = data.draw(st.sampled_from(["text", "number", "null", "absent"]))
        if choice == "number":
            value = st.one_of(st.integers(-(2**60), 2**60), st.floats(allow_nan=False), st.booleans())
            instance[column] = data.draw(value)
        elif choice == "null":
            instance[column] = None
        elif choice == "text":
            instance[column] = cell
    body = json.dumps({"instances": [instance]})
    assert as_one_row(featurizer, body, "application/json") == as_frame_would(featurizer, body, "application/json")


@pytest.fixture
def mixed():
    encodings = {
        "n": {"kind": NUMERIC, "features": ["n"], "missing": 0},
        "f": {"kind": NUMERIC, "features": ["f"], "missing": 0, "fill": 2.5},
        "t": {"kind": ONE_HOT, "categories": ["blue", "red"], "features": ["t_blue", "t_red"], "missing": 0},
        "gone": {"kind": DROPPED, "reason": "constant"},
    }
    return Featurizer(regression_artifact(encodings, ","))


@pytest.mark.parametrize(
    ("row", "features"),
    [
        ("5,1.5,red,x", "5,1.5,0,1"),  # a whole number is written as an integer
        ("5.0, NA ,blue,x", "5,2.5,1,0"),  # a missing number takes the fill
        ("5.5,,green,", "5.5,2.5,0,0"),  # an unseen category is all zeros; a dropped column is not read
        ("NA,3,?,x", ",3,0,0"),  # a missing number without fill stays missing
        ('"1,234",-0,red,x', "1234,0,0,1"),
    ],
)
def test_one_row_is_encoded_as_training_encoded_it(mixed, row, features):
    assert mixed.featurize(row, "text/csv") == (features + "\n").encode()
    assert mixed.featurize(row, "text/csv") == as_frame_would(mixed, row, "text/csv")


def test_a_bad_number_in_one_row_names_row_column_and_why(mixed):
    with pytest.raises(InvalidRequestError, match=r"^row 1, column 'n': 'abc' is not a number \(the column is numeric"):
        mixed.featurize("abc,inf,red,x", "text/csv")  # the first bad cell is named, as the frame path does
    with pytest.raises(InvalidRequestError, match=r"^row 1, column 'f': 'inf' is not a number: it "):
        mixed.featurize("1,inf,red,x", "text/csv")
