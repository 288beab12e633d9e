"""For any table training accepts, its test rows sent raw give exactly the features the test split holds."""

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import DELIMITERS, to_source_csv
from sagedrop.errors import InvalidCsvError, UnusableLabelError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.featurizer import Featurizer

from .conftest import prepare

CATEGORIES = ["a", "b", "c", " d", "e e", "NA", ""]  # " d" is stripped, "NA" and "" are missing


@st.composite
def uploads(draw):
    """CSV bytes of a table with numeric and text columns, missing values, and a label column."""
    n = draw(st.integers(20, 45))
    columns: dict[str, list[str]] = {}
    for i in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            values = st.integers(-1000, 1000).map(str)
        else:
            values = st.floats(-1e6, 1e6, allow_nan=False).map(repr)
        cells = draw(st.lists(st.one_of(values, st.sampled_from(["", "NA", "?"])), min_size=n, max_size=n))
        columns[f"n{i}"] = cells
    for i in range(draw(st.integers(1, 2))):
        columns[f"t{i}"] = draw(st.lists(st.sampled_from(CATEGORIES), min_size=n, max_size=n))
    kind = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    if kind == "regression":
        label = [repr(x) for x in draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n))]
    else:
        classes = ["no", "yes"] if kind == "binary" else ["x", "y", "z"]
        start = draw(st.integers(0, len(classes) - 1))
        label = [classes[(start + i) % len(classes)] for i in range(n)]
    names = list(columns)
    position = draw(st.integers(0, len(names)))
    names.insert(position, "target")
    columns["target"] = label
    delimiter = draw(st.sampled_from(DELIMITERS))
    frame = pd.DataFrame({name: columns[name] for name in names})
    return frame, delimiter, draw(st.integers(0, 2**31 - 1))


def as_json_value(value):
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def check(featurizer, body, content_type, expected):
    got = featurizer.features(featurizer.read(body, content_type))
    assert list(got.columns) == list(expected.columns)
    assert np.array_equal(got.to_numpy(float), expected.to_numpy(float), equal_nan=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uploads(), st.booleans(), st.data())
def test_raw_test_rows_give_the_test_split_features(upload, header, data):
    frame, delimiter, seed = upload
    try:
        prepared = prepare(frame.to_csv(index=False, sep=delimiter).encode(), label="target", seed=seed)
    except (InvalidCsvError, UnusableLabelError):
        assume(False)
    featurizer = Featurizer(FeaturizerArtifact.from_schema(prepared.schema))
    expected = prepared.test.iloc[:, 1:]

    # The upload's own cells of the test rows, label left out, in the upload's format.
    rows = frame.iloc[prepared.source_rows["test"]]
    sources = [column for column in frame.columns if column != "target"]
    if header:  # columns matched by name: any order, with the label column or without
        columns = data.draw(st.permutations(sources + ["target"] * data.draw(st.booleans())))
        body = rows[columns].to_csv(index=False, sep=delimiter)
    else:
        body = rows[sources].to_csv(index=False, header=False, sep=delimiter)
    check(featurizer, body, "text/csv", expected)

    # The rows as training typed them, written back (what the evaluation sends), and as JSON.
    check(featurizer, to_source_csv(prepared.raw_test, delimiter=delimiter), "text/csv", expected)
    instances = [
        {column: as_json_value(value) for column, value in row.items()}
        for row in prepared.raw_test.to_dict(orient="records")
    ]
    check(featurizer, json.dumps({"instances": instances}), "application/json", expected)
    cells = [{column: value for column, value in row.items() if value != ""} for row in rows.to_dict(orient="records")]
    check(featurizer, json.dumps({"instances": cells}), "application/json", expected)
