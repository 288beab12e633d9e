"""Pass 2's lines from distinct values: the text pandas writes for the encoded frame, cell for cell."""

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import decide
from sagedrop.dataset.encoded_lines import LineEncoder, source_text
from sagedrop.dataset.encoding import apply_encodings
from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.stream import chunks
from sagedrop.dataset.streaming import distinct_values, scan, type_frame, typed_frame
from sagedrop.dataset.writer import to_headerless_csv, to_source_csv
from sagedrop.errors import InvalidCsvError, UnusableLabelError
from sagedrop.run_config import resolve_run_config

SOURCE = "incoming/t/data.csv"

# Cells as uploads spell them: numbers in several styles, missing tokens, padding, text among numbers.
NUMBER_CELLS = ["1", "2", " 3 ", "-0", "2.50", "1e3", "0.1", "12345678901", "", "NA", "null", "7", "1.5e-7", "4"]
TEXT_CELLS = ["red", " red", "green", "Blue", "", "NA", "n/a", "x,y", 'say "hi"', "é", "12", "  "]


@st.composite
def tables(draw):
    rows = draw(st.integers(30, 90))
    columns = {}
    for index in range(draw(st.integers(1, 4))):
        numeric = draw(st.booleans())
        pool = draw(st.lists(st.sampled_from(NUMBER_CELLS if numeric else TEXT_CELLS), min_size=1, max_size=8))
        if numeric and draw(st.booleans()):  # many distinct values, the look-up table's other branch
            pool = [f"{value}" for value in draw(st.lists(st.integers(-(10**9), 10**9), min_size=2, max_size=40))]
        columns[f"c{index}"] = draw(st.lists(st.sampled_from(pool), min_size=rows, max_size=rows))
    problem = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    if problem == "regression":
        labels = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=rows, max_size=rows))
        columns["y"] = [repr(value) for value in labels]
    else:
        classes = ["no", "yes"] if problem == "binary" else ["a", "b", "c"]
        columns["y"] = [classes[i % len(classes)] for i in range(rows)]
        columns["y"][draw(st.integers(0, rows - 1))] = ""  # a row without a label is left out
    return pd.DataFrame(columns)


def plan_of(data: bytes, algorithm: str):
    config = resolve_run_config(
        {}, {"label": "y", "algorithm": algorithm, "data_checks": {"enabled": False}}, "incoming/t/sagedrop.json"
    )
    return scan(lambda: io.BytesIO(data), PrepareOptions.of(config), SOURCE)


@settings(max_examples=150, deadline=None)
@given(table=tables(), algorithm=st.sampled_from(["xgboost", "linear-learner"]), cut=st.integers(0, 5))
def test_lines_are_what_pandas_writes_for_the_encoded_frame(table, algorithm, cut):
    data = table.to_csv(index=False).encode()
    try:
        plan = plan_of(data, algorithm)
    except (InvalidCsvError, UnusableLabelError):  # refused (no usable feature, one class): nothing to write
        event("refused")
        return
    (chunk,) = chunks(lambda: io.BytesIO(data), plan.dialect, SOURCE)
    distincts = distinct_values(chunk.frame, plan.dialect.delimiter, plan.dialect.names)
    typed = type_frame(chunk.frame, plan.dialect.delimiter, plan.types)
    y, keep = decide.encode_labels(typed[plan.label], plan.mapping)
    kept = np.flatnonzero(keep)[cut:]  # any subset of the labelled rows, as a split takes
    # the frame route: type, encode, write with pandas
    frame = apply_encodings(typed.loc[keep].reset_index(drop=True), plan.encodings).iloc[cut:]
    frame.insert(0, plan.label, y[cut:])
    expected = to_headerless_csv(frame).decode().splitlines()
    encoder = LineEncoder(plan.encodings, plan.types)
    text = encoder.text(encoder.chunk_columns(distincts), kept, y[cut:])
    assert text == "".join(line + "\n" for line in expected)


def test_an_encoding_that_does_not_fit_the_column_type_is_refused():
    with pytest.raises(ValueError, match="does not apply to column 'a'"):
        LineEncoder({"a": {"kind": "numeric", "features": ["a"]}}, {"a": "text"})
    with pytest.raises(ValueError, match="does not apply to column 'b'"):
        LineEncoder({"b": {"kind": "mystery", "features": ["b"]}}, {"b": "int"})


# Text cells that need quoting in some dialect: delimiters, quotes, line breaks, padding, unicode.
QUOTED_CELLS = ["plain", "a,b", "a;b", "tab\there", 'say "hi"', "two\nlines", "cr\rhere", " pad ", "é", "|", "NA", ""]


@settings(max_examples=150, deadline=None)
@given(
    columns=st.lists(st.sampled_from(["text", "int", "float"]), min_size=1, max_size=4),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    data=st.data(),
)
def test_source_text_is_what_pandas_writes_for_the_typed_rows(columns, delimiter, data):
    rows = data.draw(st.integers(1, 40))
    frame = {}
    types = {}
    for index, kind in enumerate(columns):
        name = f"c{index}"
        types[name] = kind
        if kind == "text":
            cells = st.sampled_from(QUOTED_CELLS)
        elif kind == "int":
            cells = st.integers(-(10**12), 10**12).map(str)
        else:
            cells = st.floats(-1e300, 1e300, allow_nan=False).map(repr) | st.sampled_from(["", "NA", "1.5"])
        frame[name] = data.draw(st.lists(cells, min_size=rows, max_size=rows))
    raw = pd.DataFrame(frame, dtype=object)
    distincts = distinct_values(raw, delimiter, list(types))
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, rows - 1), min_size=1))), dtype=np.intp)
    names = list(types)

    expected = to_source_csv(typed_frame(distincts, types, names, chosen), delimiter, header=False).decode()
    assert source_text(distincts, types, names, chosen, delimiter) == expected
